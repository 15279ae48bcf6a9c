package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/shipshape-dev/shipshape/s3diff"
)

func versions(ctx context.Context, c *s3diff.Client, bucket, key string, asJSON bool, w io.Writer) error {
	vs, err := c.Versions(ctx, bucket, key)
	if err != nil {
		return err
	}
	if asJSON {
		if vs == nil {
			vs = []s3diff.Version{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(vs)
	}
	for _, v := range vs {
		kind := fmt.Sprintf("%d bytes %s", v.Size, v.ETag)
		if v.DeleteMarker {
			kind = "delete marker"
		}
		latest := ""
		if v.IsLatest {
			latest = " (latest)"
		}
		if _, err := fmt.Fprintf(w, "%s\t%s\t%s%s\n", v.VersionID, v.LastModified.UTC().Format(time.RFC3339), kind, latest); err != nil {
			return err
		}
	}
	return nil
}

// printDiff writes r in format and returns its status.
func printDiff(r *s3diff.Result, key, format string, w io.Writer, log *slog.Logger) (s3diff.Status, error) {
	var err error
	log.Info(r.Summary)
	for _, n := range r.Notes {
		log.Info("note: " + n)
	}
	switch format {
	case "unified":
		err = r.WriteUnified(w)
	case "word":
		err = r.WriteWordDiff(w)
	case "json":
		out := struct {
			Bucket       string              `json:"bucket,omitempty"`
			Key          string              `json:"key,omitempty"`
			From         s3diff.Version      `json:"from"`
			To           s3diff.Version      `json:"to"`
			FromFile     string              `json:"fromFile,omitempty"`
			ToFile       string              `json:"toFile,omitempty"`
			Status       s3diff.Status       `json:"status"`
			Summary      string              `json:"summary"`
			Notes        []string            `json:"notes,omitempty"`
			LinesAdded   int                 `json:"linesAdded"`
			LinesRemoved int                 `json:"linesRemoved"`
			Approximate  bool                `json:"approximate,omitempty"`
			Unified      string              `json:"unified,omitempty"`
			JSONChanges  []s3diff.JSONChange `json:"jsonChanges,omitempty"`
		}{r.Bucket, r.Key, r.From, r.To, r.FromFile, r.ToFile, r.Status, r.Summary, r.Notes, r.LinesAdded, r.LinesRemoved, r.Approximate, r.Unified(), nil}
		jsonName := key
		if jsonName == "" {
			jsonName = r.ToFile
		}
		if s3diff.IsJSONKey(jsonName) && r.Status == s3diff.StatusChanged {
			if out.JSONChanges, err = r.JSONChanges(); err != nil {
				log.Warn("no structural diff", "error", err.Error())
			}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(out)
	}
	return r.Status, err
}

func retain(ctx context.Context, c *s3diff.Client, bucket, key string, keep int, dryRun bool, w io.Writer, log *slog.Logger) error {
	res, err := c.Retain(ctx, bucket, key, keep, func(o *s3diff.RetainOptions) { o.DryRun = dryRun })
	if res != nil {
		for _, v := range res.Deleted {
			fmt.Fprintln(w, v.VersionID)
		}
		verb := "deleted"
		if dryRun {
			verb = "would delete"
		}
		log.Info(fmt.Sprintf("s3://%s/%s: %s %d version(s), kept %d, failed %d; %d list and %d delete calls",
			bucket, key, verb, len(res.Deleted), len(res.Kept), len(res.Failed), res.ListPages, res.DeleteCalls))
		for _, f := range res.Failed {
			log.Warn(fmt.Sprintf("not deleted: version %s: %s %s", f.Version.VersionID, f.Code, f.Message))
		}
	}
	return err
}
