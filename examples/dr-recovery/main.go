// Command dr-recovery is the recovery-account Lambda of the DR pipeline (template.yaml): on
// its schedule it copies the snapshots shared by the production account(s) into the recovery
// region and applies retention there. It logs a summary of every run.
//
// Where RDS refuses to copy a snapshot of another account from another region in one step,
// the run copies in two hops (a staging copy in the source region, deleted once the final
// copy is available).
//
// Environment: DR_SOURCE_ACCOUNTS (comma-separated), DR_SOURCE_REGION, DR_KMS_KEY_ID (a key
// in this region, for encrypted snapshots), DR_STAGING_KMS_KEY_ID (a key of this account in
// the source region, for the two-hop path of encrypted snapshots), DR_COPY_PATH (empty: one
// step, two hops when refused; "two-hop": always two), DR_MAX_COPIES (1 to 20, default 5),
// DR_KEEP (default 7; copies in progress count), DR_MAX_AGE (optional).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/examples/internal/cli"
	"github.com/shipshape-dev/shipshape/examples/internal/drenv"
	"github.com/shipshape-dev/shipshape/examples/internal/lambdamain"
)

func newHandler(sharedRegion, local dr.RecoveryAPI, getenv func(string) string, logger *slog.Logger) (func(context.Context, json.RawMessage) (dr.Summary, error), error) {
	ret, err := drenv.Retention(getenv("DR_KEEP"), getenv("DR_MAX_AGE"))
	if err != nil {
		return nil, err
	}
	maxCopies := 0
	if v := getenv("DR_MAX_COPIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20 { // 0 would be dr.RecoveryOptions' default (5), not what was asked
			return nil, fmt.Errorf("DR_MAX_COPIES=%q: want a number from 1 to 20", v)
		}
		maxCopies = n
	}
	rec, err := dr.NewRecovery(sharedRegion, local, dr.Origin{Accounts: cli.SplitList(getenv("DR_SOURCE_ACCOUNTS")), Region: getenv("DR_SOURCE_REGION")}, func(o *dr.RecoveryOptions) {
		o.KMSKeyID, o.StagingKMSKeyID, o.MaxCopies, o.Logger = getenv("DR_KMS_KEY_ID"), getenv("DR_STAGING_KMS_KEY_ID"), maxCopies, logger
		o.CopyPath = dr.CopyPath(getenv("DR_COPY_PATH"))
		o.Metrics = os.Stdout // RecoveryPointAgeSeconds (embedded metric format): the template's RPO alarm
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

// usage is what -h prints.
const usage = `dr-recovery: the recovery-account Lambda of the DR pipeline (provided.al2023; template.yaml). On
its schedule it copies the snapshots the production account(s) shared into this region
(shipshape-dr-..., bounded copies in progress; in two hops through a staging copy where RDS
refuses the single step) and applies retention to its own copies. It logs a JSON summary of
every run.

Environment:
  DR_SOURCE_ACCOUNTS     production account ids, comma-separated (required)
  DR_SOURCE_REGION       the region the snapshots are shared from (required)
  DR_KMS_KEY_ID          a key in this region, for encrypted snapshots
  DR_STAGING_KMS_KEY_ID  a key of this account in the source region, for the two-hop path
  DR_COPY_PATH           empty: one step, two hops when refused (default); "two-hop": always two
  DR_MAX_COPIES          copies in progress at once, 1 to 20 (default 5)
  DR_KEEP                copies kept per source database (default 7; copies in progress count)
  DR_MAX_AGE             delete own copies older than this, e.g. 720h (default: no age limit)
  AWS_REGION and the standard AWS SDK environment (Lambda sets them)
`

func main() {
	lambdamain.Main(lambdamain.Lambda{Name: "dr-recovery", Usage: usage,
		Handler: func(_ context.Context, cfg aws.Config, getenv func(string) string, logger *slog.Logger) (any, error) {
			shared := rds.NewFromConfig(cfg, func(o *rds.Options) { o.Region = getenv("DR_SOURCE_REGION") })
			return newHandler(shared, rds.NewFromConfig(cfg), getenv, logger)
		}})
}
