package awserr

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

func TestCodes(t *testing.T) {
	throttled := fmt.Errorf("wrapped: %w", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"})
	server := &smithy.GenericAPIError{Code: "ServerException", Fault: smithy.FaultServer}
	missing := &smithy.GenericAPIError{Code: "DBSnapshotNotFound"}
	for _, c := range []struct {
		name                      string
		err                       error
		code                      string
		throttling, srv, notFound bool
	}{
		{"throttled", throttled, "ThrottlingException", true, false, false},
		{"server", server, "ServerException", false, true, false},
		{"not found", missing, "DBSnapshotNotFound", false, false, true},
		{"no such key", &smithy.GenericAPIError{Code: "NoSuchKey"}, "NoSuchKey", false, false, true},
		{"transport", context.DeadlineExceeded, "", false, false, false},
		{"nil", nil, "", false, false, false},
	} {
		if got := Code(c.err); got != c.code {
			t.Errorf("%s: Code = %q, want %q", c.name, got, c.code)
		}
		if Throttling(c.err) != c.throttling || Server(c.err) != c.srv || NotFound(c.err) != c.notFound {
			t.Errorf("%s: Throttling/Server/NotFound = %v/%v/%v", c.name, Throttling(c.err), Server(c.err), NotFound(c.err))
		}
	}
	if Message(throttled) != "Rate exceeded" || !Is(throttled, "Nope", "ThrottlingException") || Is(nil, "") {
		t.Error("Message/Is")
	}
	for code, want := range map[string]bool{"SlowDown": true, "InternalError": true, "AccessDenied": false, "": false} {
		if Retryable(code) != want {
			t.Errorf("Retryable(%q) = %v", code, !want)
		}
	}
}
