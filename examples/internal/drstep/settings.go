package drstep

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/examples/internal/cli"
	"github.com/shipshape-dev/shipshape/internal/awsid"
)

// The state machines' settings are read here, beside the binaries, not in package dr: the
// library takes a restore.StepSettings and leaves environment variables to its callers.

// StepSettingsFromEnv reads the settings of the verification Lambda:
//
//	DR_SOURCE_INSTANCE or DR_SOURCE_CLUSTER   what to verify (the newest DR copy of it)
//	DR_SOURCE_ACCOUNT                         whose database of that name (12 digits; needed
//	                                          when several source accounts have one)
//	DR_INSTANCE_CLASS                         class of the temporary instance
//	DR_DSN                                    template with {host}, {port}, {user}, {password}, ${VAR}
//	DR_DB_SECRET_ARN                          secret with username and password (optional)
//	DR_CHECKS                                 JSON of Checks (optional)
//	DR_TIMEOUT                                how long a restore may take (default 1h)
//	DR_SUBNET_GROUP, DR_SECURITY_GROUPS       where the instance goes (this region)
//	DR_REGIONS                                JSON {"eu-west-1": {"SubnetGroup": ..., "SecurityGroups": [...]}, ...}
//	                                          to verify in several regions (instead of the two above)
//	DR_REPORT_BUCKET, DR_REPORT_PREFIX        where reports go (optional)
//	DR_SNS_TOPIC_ARN                          who hears of failures (optional)
//
// Errors name the variable.
func StepSettingsFromEnv(getenv func(string) string) (restore.StepSettings, error) {
	var s restore.StepSettings
	var err error
	s.Target = dr.VerifyTarget{SourceInstance: getenv("DR_SOURCE_INSTANCE"), SourceCluster: getenv("DR_SOURCE_CLUSTER"), InstanceClass: getenv("DR_INSTANCE_CLASS")}
	if s.Target.SourceInstance != "" && s.Target.SourceCluster != "" {
		return s, fmt.Errorf("%w: DR_SOURCE_INSTANCE and DR_SOURCE_CLUSTER: set one", dr.ErrInvalidInput)
	}
	if s.Target.SourceAccount = getenv("DR_SOURCE_ACCOUNT"); s.Target.SourceAccount != "" && awsid.AccountID(s.Target.SourceAccount) != nil {
		return s, fmt.Errorf("%w: DR_SOURCE_ACCOUNT %q: want a 12-digit AWS account id", dr.ErrInvalidInput, s.Target.SourceAccount)
	}
	if s.Checks, err = ParseChecks(getenv("DR_CHECKS")); err != nil {
		return s, fmt.Errorf("DR_CHECKS: %w", err)
	}
	s.DSN = getenv("DR_DSN")
	if _, err := restore.DSNTemplate(s.DSN, getenv); err != nil {
		return s, fmt.Errorf("DR_DSN: %w", err)
	}
	s.SecretARN = getenv("DR_DB_SECRET_ARN")
	if s.SecretARN != "" && (!strings.HasPrefix(s.SecretARN, "arn:") || !strings.Contains(s.SecretARN, ":secretsmanager:")) {
		return s, fmt.Errorf("%w: DR_DB_SECRET_ARN %q: want a Secrets Manager secret ARN", dr.ErrInvalidInput, s.SecretARN)
	}
	if t := getenv("DR_TIMEOUT"); t != "" {
		if s.Timeout, err = time.ParseDuration(t); err != nil || s.Timeout <= 0 {
			return s, fmt.Errorf("%w: DR_TIMEOUT %q: want a positive duration such as 1h", dr.ErrInvalidInput, t)
		}
	}
	s.Regions = map[string]restore.RegionSettings{}
	if r := getenv("DR_REGIONS"); strings.TrimSpace(r) != "" {
		if err := decodeStrict(r, &s.Regions); err != nil || len(s.Regions) == 0 {
			return s, fmt.Errorf("%w: DR_REGIONS: want one JSON object {\"eu-west-1\": {\"SubnetGroup\": \"...\", \"SecurityGroups\": [\"sg-...\"]}} and nothing after it", dr.ErrInvalidInput)
		}
		for name := range s.Regions {
			if awsid.Region(name) != nil {
				return s, fmt.Errorf("%w: DR_REGIONS: %q is not a region name", dr.ErrInvalidInput, name)
			}
		}
	} else {
		s.Regions[""] = restore.RegionSettings{SubnetGroup: getenv("DR_SUBNET_GROUP"), SecurityGroups: cli.SplitList(getenv("DR_SECURITY_GROUPS"))}
	}
	s.ReportBucket, s.ReportPrefix, s.TopicARN = getenv("DR_REPORT_BUCKET"), getenv("DR_REPORT_PREFIX"), getenv("DR_SNS_TOPIC_ARN")
	return s, nil
}

