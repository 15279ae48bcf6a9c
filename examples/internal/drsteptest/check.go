// Package drsteptest checks, for the dr binaries' tests, that a state machine, its template
// and the Lambda's settings agree. It is apart from drstep so that the Lambdas do not link
// a YAML parser.
package drsteptest

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/shipshape-dev/shipshape/examples/internal/drstep"
)

// CheckTimeouts checks that a state machine and its template agree with MaxTimeout, for the
// binaries' tests: the Ready state retries NotReady for longer than drstep.MaxTimeout (so that the
// Lambda's TimedOut ends the wait, never the retry count), settings (the Lambda's settings
// with DR_TIMEOUT set to its argument) refuses a timeout over drstep.MaxTimeout, and the template's
// RestoreTimeout parameter allows its default and only durations that settings accepts. It
// returns the first disagreement.
func CheckTimeouts(stateMachinePath, templatePath string, settings func(timeout string) error) error {
	raw, err := os.ReadFile(stateMachinePath)
	if err != nil {
		return err
	}
	var m struct {
		States map[string]struct {
			Retry []struct {
				ErrorEquals     []string
				IntervalSeconds int
				MaxAttempts     int
			}
		}
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("%s: %w", stateMachinePath, err)
	}
	ready := m.States["Ready"].Retry
	if len(ready) == 0 || !slices.Equal(ready[0].ErrorEquals, []string{"NotReady"}) {
		return fmt.Errorf("%s: the Ready state's first retry is not for NotReady", stateMachinePath)
	}
	if budget := time.Duration(ready[0].MaxAttempts*ready[0].IntervalSeconds) * time.Second; budget < drstep.MaxTimeout+10*time.Minute {
		return fmt.Errorf("%s: Ready retries NotReady for %s, not longer than the longest DR_TIMEOUT (%s)", stateMachinePath, budget, drstep.MaxTimeout)
	}
	if settings((drstep.MaxTimeout + time.Second).String()) == nil {
		return fmt.Errorf("the Lambda accepts a DR_TIMEOUT over %s", drstep.MaxTimeout)
	}

	raw, err = os.ReadFile(templatePath)
	if err != nil {
		return err
	}
	var tmpl struct {
		Parameters map[string]struct {
			Default        string `yaml:"Default"`
			AllowedPattern string `yaml:"AllowedPattern"`
		} `yaml:"Parameters"`
	}
	if err := yaml.Unmarshal(raw, &tmpl); err != nil {
		return fmt.Errorf("%s: %w", templatePath, err)
	}
	param, ok := tmpl.Parameters["RestoreTimeout"]
	if !ok || param.AllowedPattern == "" {
		return fmt.Errorf("%s: no RestoreTimeout parameter with an AllowedPattern", templatePath)
	}
	allowed, err := regexp.Compile(param.AllowedPattern)
	if err != nil {
		return fmt.Errorf("%s: RestoreTimeout's AllowedPattern: %w", templatePath, err)
	}
	if !allowed.MatchString(param.Default) {
		return fmt.Errorf("%s: RestoreTimeout's default %q is not allowed by its own pattern", templatePath, param.Default)
	}
	for n := 0; n <= 1000; n++ {
		for _, unit := range []string{"h", "m", "s"} {
			v := fmt.Sprint(n, unit)
			if !allowed.MatchString(v) {
				continue
			}
			if d, err := time.ParseDuration(v); err != nil || d > drstep.MaxTimeout {
				return fmt.Errorf("%s: RestoreTimeout allows %s, over %s", templatePath, v, drstep.MaxTimeout)
			}
			if err := settings(v); err != nil {
				return fmt.Errorf("%s: RestoreTimeout allows %s, which the Lambda refuses: %w", templatePath, v, err)
			}
		}
	}
	return nil
}
