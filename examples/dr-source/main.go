// Command dr-source is the production-account Lambda of the DR pipeline (template.yaml): on
// an RDS "automated snapshot created" event it copies the snapshot to a DR snapshot
// (re-encrypted with a customer-managed key); on its schedule it shares finished copies with
// the recovery account(s) and applies retention. It logs a summary of every run.
//
// Environment: DR_KMS_KEY_ID (customer-managed key), DR_SHARE_WITH (account ids,
// comma-separated), DR_KEEP (DR snapshots kept per instance, default 7), DR_MAX_AGE (e.g.
// 720h; optional).
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/shipshape-dev/shipshape/dr"
)

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func newHandler(client dr.RDSAPI, getenv func(string) string, logger *slog.Logger) (func(context.Context, json.RawMessage) (dr.Summary, error), error) {
	ret, err := dr.ParseRetention(getenv("DR_KEEP"), getenv("DR_MAX_AGE"))
	if err != nil {
		return nil, err
	}
	src, err := dr.NewSource(client, func(o *dr.SourceOptions) {
		o.KMSKeyID = getenv("DR_KMS_KEY_ID")
		o.ShareWith = splitList(getenv("DR_SHARE_WITH"))
		o.Logger = logger
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, payload json.RawMessage) (dr.Summary, error) {
		if dr.IsSchedule(payload) {
			sum, err := src.Scheduled(ctx, ret)
			logger.Info("dr-source: scheduled run", "summary", sum)
			return sum, err
		}
		var sum dr.Summary
		events, err := dr.ParseEvents(payload)
		if err != nil {
			return sum, err
		}
		for _, ev := range events {
			copied, err := src.CopyEvent(ctx, ev) // DB or Aurora cluster snapshot
			sum.Add(copied)
			if err != nil {
				return sum, err // NotReady and quota errors: the event is retried by Lambda
			}
		}
		logger.Info("dr-source: snapshot event", "summary", sum)
		return sum, nil
	}, nil
}

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		logger.Error("AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	h, err := newHandler(rds.NewFromConfig(cfg), os.Getenv, logger)
	if err != nil {
		logger.Error("configuration", "error", err.Error())
		os.Exit(2)
	}
	lambda.Start(h)
}