// SanitizeSettingsFromEnv reads StepSettingsFromEnv's variables and the sanitizing ones:
// DR_STATEMENTS (a JSON list of SQL statements), DR_SANITIZED_SNAPSHOT_ID (optional, it
// starts with shipshape-sanitized-), DR_TARGET_KMS_KEY_ID (the key the development accounts
// may use), DR_SHARE_WITH (account ids, comma-separated), DR_SANITIZED_KEEP (sanitized
// snapshots kept per source database and account, default 4).
func SanitizeSettingsFromEnv(getenv func(string) string) (restore.StepSettings, error) {
	s, err := StepSettingsFromEnv(getenv)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(getenv("DR_STATEMENTS")), &s.Sanitize.Statements); err != nil || len(s.Sanitize.Statements) == 0 {
		return s, fmt.Errorf("%w: DR_STATEMENTS: want a JSON list of SQL statements, e.g. [\"UPDATE customers SET email = 'x'\"]", dr.ErrInvalidInput)
	}
	s.Sanitize.SnapshotID, s.Sanitize.KMSKeyID = getenv("DR_SANITIZED_SNAPSHOT_ID"), getenv("DR_TARGET_KMS_KEY_ID")
	s.Sanitize.ShareWith = cli.SplitList(getenv("DR_SHARE_WITH"))
	if k := getenv("DR_SANITIZED_KEEP"); k != "" {
		n, err := strconv.Atoi(k)
		if err != nil || n < 1 {
			return s, fmt.Errorf("%w: DR_SANITIZED_KEEP %q: want a whole number, 1 or more (default %d)", dr.ErrInvalidInput, k, restore.DefaultSanitizedKeep)
		}
		s.Sanitize.Keep = n
	}
	return s, nil
}

// decodeStrict reads exactly one JSON value from text into v: unknown fields are an error, and
// so is anything but white space after the value (a misplaced brace would otherwise end the
// value early and silently drop what follows).
func decodeStrict(text string, v any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return fmt.Errorf("unexpected text after the JSON value at offset %d", dec.InputOffset())
	}
	return nil
}

// ParseChecks reads Checks from JSON (DR_CHECKS). Unknown fields are an error, and so is text
// after the JSON object, so neither a typo nor a misplaced brace can silently drop a check; ""
// means no checks beyond connecting.
func ParseChecks(text string) (dr.Checks, error) {
	var c dr.Checks
	if strings.TrimSpace(text) == "" {
		return c, nil
	}
	if err := decodeStrict(text, &c); err != nil {
		return c, fmt.Errorf("%w: checks are not JSON of dr.Checks (ServerVersionPrefix, MinTables, MinRows, Queries): %v", dr.ErrInvalidInput, err)
	}
	if c.MinTables < 0 {
		return c, fmt.Errorf("%w: checks: MinTables %d: want 0 or more", dr.ErrInvalidInput, c.MinTables)
	}
	for t, n := range c.MinRows {
		if strings.TrimSpace(t) == "" || n < 0 {
			return c, fmt.Errorf("%w: checks: MinRows %q: %d: want a table name and 0 or more", dr.ErrInvalidInput, t, n)
		}
	}
	for _, q := range c.Queries {
		if strings.TrimSpace(q.Name) == "" || strings.TrimSpace(q.SQL) == "" {
			return c, fmt.Errorf("%w: checks: every query needs a name and sql", dr.ErrInvalidInput)
		}
	}
	return c, nil
}
