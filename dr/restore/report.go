package restore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/shipshape-dev/shipshape/clock"
	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/internal/snaps"
	"github.com/shipshape-dev/shipshape/internal/awserr"
	"github.com/shipshape-dev/shipshape/internal/awsretry"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// ReporterOptions say where reports go. Both destinations are optional.
type ReporterOptions struct {
	// S3 and Bucket: every report is written to
	// s3://Bucket/Prefix/[Region/]<database>/<started>_<run>.json (started as
	// 2006-01-02T15-04-05Z, "started-unknown" for a report without a start time; the run
	// path-escaped), once: the put is conditional (If-None-Match: *), so no report ever
	// overwrites another. Beside a report that was notified, <...>_<run>.alerted records the
	// notice (so a repeated delivery does not notify again). Default: no upload.
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
	Clock clock.Clock
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
// can't work (a bucket without an S3 client or that is not a bucket name by S3's naming rules,
// a topic that is not an SNS ARN); no call is made.
func NewReporter(optFns ...func(*ReporterOptions)) (*Reporter, error) {
	var o ReporterOptions
	for _, fn := range optFns {
		fn(&o)
	}
	switch {
	case o.Bucket != "" && o.S3 == nil:
		return nil, fmt.Errorf("%w: a report bucket needs an S3 client", dr.ErrInvalidInput)
	case o.Bucket == "" && o.Prefix != "":
		return nil, fmt.Errorf("%w: a report prefix needs a bucket", dr.ErrInvalidInput)
	case o.Bucket != "" && !validBucket(o.Bucket):
		return nil, fmt.Errorf("%w: report bucket %q: want a bucket name (3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit; no s3://, no ARN, no slash)",
			dr.ErrInvalidInput, o.Bucket)
	case o.TopicARN != "" && o.SNS == nil:
		return nil, fmt.Errorf("%w: a topic needs an SNS client", dr.ErrInvalidInput)
	case o.TopicARN != "" && (!strings.HasPrefix(o.TopicARN, "arn:") || !strings.Contains(o.TopicARN, ":sns:") || strings.Count(o.TopicARN, ":") != 5):
		return nil, fmt.Errorf("%w: topic %q is not an SNS topic ARN", dr.ErrInvalidInput, o.TopicARN)
	case o.MaxAttempts < 0:
		return nil, fmt.Errorf("%w: MaxAttempts can't be negative", dr.ErrInvalidInput)
	}
	o.Prefix = strings.Trim(o.Prefix, "/")
	snaps.Defaults(&o.Clock, &o.MaxAttempts, &o.Logger)
	retryer := awsretry.New(awsretry.Options{Clock: o.Clock, MaxAttempts: o.MaxAttempts})
	return &Reporter{o: o, s3Opts: []func(*s3.Options){func(so *s3.Options) { so.Retryer = retryer }},
		snsOpts: []func(*sns.Options){func(so *sns.Options) { so.Retryer = retryer }}}, nil
}

// validBucket checks S3's rules for bucket names: 3 to 63 characters, lowercase letters,
// digits, dots and hyphens, starting and ending with a letter or digit, no two dots in a row,
// not formatted as an IP address.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 || strings.Contains(b, "..") || net.ParseIP(b) != nil {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	if !alnum(b[0]) || !alnum(b[len(b)-1]) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; !alnum(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
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

// Key is where a report goes in the bucket: its run makes it unique (two runs of one
// database that start in the same second have two keys), its start time sorts a listing. A
// report without a start time (a run whose Start step failed and whose Cleanup never
// completed: nothing recorded when it started) is keyed by its run alone,
// "<database>/started-unknown_<run>.json", never by the time it is delivered, so that every
// delivery of it finds the same key.
func (r *Reporter) Key(rep dr.Report) string {
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
	started := unknownStart
	if !rep.Started.IsZero() {
		started = rep.Started.UTC().Format("2006-01-02T15-04-05Z")
	}
	parts = append(parts, db, started+"_"+url.PathEscape(rep.Run)+".json")
	return strings.Join(parts, "/")
}

// unknownStart stands for the start time in the key of a report that has none; no start
// time formats as it, so such a key never equals a started report's.
const unknownStart = "started-unknown"

// alertKey is the key of the record that the alert of the report under key was published:
// the report's key with ".alerted" for ".json".
func alertKey(key string) string { return strings.TrimSuffix(key, ".json") + ".alerted" }

// ErrReportExists: the key of a report holds another report already (the put is
// conditional, so it was not overwritten). *ReportExistsError names the key.
var ErrReportExists = errors.New("dr: a different report exists under this report's key")

// ReportExistsError is a report that was not written because its key holds another one.
type ReportExistsError struct {
	Location string // s3://bucket/key
}

func (e *ReportExistsError) Error() string {
	return fmt.Sprintf("dr: the report was not written: %s exists and holds another report, which is never overwritten (is the run id reused?); this run's report is in the execution's output and on stdout", e.Location)
}

// Unwrap makes errors.Is(err, ErrReportExists) true.
func (e *ReportExistsError) Unwrap() error { return ErrReportExists }

// put writes body under key unless the key exists (If-None-Match: *). A key that exists with
// the same bytes is this report, written by an earlier attempt whose answer was lost (S3 then
// answers 412 to the SDK's retry, or to a rerun of the step): that is success. A key that
// exists with other bytes is a *ReportExistsError.
func (r *Reporter) put(ctx context.Context, key string, body []byte) error {
	_, err := r.o.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.o.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"), IfNoneMatch: aws.String("*")}, r.s3Opts...)
	if err == nil || !awserr.Is(err, "PreconditionFailed", "ConditionalRequestConflict") {
		return err
	}
	out, gerr := r.o.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.o.Bucket), Key: aws.String(key)}, r.s3Opts...)
	if gerr != nil {
		return errtext.Join("dr", fmt.Errorf("the report key exists (%s), and reading it back failed", awserr.Code(err)), gerr)
	}
	defer out.Body.Close()
	have, rerr := io.ReadAll(io.LimitReader(out.Body, int64(len(body))+1))
	switch {
	case rerr != nil:
		return errtext.Join("dr", fmt.Errorf("the report key exists (%s), and reading it back failed", awserr.Code(err)), rerr)
	case !bytes.Equal(have, body):
		return &ReportExistsError{Location: "s3://" + r.o.Bucket + "/" + key}
	}
	r.o.Logger.Debug("dr: the report was written already (an earlier attempt's answer was lost)", "key", key)
	return nil
}

