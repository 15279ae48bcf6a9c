# shipshape: `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

STATICCHECK_MODULE_VERSION := v0.8.2

.PHONY: help test demo testbed bench lint templates lambda layer

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' \
		'{ name[NR] = $$1; text[NR] = $$2; if (length($$1) > w) w = length($$1) } \
		END { for (i = 1; i <= NR; i++) printf "  make %-*s  %s\n", w, name[i], text[i] }'

test: lint templates ## everything: gofmt, vet, staticcheck, cfn-lint, then all tests (-race) with the real local servers
	scripts/testbed run -- env SHIPSHAPE_INTEGRATION=1 scripts/gotest -race -count=1 -timeout 30m ./...

demo: ## the tour: every capability end to end, in process, against the fakes
	go run ./examples/tour

testbed: ## start the real local servers (S3, IMDS, PostgreSQL) until Ctrl-C; prints their endpoints
	scripts/testbed up

bench: ## benchmarks: figures for docs/PERFORMANCE.md into bench/results, plots into docs/img
	mkdir -p bench/results
	scripts/testbed run -- env SHIPSHAPE_INTEGRATION=1 go test -run '^$$' -bench . -benchmem -count=1 -timeout 60m ./... | tee bench/results/bench.txt
	scripts/testbed run --only s3,clients -- env SHIPSHAPE_INTEGRATION=1 S3DIFF_BENCH_SCALE=1 go test -run '^$$' -bench RetainPrefix -benchtime 1x -timeout 30m ./examples/s3diff/ | tee bench/results/scale.txt # s3diff retain -prefix at 10,000 and 100,000 keys
	go run ./bench/s3diff # s3diff CLI vs GNU diff; S3DIFF_BENCH_SIZES=1,10,100 adds the 100 MB rows
	go run ./bench/plots # the plots of docs/PERFORMANCE.md, from the results above

lint: ## gofmt -l (must print nothing), go vet, staticcheck
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...
	$$(scripts/gotool honnef.co/go/tools/cmd/staticcheck $(STATICCHECK_MODULE_VERSION)) ./...

templates: ## cfn-lint on every template, asl-validator on every state machine
	scripts/lint-templates

# The Lambda architecture: arm64 (the default) or amd64 (x86_64). One path per architecture,
# so a template can only deploy a bundle of the architecture it names (scripts/internal/samdist).
ARCH ?= arm64
ifeq ($(origin GOARCH),command line)
$(error GOARCH=$(GOARCH) is not read here: say ARCH=$(GOARCH))
endif

lambda: ## the Lambda bundles for ARCH (arm64, or amd64) in dist/lambda/ARCH/<fn>/bootstrap, templates in dist/templates/ARCH/
	go run ./scripts/mklambda -arch $(ARCH)

layer: ## the secretsenv layer for ARCH in dist/layer/ARCH/secretsenv-layer.zip, its template in dist/templates/ARCH/
	go run ./scripts/mklayer -arch $(ARCH)
