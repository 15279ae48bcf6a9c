package drstep

import (
	"maps"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/dr"
	"github.com/shipshape-dev/shipshape/dr/drtest"
	"github.com/shipshape-dev/shipshape/dr/restore"
	"github.com/shipshape-dev/shipshape/internal/errtext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChecksRefuseTrailingText: dr.md: "Unknown fields are refused, so a typo can't
// drop a check." A misplaced brace ends the JSON early: the rest, with its checks, must not
// be silently ignored.
func TestChecksRefuseTrailingText(t *testing.T) {
	for _, text := range []string{
		`{"MinTables": 40}, "MinRows": {"orders": 1000000}}`,
		`{"MinTables": 40} {"MinRows": {"orders": 1000000}}`,
		`{"MinTables": 40}garbage`,
	} {
		c, err := ParseChecks(text)
		assert.ErrorIs(t, err, dr.ErrInvalidInput, "%s was read as %+v", text, c)
	}
}

// TestRegionsRefuseTrailingTextAndZones: DR_REGIONS is JSON of regions; a region
// dropped by a misplaced brace would silently not be verified; an availability zone is not a
// region.
func TestRegionsRefuseTrailingTextAndZones(t *testing.T) {
	base := map[string]string{"DR_SOURCE_INSTANCE": "orders-db", "DR_INSTANCE_CLASS": "db.t4g.medium", "DR_DSN": "postgres://{host}/db"}
	for _, regions := range []string{
		`{"eu-west-1": {"SubnetGroup": "a", "SecurityGroups": ["sg-1"]}}, "eu-central-1": {"SubnetGroup": "b", "SecurityGroups": ["sg-2"]}}`,
		`{"eu-west-1a": {"SubnetGroup": "a", "SecurityGroups": ["sg-1"]}}`,
	} {
		env := map[string]string{"DR_REGIONS": regions}
		for k, v := range base {
			env[k] = v
		}
		s, err := StepSettingsFromEnv(func(k string) string { return env[k] })
		assert.ErrorIs(t, err, dr.ErrInvalidInput, "%s was read as %v", regions, s.RegionNames())
	}
}

// TestParseChecksErrorNamesThePackageOnce: a bad DR_CHECKS reads "dr: ...", like the
// library's own errors, so the Lambda reports it as it is.
func TestParseChecksErrorNamesThePackageOnce(t *testing.T) {
	_, err := ParseChecks(`{"MinTable":1}`)
	require.ErrorIs(t, err, dr.ErrInvalidInput)
	assert.True(t, strings.HasPrefix(err.Error(), "dr: "), err.Error())
	assert.Equal(t, 1, errtext.Count(" dr", " "+err.Error()), err.Error())
}

// TestSettingsRefuseUpperCaseIdentifiers: an identifier in the environment written in upper
// case (RDS stores it in lower case) is refused when the Lambda starts, before any call.
func TestSettingsRefuseUpperCaseIdentifiers(t *testing.T) {
	f := drtest.New(nil)
	for name, env := range map[string]map[string]string{
		"DR_SANITIZED_SNAPSHOT_ID": {"DR_SANITIZED_SNAPSHOT_ID": "shipshape-sanitized-Orders"},
		"DR_SOURCE_INSTANCE":       {"DR_SOURCE_INSTANCE": "Orders-db"},
	} {
		e := map[string]string{"DR_SOURCE_INSTANCE": "orders-db", "DR_INSTANCE_CLASS": "db.t4g.medium", "DR_DSN": "postgres://{host}/db", "DR_STATEMENTS": `["SELECT 1"]`}
		maps.Copy(e, env)
		s, err := SanitizeSettingsFromEnv(func(k string) string { return e[k] })
		if err == nil { // the Lambda's settings are checked when it starts
			_, err = restore.NewStepRunner(s, restore.StepClients{RDS: func(string) restore.SanitizerAPI { return f }}, true)
		}
		assert.ErrorIs(t, err, dr.ErrInvalidInput, name)
	}
	assert.Zero(t, f.Total())
}
