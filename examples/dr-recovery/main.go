// Command dr-recovery is the recovery-account Lambda of the DR pipeline (template.yaml): on
// its schedule it copies the snapshots shared by the production account(s) into the recovery
// region and applies retention there. It logs a summary of every run.
//
// Environment: DR_SOURCE_ACCOUNTS (comma-separated), DR_SOURCE_REGION, DR_KMS_KEY_ID (a key
// in this region, for encrypted snapshots), DR_MAX_COPIES (default 5, at most 20), DR_KEEP
// (default 7), DR_MAX_AGE (optional).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/shipshape-dev/shipshape/dr"
)

func newHandler(sharedRegion, local dr.RDSAPI, getenv func(string) string, logger *slog.Logger) (func(context.Context, json.RawMessage) (dr.Summary, error), error) {
	ret, err := dr.ParseRetention(getenv("DR_KEEP"), getenv("DR_MAX_AGE"))
	if err != nil {
		return nil, err
	}
	maxCopies := 0
	if v := getenv("DR_MAX_COPIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("DR_MAX_COPIES=%q: want a number from 1 to 20", v)
		}
		maxCopies = n
	}
	var accounts []string
	for _, a := range strings.Split(getenv("DR_SOURCE_ACCOUNTS"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			accounts = append(accounts, a)
		}
	}
	rec, err := dr.NewRecovery(sharedRegion, local, func(o *dr.RecoveryOptions) {
		o.SourceAccounts, o.SourceRegion = accounts, getenv("DR_SOURCE_REGION")
		o.KMSKeyID, o.MaxCopies, o.Logger = getenv("DR_KMS_KEY_ID"), maxCopies, logger
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, _ json.RawMessage) (dr.Summary, error) {
		sum, err := rec.Scheduled(ctx, ret)
		logger.Info("dr-recovery: scheduled run", "summary", sum)
		return sum, err
	}, nil
}

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		logger.Error("AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	sourceRegion := os.Getenv("DR_SOURCE_REGION")
	shared := rds.NewFromConfig(cfg, func(o *rds.Options) { o.Region = sourceRegion })
	h, err := newHandler(shared, rds.NewFromConfig(cfg), os.Getenv, logger)
	if err != nil {
		logger.Error("configuration", "error", err.Error())
		os.Exit(2)
	}
	lambda.Start(h)
}
