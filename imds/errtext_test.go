package imds_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/imds"
	"github.com/shipshape-dev/shipshape/imds/imdstest"
	"github.com/shipshape-dev/shipshape/internal/errtext"
)

// TestErrorsNameThePackageOnce: each failure reads "imds: ...", naming the package once
// and first.
func TestErrorsNameThePackageOnce(t *testing.T) {
	ctx := context.Background()
	cases := map[string]func(b *bed) error{
		"unreachable": func(b *bed) error {
			b.srv.Close()
			_, err := b.client.InstanceID(ctx)
			return err
		},
		"hop limit": func(b *bed) error {
			b.srv.AddFault(imdstest.Fault{Method: http.MethodPut, Path: tokenPath, Drop: true})
			_, err := b.client.InstanceID(ctx)
			return err
		},
		"token refused": func(b *bed) error {
			b.srv.AddFault(imdstest.Fault{Method: http.MethodPut, Path: tokenPath, Status: http.StatusForbidden})
			_, err := b.client.InstanceID(ctx)
			return err
		},
		"token rejected": func(b *bed) error {
			b.srv.AddFault(imdstest.Fault{Method: http.MethodPut, Path: tokenPath, Status: http.StatusBadRequest})
			_, err := b.client.InstanceID(ctx)
			return err
		},
		"throttled": func(b *bed) error {
			b.srv.AddFault(imdstest.Fault{Method: http.MethodGet, Status: http.StatusTooManyRequests})
			_, err := b.client.InstanceID(ctx)
			return err
		},
		"malformed": func(b *bed) error {
			b.srv.SetBody("/latest/meta-data/instance-id", http.StatusOK, "<html>proxy</html>")
			_, err := b.client.InstanceID(ctx)
			return err
		},
		"no such role": func(b *bed) error {
			_, err := b.client.Credentials(ctx, "not-the-role")
			return err
		},
		"bad role name": func(b *bed) error {
			_, err := b.client.Credentials(ctx, "a/b")
			return err
		},
		"provider, never valid": func(b *bed) error {
			b.srv.SetCredentials(imds.Credentials{AccessKeyID: "A", SecretAccessKey: "S", Token: "T", Expiration: b.clock.Now().Add(-time.Hour)})
			p, err := imds.NewCredentialsProvider(b.client)
			require.NoError(t, err)
			_, err = p.Retrieve(ctx)
			return err
		},
		"provider, unreachable": func(b *bed) error {
			b.srv.Close()
			p, err := imds.NewCredentialsProvider(b.client)
			require.NoError(t, err)
			_, err = p.Retrieve(ctx)
			return err
		},
	}
	for name, produce := range cases {
		t.Run(name, func(t *testing.T) {
			err := produce(newBed(t, func(o *imds.Options) { o.AttemptTimeout = 100 * time.Millisecond }))
			require.Error(t, err)
			msg := err.Error()
			assert.Equal(t, 1, errtext.Count("imds", msg), "%s", msg)
			assert.True(t, strings.HasPrefix(msg, "imds: "), "%s", msg)
		})
	}
}
