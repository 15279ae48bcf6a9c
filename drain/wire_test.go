package drain_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/drain"
	"github.com/shipshape-dev/shipshape/drain/draintest"
)

// wireClient is the real SDK client against a WireServer over fake. The Drainer sets its
// retryer on every call; the test's own direct calls are not retried.
func wireClient(t *testing.T, fake *draintest.ECS) (*ecs.Client, *draintest.WireServer) {
	srv := draintest.NewWireServer(fake)
	t.Cleanup(srv.Close)
	return ecs.New(ecs.Options{BaseEndpoint: aws.String(srv.URL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDWIRE", "wire", "")}), srv
}

func TestWireFilteredLookupAndErrors(t *testing.T) {
	c := newCluster(t)
	task := c.ecs.RunTask(c.arn, "web", 0)
	srv, client := c.srv, c.client
	d := c.drainer()

	in, err := d.Find(context.Background(), "i-00000001", "prod")
	require.NoError(t, err)
	assert.Equal(t, c.arn, in.ContainerInstanceARN)
	assert.Contains(t, srv.Requests()[0], `ListContainerInstances {"cluster":"prod","filter":"ec2InstanceId == i-00000001"}`, "the filter goes on the wire")

	c.ecs.Fail(draintest.OpDescribeTasks, draintest.APIError("ThrottlingException", "Rate exceeded"), 1)
	p, err := d.Step(context.Background(), in, nil)
	require.NoError(t, err, "a ThrottlingException body is recognised and retried")
	assert.Equal(t, 1, p.ByStatus["DEACTIVATING"], "task %s parsed from the wire", task)

	_, err = client.ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{Cluster: aws.String("nope")})
	var notFound *types.ClusterNotFoundException
	require.ErrorAs(t, err, &notFound)

	c.ecs.Fail(draintest.OpListTasks, &types.ClientException{Message: aws.String("bad request")}, 1)
	_, err = d.Step(context.Background(), in, nil)
	var clientErr *types.ClientException
	require.ErrorAs(t, err, &clientErr, "a ClientException is not retried and stays reachable")
}

// A cluster listed first that does not exist (ECS_CLUSTERS=old,prod after "old" was deleted)
// must not stop the lookup: the real client sees ClusterNotFoundException and Find goes on.
func TestWireFindSkipsAMissingCluster(t *testing.T) {
	c := newCluster(t)
	d := c.drainer()

	in, err := d.Find(context.Background(), "i-00000001", " old", "prod ")
	require.NoError(t, err)
	assert.Equal(t, "prod", in.Cluster)
	assert.Equal(t, c.arn, in.ContainerInstanceARN)

	_, err = d.Find(context.Background(), "i-00000001", "old", "older")
	require.ErrorIs(t, err, drain.ErrNotInCluster)
	assert.Contains(t, err.Error(), "cluster(s) not found: old, older")
}
