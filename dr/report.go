package dr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/shipshape-dev/shipshape/internal/awsretry"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// S3API is the part of the S3 client a Reporter uses. *s3.Client satisfies it.
type S3API interface {
	PutObject(ctx context.Context, params *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// SNSAPI is the part of the SNS client a Reporter uses. *sns.Client satisfies it, and so
// does drtest.SNS.
type SNSAPI interface {
	Publish(ctx context.Context, params *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// SecretsManagerAPI is the part of the Secrets Manager client SecretCredentials uses.
// *secretsmanager.Client satisfies it.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var (
	_ S3API             = (*s3.Client)(nil)
	_ SNSAPI            = (*sns.Client)(nil)
	_ SecretsManagerAPI = (*secretsmanager.Client)(nil)
)

// ReporterOptions say where reports go. Both destinations are optional.
type ReporterOptions struct {
	// S3 and Bucket: every report is written to s3://Bucket/Prefix/[Region/]<database>/<started>.json
	// (started as 2006-01-02T15-04-05Z). Default: no upload.
	S3     S3API
	Bucket string
	Prefix string
	// SNS and TopicARN: a report that is not OK is published to the topic (a subject and a
	// short body naming the database, the snapshot, the failed step and the report's
	// location). Default: no notification.
	SNS      SNSAPI
	TopicARN string
	// MaxAttempts is how many times one S3 or SNS call is sent in all, by the SDK's standard
	// retryer. Default: 5.
	MaxAttempts int
	// Clock times the retry backoff. Default: the wall clock.
	Clock Clock
	// Logger receives Debug lines. Default: discard.
	Logger *slog.Logger
}

// Reporter delivers verification and sanitization reports: to S3, and to SNS when they
// failed. It is safe for concurrent use.
type Reporter struct {
	o       ReporterOptions
	s3Opts  []func(*s3.Options)
	snsOpts []func(*sns.Options)
}

// NewReporter returns a Reporter. The error, wrapping ErrInvalidInput, is for settings that
// can't work (a bucket without an S3 client, a topic that is not an SNS ARN); no call is made.
func NewReporter(optFns ...func(*ReporterOptions)) (*Reporter, error) {
	var o ReporterOptions
	for _, fn := range optFns {
		fn(&o)
	}
	switch {
	case o.Bucket != "" && o.S3 == nil:
		return nil, fmt.Errorf("%w: a report bucket needs an S3 client", ErrInvalidInput)
	case o.Bucket == "" && o.Prefix != "":
		return nil, fmt.Errorf("%w: a report prefix needs a bucket", ErrInvalidInput)
	case strings.Contains(o.Bucket, "/") || (o.Bucket != "" && len(o.Bucket) < 3):
		return nil, fmt.Errorf("%w: report bucket %q: want a bucket name (no s3://, no slash)", ErrInvalidInput, o.Bucket)
	case o.TopicARN != "" && o.SNS == nil:
		return nil, fmt.Errorf("%w: a topic needs an SNS client", ErrInvalidInput)
	case o.TopicARN != "" && (!strings.HasPrefix(o.TopicARN, "arn:") || !strings.Contains(o.TopicARN, ":sns:") || strings.Count(o.TopicARN, ":") != 5):
		return nil, fmt.Errorf("%w: topic %q is not an SNS topic ARN", ErrInvalidInput, o.TopicARN)
	case o.MaxAttempts < 0:
		return nil, fmt.Errorf("%w: MaxAttempts can't be negative", ErrInvalidInput)
	}
	o.Prefix = strings.Trim(o.Prefix, "/")
	defaults(&o.Clock, &o.MaxAttempts, &o.Logger)
	retryer := awsretry.New(awsretry.Options{Clock: o.Clock, MaxAttempts: o.MaxAttempts})
	return &Reporter{o: o, s3Opts: []func(*s3.Options){func(so *s3.Options) { so.Retryer = retryer }},
		snsOpts: []func(*sns.Options){func(so *sns.Options) { so.Retryer = retryer }}}, nil
}

// NewReporterFromConfig returns a Reporter with S3 and SNS clients from cfg where a bucket or
// a topic is set.
func NewReporterFromConfig(cfg aws.Config, optFns ...func(*ReporterOptions)) (*Reporter, error) {
	return NewReporter(append(optFns, func(o *ReporterOptions) {
		if o.Bucket != "" && o.S3 == nil {
			o.S3 = s3.NewFromConfig(cfg)
		}
		if o.TopicARN != "" && o.SNS == nil {
			o.SNS = sns.NewFromConfig(cfg)
		}
	})...)
}

// Key is where a report goes in the bucket.
func (r *Reporter) Key(rep Report) string {
	parts := []string{}
	if r.o.Prefix != "" {
		parts = append(parts, r.o.Prefix)
	}
	if rep.Region != "" {
		parts = append(parts, rep.Region)
	}
	db := rep.Database
	if db == "" {
		db = "unknown"
	}
	parts = append(parts, db, rep.Started.UTC().Format("2006-01-02T15-04-05Z")+".json")
	return strings.Join(parts, "/")
}

// Deliver writes the report to S3 (when configured) and, when it is not OK, publishes a
// notice to SNS (when configured), also when the upload failed. It returns the report's
// location ("" without a bucket) and the joined errors of the two.
func (r *Reporter) Deliver(ctx context.Context, rep Report) (string, error) {
	var errs []error
	location := ""
	if r.o.Bucket != "" {
		key := r.Key(rep)
		rep.Location = "s3://" + r.o.Bucket + "/" + key
		body, _ := json.MarshalIndent(rep, "", "  ")
		_, err := r.o.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.o.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
			ContentType: aws.String("application/json")}, r.s3Opts...)
		if err != nil {
			errs = append(errs, errtext.Wrap("dr", "writing the report to "+rep.Location, err))
		} else {
			location = rep.Location
		}
	}
	if r.o.TopicARN != "" && !rep.OK {
		subject, body := Notice(rep, location, errors.Join(errs...))
		if _, err := r.o.SNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(r.o.TopicARN), Subject: aws.String(subject), Message: aws.String(body)}, r.snsOpts...); err != nil {
			errs = append(errs, errtext.Wrap("dr", "notifying "+r.o.TopicARN, err))
		}
	}
	return location, errors.Join(errs...)
}

