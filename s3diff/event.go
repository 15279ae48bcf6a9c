package s3diff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/shipshape-dev/shipshape/envelope"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// ObjectEvent is one object upload taken from an event notification, key decoded.
type ObjectEvent struct {
	Bucket    string
	Key       string
	VersionID string
	Sequencer string
	Size      int64
}

// DecodeKey decodes an object key as S3 writes it into event notifications and Batch
// Operations tasks: URL-encoded with '+' for a space and %XX escapes (so a literal '+'
// arrives as %2B). S3 event notifications come decoded already (aws-lambda-go's
// events.S3Object.URLDecodedKey, which ParseEvent uses); Batch Operations tasks and
// EventBridge events have no decoded field, so they come through here.
func DecodeKey(encoded string) (string, error) {
	key, err := url.QueryUnescape(encoded)
	if err != nil {
		return "", invalid("object key %q in the event is not URL-encoded as S3 writes keys: %v", encoded, err)
	}
	return key, nil
}

// ParseEvent reads the object uploads out of an event: an S3 event notification
// ({"Records": [...]}, delivered directly or through SNS or SQS) or an EventBridge "Object
// Created" event from aws.s3 (directly or through SQS); package envelope takes each out of
// its envelopes. S3's test event (s3:TestEvent), non-creation records and other S3 events
// give no uploads and no error. Anything else is an error that says what the payload was.
func ParseEvent(payload []byte) ([]ObjectEvent, error) {
	if IsBatchEvent(payload) {
		return nil, invalid("the event is an S3 Batch Operations invocation: answer it with Handler.HandleBatch")
	}
	msgs, err := envelope.Decode(payload)
	if err != nil {
		return nil, invalid("%v", err)
	}
	var out []ObjectEvent
	for _, m := range msgs {
		var evs []ObjectEvent
		if m.Event != nil {
			evs, err = fromEventBridge(m.Event)
		} else {
			evs, err = fromNotification(m.Body)
		}
		if err != nil {
			if m.ID != "" {
				return nil, errtext.Wrap("s3diff", "message "+m.ID, err)
			}
			return nil, err
		}
		out = append(out, evs...)
	}
	return out, nil
}