// Deliver writes the report to S3 (when configured; under its run's key, never over another
// object: a key that holds another report is a *ReportExistsError, one that holds this very
// report, written by an attempt whose answer was lost, is success) and, when it is not OK,
// publishes a notice to SNS (when configured), also when the upload failed. The notice is
// published once per report key: after publishing, Deliver records it in the bucket (the
// report's key with ".alerted" for ".json", holding the SNS message id), and a later delivery
// of the same report (the step delivered again after its answer was lost) that finds the
// record publishes nothing (without a bucket there is no record: every delivery notifies).
// A record that can't be read or written only risks a second notice, never none: it is
// logged (Warn), not returned. It returns the report's location (""
// without a bucket or when it was not written) and the joined errors of the upload and the
// notice.
func (r *Reporter) Deliver(ctx context.Context, rep dr.Report) (string, error) {
	var errs []error
	location, key := "", ""
	switch {
	case r.o.Bucket != "" && strings.TrimSpace(rep.Run) == "":
		errs = append(errs, fmt.Errorf("%w: the report names no run, and reports are keyed by their run: not written to s3://%s", dr.ErrInvalidInput, r.o.Bucket))
	case r.o.Bucket != "":
		key = r.Key(rep)
		rep.Location = "s3://" + r.o.Bucket + "/" + key
		body, _ := json.MarshalIndent(rep, "", "  ")
		var exists *ReportExistsError
		if err := r.put(ctx, key, body); errors.As(err, &exists) {
			errs = append(errs, err) // it names the key
		} else if err != nil {
			errs = append(errs, errtext.Wrap("dr", "writing the report to "+rep.Location, err))
		} else {
			location = rep.Location
		}
	}
	if r.o.TopicARN != "" && !rep.OK {
		if key != "" && r.alerted(ctx, key) {
			return location, errors.Join(errs...)
		}
		subject, body := Notice(rep, location, errors.Join(errs...))
		out, err := r.o.SNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(r.o.TopicARN), Subject: aws.String(subject), Message: aws.String(body)}, r.snsOpts...)
		if err != nil {
			errs = append(errs, errtext.Wrap("dr", "notifying "+r.o.TopicARN, err))
		} else if key != "" {
			r.recordAlert(ctx, key, aws.ToString(out.MessageId))
		}
	}
	return location, errors.Join(errs...)
}

// alerted reports whether the notice of the report under key was published already (its
// record exists). A record that can't be read counts as absent: a second notice rather than
// none. (S3 answers a missing key with 403 AccessDenied, not 404, to a role without
// s3:ListBucket, which the templates do not grant: both mean no record.)
func (r *Reporter) alerted(ctx context.Context, key string) bool {
	out, err := r.o.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.o.Bucket), Key: aws.String(alertKey(key))}, r.s3Opts...)
	switch {
	case err == nil:
		out.Body.Close()
		r.o.Logger.Debug("dr: the notice of this report was published already (an earlier delivery's answer was lost)", "key", alertKey(key))
		return true
	case errors.As(err, new(*s3types.NoSuchKey)) || awserr.Is(err, "NoSuchKey", "NotFound", "AccessDenied", "Forbidden"):
		r.o.Logger.Debug("dr: no record of this report's notice: publishing it", "key", alertKey(key), "answer", awserr.Code(err))
	default:
		r.o.Logger.Warn("dr: could not read whether this report's notice was published: publishing it (a second notice rather than none)",
			"key", alertKey(key), "error", err.Error())
	}
	return false
}

// recordAlert records that the notice of the report under key was published (conditional
// put: a record another delivery wrote is kept).
func (r *Reporter) recordAlert(ctx context.Context, key, messageID string) {
	_, err := r.o.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.o.Bucket), Key: aws.String(alertKey(key)),
		Body: strings.NewReader("published to " + r.o.TopicARN + " as SNS message " + messageID + "\n"), ContentType: aws.String("text/plain"),
		IfNoneMatch: aws.String("*")}, r.s3Opts...)
	if err != nil && !awserr.Is(err, "PreconditionFailed", "ConditionalRequestConflict") {
		r.o.Logger.Warn("dr: the report's notice was published, but recording that failed: a repeated delivery of this report would publish it again",
			"key", alertKey(key), "error", err.Error())
	}
}

// Notice is the SNS subject (at most 100 characters, as SNS allows) and body for a failed
// report.
func Notice(rep dr.Report, location string, uploadErr error) (subject, body string) {
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
	started := "start time unknown (the start failed, and its cleanup never completed)"
	if !rep.Started.IsZero() {
		started = "started " + rep.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	fmt.Fprintf(&b, "Run: %s, %s\n", rep.Run, started)
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
			return "", "", fmt.Errorf("%w: the database secret %s is not JSON with a username and a password", dr.ErrInvalidInput, secretARN)
		}
		return v.Username, v.Password, nil
	}
}
