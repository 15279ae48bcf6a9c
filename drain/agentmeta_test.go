package drain_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/drain/draintest"
)

func TestReadAgentMetadata(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/metadata" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"Cluster":"prod","ContainerInstanceArn":"arn:aws:ecs:us-east-1:123456789012:container-instance/prod/abc","Version":"Amazon ECS Agent - v1.80.0"}`))
	}))
	defer srv.Close()
	md, err := drain.ReadAgentMetadata(context.Background(), srv.URL+"/v1/metadata")
	require.NoError(t, err)
	assert.Equal(t, "prod", md.Cluster)

	_, err = drain.ReadAgentMetadata(context.Background(), srv.URL+"/nope")
	require.ErrorContains(t, err, "HTTP 404")
	srv.Close()
	_, err = drain.ReadAgentMetadata(context.Background(), srv.URL+"/v1/metadata")
	require.ErrorContains(t, err, "give the cluster instead")
}

func TestPaginationOfTasks(t *testing.T) {
	c := newCluster(t)
	for range 150 {
		c.ecs.RunTask(c.arn, "web", time.Hour)
	}
	d := c.drainer()
	p, err := d.Step(context.Background(), c.instance(t, d), nil)
	require.NoError(t, err)
	assert.Equal(t, 150, p.ByStatus["RUNNING"], "every page of ListTasks was read")
	assert.Equal(t, 2, c.ecs.Calls(draintest.OpDescribeTasks), "150 tasks: two DescribeTasks of at most 100")
	assert.Equal(t, 2+1, c.ecs.Calls(draintest.OpListTasks), "two pages desired RUNNING, one desired STOPPED")
}