// fromNotification reads an S3 event notification (or S3's test event).
func fromNotification(body []byte) ([]ObjectEvent, error) {
	var probe struct {
		Records json.RawMessage `json:"Records"`
		Event   string          `json:"Event"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, invalid("the event is not a JSON object: %v", err)
	}
	switch {
	case probe.Event == "s3:TestEvent":
		return nil, nil
	case probe.Records == nil:
		return nil, invalid("neither an S3 notification (Records) nor an EventBridge event (detail-type); is the trigger an S3 bucket?")
	}
	var recs []events.S3EventRecord
	if err := json.Unmarshal(probe.Records, &recs); err != nil {
		return nil, invalid("the S3 notification does not parse (a key not URL-encoded as S3 writes keys?): %v", err)
	}
	var out []ObjectEvent
	for i, r := range recs {
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			continue
		}
		key := r.S3.Object.URLDecodedKey
		if r.S3.Bucket.Name == "" || key == "" {
			return nil, invalid("record %d names no bucket or no key", i)
		}
		out = append(out, ObjectEvent{Bucket: r.S3.Bucket.Name, Key: key, VersionID: r.S3.Object.VersionID,
			Sequencer: r.S3.Object.Sequencer, Size: r.S3.Object.Size})
	}
	return out, nil
}

// fromEventBridge reads an EventBridge event from aws.s3: "Object Created" gives its upload,
// other S3 events none.
func fromEventBridge(ev *envelope.Event) ([]ObjectEvent, error) {
	if ev.Source != "aws.s3" {
		return nil, invalid("EventBridge event from %q, not aws.s3", ev.Source)
	}
	if ev.DetailType != "Object Created" {
		return nil, nil
	}
	var d struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string `json:"key"`
			Size      int64  `json:"size"`
			VersionID string `json:"version-id"`
			Sequencer string `json:"sequencer"`
		} `json:"object"`
	}
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return nil, invalid("the EventBridge detail does not parse: %v", err)
	}
	key, err := DecodeKey(d.Object.Key)
	if err != nil {
		return nil, err
	}
	if d.Bucket.Name == "" || key == "" {
		return nil, invalid("the EventBridge event names no bucket or no key")
	}
	return []ObjectEvent{{Bucket: d.Bucket.Name, Key: key, VersionID: d.Object.VersionID, Sequencer: d.Object.Sequencer, Size: d.Object.Size}}, nil
}

// HandlerOptions are the optional settings of a Handler.
type HandlerOptions struct {
	// Keep is how many versions to keep after diffing; 0 means no retention.
	Keep int
	// Prefix and Suffix filter keys (both must match when set), e.g. Suffix ".json".
	Prefix, Suffix string
	// Format of the diff in the log line: "unified" (default), "word", or "json" (the JSON
	// structural changes for .json keys, the unified diff otherwise).
	Format string
	// Logger receives one structured line per outcome. Default: discard.
	Logger *slog.Logger
}

// Outcome is what a Handler did for one upload.
type Outcome struct {
	Event    ObjectEvent
	Skipped  string // why nothing was done, if so
	Diff     *Result
	Retained *RetainResult
}

// Handler turns event notifications into diffs (of the uploaded version against its
// predecessor) and retention. Redelivered events give the same diff, since the version
// comes from the event, and retention is idempotent.
type Handler struct {
	client *Client
	opts   HandlerOptions
	log    *slog.Logger
}

// NewHandler returns a Handler over client. Keep below 0 or an unknown Format is an error
// wrapping ErrInvalidInput (ErrInvalidKeep for Keep); NewHandler makes no call.
func NewHandler(client *Client, optFns ...func(*HandlerOptions)) (*Handler, error) {
	var opts HandlerOptions
	for _, fn := range optFns {
		fn(&opts)
	}
	if client == nil {
		return nil, invalid("no Client")
	}
	if opts.Keep < 0 {
		return nil, fmt.Errorf("%w: got %d (use 0 for no retention)", ErrInvalidKeep, opts.Keep)
	}
	switch opts.Format {
	case "":
		opts.Format = "unified"
	case "unified", "word", "json":
	default:
		return nil, invalid("diff format %q is not unified, word or json", opts.Format)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{client: client, opts: opts, log: opts.Logger}, nil
}

// Handle processes one event payload. It goes on past a failing upload and returns every
// outcome with the errors joined.
func (h *Handler) Handle(ctx context.Context, payload []byte) ([]Outcome, error) {
	evs, err := ParseEvent(payload)
	if err != nil {
		return nil, err
	}
	var outcomes []Outcome
	var errs []error
	var halt error // a delete answer that can't be trusted: no further retention in this call
	for _, ev := range evs {
		o := Outcome{Event: ev}
		switch {
		case h.opts.Prefix != "" && !strings.HasPrefix(ev.Key, h.opts.Prefix),
			h.opts.Suffix != "" && !strings.HasSuffix(ev.Key, h.opts.Suffix):
			o.Skipped = "key does not match the prefix/suffix filter"
		case ev.VersionID == "":
			o.Skipped = "the event has no version id: is versioning enabled on the bucket?"
		}
		if o.Skipped != "" {
			h.log.Info("s3diff: skipped", "bucket", ev.Bucket, "key", ev.Key, "reason", o.Skipped)
			outcomes = append(outcomes, o)
			continue
		}
		res, err := h.client.Diff(ctx, ev.Bucket, ev.Key, func(d *DiffOptions) { d.To = ev.VersionID })
		switch {
		case errors.Is(err, ErrNoPredecessor):
			o.Skipped = "first version of the key: nothing to diff"
		case errIsNotFound(err):
			o.Skipped = "the version is gone (pruned already? a redelivered event): " + err.Error()
		case err != nil:
			errs = append(errs, errtext.Wrap("s3diff", fmt.Sprintf("diff of s3://%s/%s version %s", ev.Bucket, ev.Key, ev.VersionID), err))
		default:
			o.Diff = res
			h.logDiff(res)
		}
		if o.Skipped != "" {
			h.log.Info("s3diff: nothing to diff", "bucket", ev.Bucket, "key", ev.Key, "version", ev.VersionID, "reason", o.Skipped)
		}
		switch {
		case h.opts.Keep > 0 && halt != nil:
			errs = append(errs, errtext.Wrap("s3diff", fmt.Sprintf("retention of s3://%s/%s not run, since an earlier delete answer can't be trusted", ev.Bucket, ev.Key), ErrMalformedResponse))
		case h.opts.Keep > 0:
			rr, err := h.client.Retain(ctx, ev.Bucket, ev.Key, h.opts.Keep)
			o.Retained = rr
			if errors.Is(err, ErrMalformedResponse) {
				halt = err // no further deletion against a server that answers so
			}
			if err != nil {
				errs = append(errs, errtext.Wrap("s3diff", fmt.Sprintf("retention of s3://%s/%s", ev.Bucket, ev.Key), err))
			} else {
				h.log.Info("s3diff: retention", "bucket", ev.Bucket, "key", ev.Key, "keep", h.opts.Keep,
					"kept", len(rr.Kept), "deleted", len(rr.Deleted))
			}
		}
		outcomes = append(outcomes, o)
	}
	return outcomes, errors.Join(errs...)
}

func (h *Handler) logDiff(r *Result) {
	attrs := []any{"bucket", r.Bucket, "key", r.Key, "from", r.From.VersionID, "to", r.To.VersionID,
		"status", string(r.Status), "added", r.LinesAdded, "removed", r.LinesRemoved, "summary", r.Summary}
	if len(r.Notes) > 0 {
		attrs = append(attrs, "notes", r.Notes)
	}
	if r.Status == StatusChanged {
		switch {
		case h.opts.Format == "word":
			attrs = append(attrs, "diff", r.WordDiff())
		case h.opts.Format == "json" && IsJSONKey(r.Key):
			changes, err := r.JSONChanges()
			if err == nil {
				attrs = append(attrs, "json_changes", changes)
				break
			}
			attrs = append(attrs, "json_error", err.Error(), "diff", r.Unified())
		default:
			attrs = append(attrs, "diff", r.Unified())
		}
	}
	h.log.Info("s3diff: diff", attrs...)
}
