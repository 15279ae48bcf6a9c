package imds

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors. Every error the package returns wraps one of these, or is one of the
// typed errors below (which say what they wrap through Unwrap or Is), so callers branch with
// errors.Is and errors.As.
var (
	// ErrDisabled: IMDS use is turned off (Options.Disabled or AWS_EC2_METADATA_DISABLED=true).
	ErrDisabled = errors.New("imds: instance metadata is disabled (AWS_EC2_METADATA_DISABLED or Options.Disabled)")

	// ErrUnreachable: no HTTP answer from the endpoint after every attempt. Off EC2 this is
	// what you get, in well under a second with the default options.
	ErrUnreachable = errors.New("imds: instance metadata service unreachable")

	// ErrHopLimit: the token request (PUT) got no answer while a plain GET to the same
	// endpoint did. This is what happens in a container when the instance's metadata
	// response hop limit is 1: the PUT's answer is dropped one hop short of the container.
	ErrHopLimit = errors.New("imds: token request timed out but metadata is reachable: " +
		"the hop limit is probably 1, raise it to 2 for containers " +
		"(aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2)")

	// ErrNotFound: IMDS answered 404 for a path. Optional paths (spot, rebalance, lifecycle
	// state) are reported as "none" by their typed readers instead.
	ErrNotFound = errors.New("imds: path not found")

	// ErrThrottled: IMDS kept answering 429 Too Many Requests after every retry.
	ErrThrottled = errors.New("imds: throttled by the instance metadata service (429)")

	// ErrTokenRefused: IMDS refused to issue a session token (403): the metadata endpoint
	// or IMDSv2 is turned off for this instance.
	ErrTokenRefused = errors.New("imds: the instance metadata service refused a session token (403): " +
		"is the metadata endpoint enabled for this instance (HttpEndpoint=enabled)?")

	// ErrMalformed: a body did not have the shape IMDS gives that path (HTML from a proxy,
	// broken JSON, missing fields, several lines where one is expected).
	ErrMalformed = errors.New("imds: malformed response")

	// ErrBodyTooLarge: a body exceeded Options.MaxBodyBytes.
	ErrBodyTooLarge = errors.New("imds: response body too large")

	// ErrNoRole: no IAM role is attached to the instance (no instance profile).
	ErrNoRole = errors.New("imds: no IAM role is attached to this instance: attach an instance profile with a role")

	// ErrTagsNotEnabled: instance tags are not exposed in instance metadata.
	ErrTagsNotEnabled = errors.New("imds: instance tags are not available in instance metadata: enable them with " +
		"`aws ec2 modify-instance-metadata-options --instance-metadata-tags enabled` or in the launch template")

	// ErrCredentialsExpired: IMDS handed back credentials whose Expiration has passed and
	// there were no earlier valid credentials to keep serving.
	ErrCredentialsExpired = errors.New("imds: instance metadata returned credentials that are already expired")
)

// ResponseError is an unexpected HTTP status from IMDS. It matches ErrNotFound (404),
// ErrThrottled (429) and ErrTokenRefused (403 on the token request) with errors.Is.
type ResponseError struct {
	Method     string
	Path       string
	StatusCode int
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("imds: %s %s: HTTP %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
}

// Is reports whether the status means one of the package's sentinels.
func (e *ResponseError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrThrottled:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrTokenRefused:
		return e.StatusCode == http.StatusForbidden && e.Path == tokenPath
	}
	return false
}

// MalformedError says which path gave a body of the wrong shape and why. It never quotes
// a credentials body; for other paths it may quote a short, sanitised start of the body.
type MalformedError struct {
	Path   string
	Reason string
}

func (e *MalformedError) Error() string {
	return fmt.Sprintf("imds: malformed response from %s: %s", e.Path, e.Reason)
}

// Unwrap makes errors.Is(err, ErrMalformed) true.
func (e *MalformedError) Unwrap() error { return ErrMalformed }

// CredentialsCodeError is a credentials document whose Code is not "Success".
type CredentialsCodeError struct {
	Role string
	Code string
	// Message is IMDS's own explanation, when it gave one.
	Message string
}

func (e *CredentialsCodeError) Error() string {
	msg := fmt.Sprintf("imds: credentials for role %q have Code %q, not \"Success\"", e.Role, e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg + " (the instance profile's role may be missing or not assumable by EC2)"
}

// RoleListError is a role list with more than one line. EC2 attaches at most one role to an
// instance profile, so several names mean something other than IMDS answered, or IMDS
// changed; rather than guess (the AWS SDKs take the first line), the package refuses and
// asks for the role to be named.
type RoleListError struct {
	Roles []string
}

func (e *RoleListError) Error() string {
	return fmt.Sprintf("imds: the role list has %d names (%s) where EC2 gives one: "+
		"name the role explicitly (ProviderOptions.RoleName or -role)", len(e.Roles), strings.Join(e.Roles, ", "))
}

// Unwrap makes errors.Is(err, ErrMalformed) true.
func (e *RoleListError) Unwrap() error { return ErrMalformed }

// snippet returns a short, printable start of body for error messages.
func snippet(body []byte) string {
	const max = 40
	s := strings.TrimSpace(string(body))
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return ' '
		}
		return r
	}, s)
}

// notJSON explains a body that should have been JSON.
func notJSON(body []byte) string {
	t := strings.TrimSpace(string(body))
	switch {
	case t == "":
		return "empty body where JSON was expected"
	case strings.HasPrefix(t, "<"):
		return "HTML or XML where JSON was expected: something other than IMDS answered " +
			"(a proxy? set NO_PROXY=169.254.169.254,fd00:ec2::254)"
	default:
		return "not JSON"
	}
}
