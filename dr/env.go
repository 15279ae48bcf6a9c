package dr

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RegionSettings are where a temporary instance goes in one region.
type RegionSettings struct {
	SubnetGroup    string   `json:"SubnetGroup"`
	SecurityGroups []string `json:"SecurityGroups"`
}

// StepSettings configure the Step Functions Lambdas (examples/dr-steps, examples/dr-sanitize)
// from their environment; see StepSettingsFromEnv for the variables.
type StepSettings struct {
	Target VerifyTarget
	// DSN is the connection string template (DSNTemplate); SecretARN, when set, is the
	// Secrets Manager secret with the user and password ({user}, {password}).
	DSN       string
	SecretARN string
	Checks    Checks
	Timeout   time.Duration
	// Regions are the regions to run in, each with its subnet group and security groups.
	// One entry, "", means the Lambda's own region.
	Regions map[string]RegionSettings
	// Report destinations (optional).
	ReportBucket, ReportPrefix, TopicARN string
	// Sanitize is read only by SanitizeSettingsFromEnv.
	Sanitize SanitizeOptions
}

// RegionNames are the configured regions, sorted ("" when only the Lambda's own).
func (s StepSettings) RegionNames() []string {
	var out []string
	for r := range s.Regions {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// SplitList reads a comma-separated setting, trimmed, empty items dropped.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

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
func StepSettingsFromEnv(getenv func(string) string) (StepSettings, error) {
	var s StepSettings
	var err error
	s.Target = VerifyTarget{SourceInstance: getenv("DR_SOURCE_INSTANCE"), SourceCluster: getenv("DR_SOURCE_CLUSTER"), InstanceClass: getenv("DR_INSTANCE_CLASS")}
	if s.Target.SourceInstance != "" && s.Target.SourceCluster != "" {
		return s, fmt.Errorf("%w: DR_SOURCE_INSTANCE and DR_SOURCE_CLUSTER: set one", ErrInvalidInput)
	}
	if s.Target.SourceAccount = getenv("DR_SOURCE_ACCOUNT"); s.Target.SourceAccount != "" && !validAccount(s.Target.SourceAccount) {
		return s, fmt.Errorf("%w: DR_SOURCE_ACCOUNT %q: want a 12-digit AWS account id", ErrInvalidInput, s.Target.SourceAccount)
	}
	if s.Checks, err = ParseChecks(getenv("DR_CHECKS")); err != nil {
		return s, fmt.Errorf("DR_CHECKS: %w", err)
	}
	s.DSN = getenv("DR_DSN")
	if _, err := DSNTemplate(s.DSN, getenv); err != nil {
		return s, fmt.Errorf("DR_DSN: %w", err)
	}
	s.SecretARN = getenv("DR_DB_SECRET_ARN")
	if s.SecretARN != "" && (!strings.HasPrefix(s.SecretARN, "arn:") || !strings.Contains(s.SecretARN, ":secretsmanager:")) {
		return s, fmt.Errorf("%w: DR_DB_SECRET_ARN %q: want a Secrets Manager secret ARN", ErrInvalidInput, s.SecretARN)
	}
	if t := getenv("DR_TIMEOUT"); t != "" {
		if s.Timeout, err = time.ParseDuration(t); err != nil || s.Timeout <= 0 {
			return s, fmt.Errorf("%w: DR_TIMEOUT %q: want a positive duration such as 1h", ErrInvalidInput, t)
		}
	}
	s.Regions = map[string]RegionSettings{}
	if r := getenv("DR_REGIONS"); strings.TrimSpace(r) != "" {
		if err := decodeStrict(r, &s.Regions); err != nil || len(s.Regions) == 0 {
			return s, fmt.Errorf("%w: DR_REGIONS: want one JSON object {\"eu-west-1\": {\"SubnetGroup\": \"...\", \"SecurityGroups\": [\"sg-...\"]}} and nothing after it", ErrInvalidInput)
		}
		for name := range s.Regions {
			if !validRegion(name) {
				return s, fmt.Errorf("%w: DR_REGIONS: %q is not a region name", ErrInvalidInput, name)
			}
		}
	} else {
		s.Regions[""] = RegionSettings{SubnetGroup: getenv("DR_SUBNET_GROUP"), SecurityGroups: SplitList(getenv("DR_SECURITY_GROUPS"))}
	}
	s.ReportBucket, s.ReportPrefix, s.TopicARN = getenv("DR_REPORT_BUCKET"), getenv("DR_REPORT_PREFIX"), getenv("DR_SNS_TOPIC_ARN")
	return s, nil
}

// SanitizeSettingsFromEnv reads StepSettingsFromEnv's variables and the sanitizing ones:
// DR_STATEMENTS (a JSON list of SQL statements), DR_SANITIZED_SNAPSHOT_ID (optional, it
// starts with shipshape-sanitized-), DR_TARGET_KMS_KEY_ID (the key the development accounts
// may use), DR_SHARE_WITH (account ids, comma-separated), DR_SANITIZED_KEEP (sanitized
// snapshots kept per source database and account, default 4).
func SanitizeSettingsFromEnv(getenv func(string) string) (StepSettings, error) {
	s, err := StepSettingsFromEnv(getenv)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(getenv("DR_STATEMENTS")), &s.Sanitize.Statements); err != nil || len(s.Sanitize.Statements) == 0 {
		return s, fmt.Errorf("%w: DR_STATEMENTS: want a JSON list of SQL statements, e.g. [\"UPDATE customers SET email = 'x'\"]", ErrInvalidInput)
	}
	s.Sanitize.SnapshotID, s.Sanitize.KMSKeyID = getenv("DR_SANITIZED_SNAPSHOT_ID"), getenv("DR_TARGET_KMS_KEY_ID")
	s.Sanitize.ShareWith = SplitList(getenv("DR_SHARE_WITH"))
	if k := getenv("DR_SANITIZED_KEEP"); k != "" {
		n, err := strconv.Atoi(k)
		if err != nil || n < 1 {
			return s, fmt.Errorf("%w: DR_SANITIZED_KEEP %q: want a whole number, 1 or more (default %d)", ErrInvalidInput, k, DefaultSanitizedKeep)
		}
		s.Sanitize.Keep = n
	}
	return s, nil
}

// validRegion accepts region names like eu-west-1, us-gov-west-1, ap-southeast-4: lowercase
// words and a number, joined by hyphens. An availability zone (eu-west-1a) is not a region.
func validRegion(r string) bool {
	parts := strings.Split(r, "-")
	if len(parts) < 3 {
		return false
	}
	for i, p := range parts {
		allowed := "abcdefghijklmnopqrstuvwxyz"
		if i == len(parts)-1 {
			allowed = "0123456789"
		}
		if p == "" || strings.Trim(p, allowed) != "" {
			return false
		}
	}
	return true
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

// ChecksFromFlags builds Checks from the binaries' check flags: -version-prefix, -min-tables,
// -min-rows TABLE=N (repeatable) and -query NAME|SQL|WANT (repeatable; NAME ends at the first
// |, WANT starts after the last |, so the SQL may contain ||, and NAME and WANT can't contain
// |). Errors name the flag.
func ChecksFromFlags(versionPrefix string, minTables int, minRows, queries []string) (Checks, error) {
	c := Checks{ServerVersionPrefix: versionPrefix, MinTables: minTables, MinRows: map[string]int64{}}
	if minTables < 0 {
		return c, fmt.Errorf("%w: -min-tables %d: want 0 or more", ErrInvalidInput, minTables)
	}
	for _, r := range minRows {
		table, n, ok := strings.Cut(r, "=")
		var count int64
		_, err := fmt.Sscan(n, &count)
		if !ok || strings.TrimSpace(table) == "" || err != nil || count < 0 || strings.TrimSpace(n) != fmt.Sprint(count) {
			return c, fmt.Errorf("%w: -min-rows %q: want TABLE=N with N 0 or more", ErrInvalidInput, r)
		}
		if _, dup := c.MinRows[table]; dup {
			return c, fmt.Errorf("%w: -min-rows: table %q is given twice", ErrInvalidInput, table)
		}
		c.MinRows[table] = count
	}
	for _, q := range queries {
		// NAME ends at the first |, WANT starts after the last |: the SQL in between may use
		// PostgreSQL's || operator.
		name, rest, ok1 := strings.Cut(q, "|")
		i := strings.LastIndex(rest, "|")
		if !ok1 || i < 0 || strings.TrimSpace(name) == "" || strings.TrimSpace(rest[:i]) == "" {
			return c, fmt.Errorf("%w: -query %q: want NAME|SQL|WANT (NAME up to the first |, WANT after the last |)", ErrInvalidInput, q)
		}
		c.Queries = append(c.Queries, QueryCheck{Name: name, SQL: rest[:i], Want: rest[i+1:]})
	}
	return c, nil
}
