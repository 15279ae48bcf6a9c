// Command dr-source is the production-account Lambda of the DR pipeline (template.yaml): on
// an RDS "automated snapshot created" event it copies the snapshot to a DR snapshot
// (re-encrypted with a customer-managed key); on its schedule it runs a reconcile sweep
// (every automated snapshot of a protected database that is newer than its newest DR copy and
// has none is copied: RDS events are best effort), shares finished copies with the recovery
// account(s) and applies retention. It logs a summary of every run (JSON: copied, shared,
// deleted, skipped, each a list of {id, reason}, and warnings, e.g. a manual snapshot quota
// at 80 % or more).
//
// Environment: DR_KMS_KEY_ID (customer-managed key), DR_SHARE_WITH (account ids,
// comma-separated), DR_DATABASES (the protected DB instances and clusters, comma-separated,
// "cluster:<id>" for Aurora; default every one with automated snapshots), DR_KEEP (DR
// snapshots kept per instance or cluster, default 7; copies still in progress count, and the
// newest available copy is always kept), DR_MAX_AGE (e.g. 720h; optional).
package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/examples/internal/cli"
	"github.com/shipshape-dev/shipshape/examples/internal/drenv"
	"github.com/shipshape-dev/shipshape/examples/internal/lambdamain"
)

func newHandler(client dr.SourceAPI, keys dr.KMSAPI, getenv func(string) string, logger *slog.Logger) (func(context.Context, json.RawMessage) (dr.Summary, error), error) {
	ret, err := drenv.Retention(getenv("DR_KEEP"), getenv("DR_MAX_AGE"))
	if err != nil {
		return nil, err
	}
	src, err := dr.NewSource(client, func(o *dr.SourceOptions) {
		o.KMSKeyID = getenv("DR_KMS_KEY_ID")
		o.ShareWith = cli.SplitList(getenv("DR_SHARE_WITH"))
		o.Databases = cli.SplitList(getenv("DR_DATABASES"))
		o.KMS = keys
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

// usage is what -h prints.
const usage = `dr-source: the production-account Lambda of the DR pipeline (provided.al2023; template.yaml).
On an RDS "automated snapshot created" event it copies the snapshot to a DR snapshot
(shipshape-dr-..., re-encrypted with a customer managed key); on its schedule it runs a reconcile
sweep (every automated snapshot of a protected database newer than its newest DR copy and with
none is copied: RDS events are best effort), shares finished copies with the recovery
account(s), and applies retention to its own copies. It logs a JSON summary of every run.

Environment:
  DR_KMS_KEY_ID   the customer managed key encrypted copies are re-encrypted with (default: the
                  snapshot's own key; never aws/rds when sharing: such snapshots can't be shared)
  DR_SHARE_WITH   recovery account ids, comma-separated (default: none)
  DR_DATABASES    protected DB instances and clusters ("cluster:<id>" for Aurora), comma-separated
                  (default: every one with automated snapshots)
  DR_KEEP         DR copies kept per database (default 7; copies in progress count, the newest
                  available copy is always kept)
  DR_MAX_AGE      delete own copies older than this, e.g. 720h (default: no age limit)
  AWS_REGION and the standard AWS SDK environment (Lambda sets them)
`

func main() {
	lambdamain.Main(lambdamain.Lambda{Name: "dr-source", Usage: usage,
		Handler: func(_ context.Context, cfg aws.Config, getenv func(string) string, logger *slog.Logger) (any, error) {
			return newHandler(rds.NewFromConfig(cfg), kms.NewFromConfig(cfg), getenv, logger)
		}})
}