// Notice is the SNS subject (at most 100 characters, as SNS allows) and body for a failed
// report.
func Notice(rep Report, location string, uploadErr error) (subject, body string) {
	what := "verification"
	if rep.Result != "" || strings.Contains(rep.Cleanup, "intermediate") {
		what = "sanitized copy"
	}
	where := ""
	if rep.Region != "" {
		where = " in " + rep.Region
	}
	subject = fmt.Sprintf("shipshape dr: %s of %s FAILED%s", what, rep.Database, where)
	if len(subject) > 100 {
		subject = subject[:100]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The DR %s of %s%s failed.\n\n", what, rep.Database, where)
	fmt.Fprintf(&b, "Snapshot: %s\n", rep.Snapshot)
	if f := rep.Failed(); f != nil {
		fmt.Fprintf(&b, "Failed step: %s: %s\n", f.Name, f.Detail)
	} else {
		fmt.Fprintf(&b, "Failed step: the cleanup or the run itself (see the report)\n")
	}
	fmt.Fprintf(&b, "Cleanup: %s\n", rep.Cleanup)
	switch {
	case location != "":
		fmt.Fprintf(&b, "Report: %s\n", location)
	case uploadErr != nil:
		fmt.Fprintf(&b, "Report: not uploaded (%s)\n", errtext.Strip("dr", uploadErr.Error()))
	}
	fmt.Fprintf(&b, "Run: %s, started %s\n", rep.Run, rep.Started.UTC().Format("2006-01-02 15:04:05 UTC"))
	return subject, b.String()
}

// SecretCredentials returns Database.Credentials that read a user and password from a
// Secrets Manager secret by ARN: the RDS-managed master user secret, or a user secret, both
// JSON with "username" and "password". Every call reads the secret (rotation is picked up);
// the values are never logged or put in errors.
func SecretCredentials(sm SecretsManagerAPI, secretARN string, optFns ...func(*secretsmanager.Options)) func(ctx context.Context) (user, password string, err error) {
	return func(ctx context.Context) (string, string, error) {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretARN)}, optFns...)
		if err != nil {
			return "", "", errtext.Wrap("dr", "reading the database secret "+secretARN, err)
		}
		var v struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if out.SecretString == nil || json.Unmarshal([]byte(*out.SecretString), &v) != nil || v.Username == "" || v.Password == "" {
			return "", "", fmt.Errorf("%w: the database secret %s is not JSON with a username and a password", ErrInvalidInput, secretARN)
		}
		return v.Username, v.Password, nil
	}
}
