// Command drain-lambda is the Lambda function (provided.al2023, arm64; `make lambda` builds
// its bootstrap) that drains ECS container instances before Auto Scaling terminates them. It
// is fed by an SQS queue (template.yaml: EventBridge -> SQS -> Lambda): each invocation does
// one bounded step per message and hands unfinished drains back to the queue as batch item
// failures, to be delivered again after the queue's visibility timeout.
//
// Environment:
//
//	ECS_CLUSTERS     cluster names to look instances up in, comma-separated (required)
//	MAX_DRAIN        maximum drain time, at least 1m, e.g. 30m; past it the hook completes with CONTINUE
//	STANDALONE       tasks not in a service: wait (default), stop or ignore
//	STANDALONE_GRACE with STANDALONE=stop, how long to let them finish first (default 5m)
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/examples/internal/lambdamain"
	"github.com/shipshape-dev/shipshape/lifecycle"
)

type settings struct {
	clusters   []string
	maxDrain   time.Duration
	standalone drain.Policy
	grace      time.Duration
}

func settingsFromEnv(getenv func(string) string) (settings, error) {
	s := settings{maxDrain: 30 * time.Minute, standalone: drain.Wait, grace: 5 * time.Minute}
	var err error
	if s.clusters, err = drain.CleanClusters([]string{getenv("ECS_CLUSTERS")}); err != nil {
		return s, fmt.Errorf("ECS_CLUSTERS=%q: name the cluster(s) to drain instances of, comma-separated: %w", getenv("ECS_CLUSTERS"), err)
	}
	if v := getenv("MAX_DRAIN"); v != "" {
		if s.maxDrain, err = time.ParseDuration(v); err != nil || s.maxDrain < time.Minute {
			return s, fmt.Errorf("MAX_DRAIN=%q: want a duration of at least 1m, like 30m (shorter, every drain would end at its "+
				"first step and complete the hook with tasks still running)", v)
		}
	}
	if v := getenv("STANDALONE"); v != "" {
		if s.standalone, err = drain.ParsePolicy(v); err != nil {
			return s, fmt.Errorf("STANDALONE: %w", err)
		}
	}
	if v := getenv("STANDALONE_GRACE"); v != "" {
		if s.grace, err = time.ParseDuration(v); err != nil || s.grace <= 0 {
			return s, fmt.Errorf("STANDALONE_GRACE=%q: want a duration like 5m", v)
		}
		if s.standalone != drain.Stop {
			return s, fmt.Errorf("STANDALONE_GRACE=%q is for STANDALONE=stop (other policies never stop a task)", v)
		}
	}
	return s, nil
}

func newHandler(ecsAPI drain.ECSAPI, asg lifecycle.AutoScalingAPI, s settings, logger *slog.Logger) (func(context.Context, json.RawMessage) (events.SQSEventResponse, error), error) {
	d, err := drain.New(ecsAPI, func(o *drain.Options) { o.Standalone, o.StandaloneGrace, o.Logger = s.standalone, s.grace, logger })
	if err != nil {
		return nil, err
	}
	h, err := drain.NewHandler(d, asg, s.clusters, func(o *drain.HandlerOptions) { o.MaxDrain, o.Logger = s.maxDrain, logger })
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, payload json.RawMessage) (events.SQSEventResponse, error) {
		return h.Handle(ctx, payload)
	}, nil
}

// usage is what -h prints.
const usage = `drain-lambda: a Lambda function (provided.al2023) that drains ECS container instances before
Auto Scaling or Spot takes them. It is fed by an SQS queue (template.yaml: EventBridge -> SQS ->
Lambda): each invocation does one bounded step per message (Auto Scaling termination actions,
Spot interruption warnings, rebalance recommendations) and hands unfinished drains back to the
queue, to be delivered again after its visibility timeout.

Environment:
  ECS_CLUSTERS      cluster names to look instances up in, comma-separated (required)
  MAX_DRAIN         maximum drain time, at least 1m (default 30m); past it the hook completes with CONTINUE
  STANDALONE        tasks not in a service: wait (default), stop or ignore
  STANDALONE_GRACE  with STANDALONE=stop, how long to let them finish first (default 5m)
  AWS_REGION and the standard AWS SDK environment (Lambda sets them)
`

func main() {
	lambdamain.Main(lambdamain.Lambda{Name: "drain-lambda", Usage: usage,
		Handler: func(_ context.Context, cfg aws.Config, getenv func(string) string, logger *slog.Logger) (any, error) {
			s, err := settingsFromEnv(getenv)
			if err != nil {
				return nil, err
			}
			return newHandler(ecs.NewFromConfig(cfg), autoscaling.NewFromConfig(cfg), s, logger)
		}})
}
