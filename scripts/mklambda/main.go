// Command mklambda builds the Lambda functions of the examples for one architecture and
// writes that architecture's SAM templates: `make lambda [ARCH=arm64|amd64]`.
//
// For every examples/<name>/template.yaml whose functions run from bundles under
// dist/lambda/, it builds each function (provided.al2023: static, CGO off, stripped,
// -tags lambda.norpc) into dist/lambda/<arch>/<function>/bootstrap, then writes
// dist/templates/<arch>/<name>.yaml, which deploys exactly those bundles as <arch>, and reads
// every bundle's ELF machine to check it (scripts/internal/samdist). Templates with a layer
// are `make layer`'s (scripts/mklayer).
//
//	go run ./scripts/mklambda [-arch arm64]          build, write and check
//	go run ./scripts/mklambda -arch amd64 -render DIR  write every template (layer ones too)
//	                                                 for amd64 into DIR, nothing built or
//	                                                 checked: what scripts/lint-templates lints
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/shipshape-dev/shipshape/scripts/internal/samdist"
)

func main() {
	arch := flag.String("arch", string(samdist.ARM64), "the architecture: arm64 or amd64")
	render := flag.String("render", "", "only write every template for -arch into this folder (for linting)")
	flag.Parse()
	a, err := samdist.ParseArch(*arch)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mklambda:", err)
		os.Exit(2)
	}
	if *render != "" {
		err = renderAll(".", *render, a)
	} else {
		err = build(".", a)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mklambda:", err)
		os.Exit(1)
	}
}

// templates are the names of the examples with a template.yaml.
func templates(root string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(root, "examples", "*", "template.yaml"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(filepath.Dir(f)))
	}
	sort.Strings(names)
	return names, nil
}

// renderAll writes every template for a into dir/<name>.yaml.
func renderAll(root, dir string, a samdist.Arch) error {
	names, err := templates(root)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range names {
		out, _, err := samdist.Render(root, name, a)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// build builds the functions of every template without a layer for a, and writes and
// checks their templates.
func build(root string, a samdist.Arch) error {
	names, err := templates(root)
	if err != nil {
		return err
	}
	for _, name := range names {
		_, b, err := samdist.Render(root, name, a)
		if err != nil {
			return err
		}
		if b.Layer || len(b.Functions) == 0 {
			continue // make layer's
		}
		for _, fn := range b.Functions {
			if err := Bootstrap(root, root, fn, a); err != nil {
				return err
			}
		}
		p, err := samdist.Write(root, name, a)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %v built for %s\n", p, b.Functions, a)
	}
	return nil
}

// Bootstrap builds ./examples/<fn> of the repository at repo into
// dist/lambda/<a>/<fn>/bootstrap under dest.
func Bootstrap(repo, dest, fn string, a samdist.Arch) error {
	out, err := filepath.Abs(filepath.Join(dest, filepath.FromSlash(samdist.BundleDir(a, fn)), "bootstrap"))
	if err != nil {
		return err
	}
	// -buildvcs=auto: the revision goes into the bootstrap (its -version and first log line)
	// even where GOFLAGS says -buildvcs=false.
	cmd := exec.Command("go", "build", "-buildvcs=auto", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, "./examples/"+fn)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+string(a))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s for %s: %w", fn, a, err)
	}
	return nil
}
