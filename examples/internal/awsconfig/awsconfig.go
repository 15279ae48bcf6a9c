// Package awsconfig loads the AWS configuration of the binaries in one way.
package awsconfig

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/shipshape-dev/shipshape/examples/internal/cli"
)

// Load is config.LoadDefaultConfig for the binaries: the standard environment and shared
// files, the SDK's own log lines (a response body it could not discard, a checksum it could
// not validate) sent to logger at Debug instead of to stderr in a format of their own, and
// cli.ErrNoRegion when there is no region, which no request is made without. It reads local
// settings only: no request is made.
func Load(ctx context.Context, logger *slog.Logger, optFns ...func(*config.LoadOptions) error) (aws.Config, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := append([]func(*config.LoadOptions) error{config.WithLogger(logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
		logger.Debug("AWS SDK: " + fmt.Sprintf(format, v...))
	}))}, optFns...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, err
	}
	if cfg.Region == "" {
		return cfg, cli.ErrNoRegion
	}
	return cfg, nil
}
