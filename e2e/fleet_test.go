package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipshape-dev/shipshape/internal/testbed"
)

// fleet is an ECS cluster on moto with two registered EC2 instances; the first runs tasks.
type fleet struct {
	ecs        *ecs.Client
	cluster    string
	busy, idle string // EC2 instance ids
}

func newFleet(t *testing.T, ep testbed.AWSEndpoint) fleet {
	t.Helper()
	ctx := context.Background()
	cfg := ep.Config()
	ids := runInstances(t, ep, 2)
	run := struct{ busy, idle string }{ids[0], ids[1]}
	f := fleet{ecs: ecs.NewFromConfig(cfg), cluster: unique("prod"), busy: run.busy, idle: run.idle}
	_, err := f.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(f.cluster)})
	require.NoError(t, err)
	for _, id := range []string{f.busy, f.idle} {
		doc := fmt.Sprintf(`{"instanceId":%q,"region":%q,"accountId":%q,"availabilityZone":"%sa","instanceType":"t2.micro"}`, id, cfg.Region, testbed.DefaultAccount, cfg.Region)
		_, err := f.ecs.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String(f.cluster), InstanceIdentityDocument: aws.String(doc)})
		require.NoError(t, err)
	}
	return f
}

// status is what ECS says of the container instance on EC2 instance id.
// runInstances starts n EC2 instances on moto with the AWS CLI (the project has no EC2 SDK
// client of its own) and returns their ids.
func runInstances(t *testing.T, ep testbed.AWSEndpoint, n int) []string {
	t.Helper()
	env := ep.Env(ep.Region, aws.Credentials{})
	img := run(t, env, "", testbed.AWSCLI(t), "ec2", "describe-images", "--query", "Images[0].ImageId", "--output", "text")
	require.Zero(t, img.code, "%s", img)
	out := run(t, env, "", testbed.AWSCLI(t), "ec2", "run-instances", "--image-id", strings.TrimSpace(img.stdout), "--count", fmt.Sprint(n),
		"--query", "Instances[].InstanceId", "--output", "text")
	require.Zero(t, out.code, "%s", out)
	ids := strings.Fields(out.stdout)
	require.Len(t, ids, n)
	return ids
}

func (f fleet) status(t *testing.T, id string) string {
	t.Helper()
	list, err := f.ecs.ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{Cluster: aws.String(f.cluster)})
	require.NoError(t, err)
	out, err := f.ecs.DescribeContainerInstances(context.Background(), &ecs.DescribeContainerInstancesInput{Cluster: aws.String(f.cluster), ContainerInstances: list.ContainerInstanceArns})
	require.NoError(t, err)
	for _, ci := range out.ContainerInstances {
		if aws.ToString(ci.Ec2InstanceId) == id {
			return aws.ToString(ci.Status)
		}
	}
	t.Fatalf("no container instance on %s", id)
	return ""
}

// TestECSDrainAgainstMoto: moto's ListContainerInstances ignores its ec2InstanceId filter and
// answers every instance of the cluster, the fault that once drained the wrong instance: the
// binary must drain exactly the one asked for. moto has no scheduler (tasks never stop) and
// answers task cpu/memory as numbers the Go SDK cannot read, so the drain of an instance
// with tasks is shown by the fakes (drain's tests); here the instance has none.
func TestECSDrainAgainstMoto(t *testing.T) {
	ep := testbed.AWS(t)
	f := newFleet(t, ep)
	r := run(t, ep.Env(ep.Region, aws.Credentials{}), "", binary(t, "ecs-drain"), "-cluster", f.cluster, "-instance", f.idle, "-timeout", "1m", "-interval", "1s")
	require.Zero(t, r.code, "%s", r)
	assert.Equal(t, "DRAINING", f.status(t, f.idle))
	assert.Equal(t, "ACTIVE", f.status(t, f.busy), "the other instance, which moto's listing also named, is untouched")
}

// TestDrainLambdaAgainstMoto: the Lambda, under the emulator, drains the instance a Spot
// interruption warning names, and no other. Termination hooks are not shown here: moto has no
// CompleteLifecycleAction (docs/TESTING.md); drain's tests and the lifecycle wire server show
// them.
func TestDrainLambdaAgainstMoto(t *testing.T) {
	ep := testbed.AWS(t)
	f := newFleet(t, ep)
	fn := testbed.StartLambda(t, "../examples/drain-lambda", append(ep.Env(ep.Region, aws.Credentials{}), "ECS_CLUSTERS="+f.cluster)...)
	ev := fmt.Sprintf(`{"version":"0","id":"e2e","detail-type":"EC2 Spot Instance Interruption Warning","source":"aws.ec2","account":%q,"time":%q,"region":%q,
		"resources":["arn:aws:ec2:%s:%s:instance/%s"],"detail":{"instance-id":%q,"instance-action":"terminate"}}`,
		testbed.DefaultAccount, time.Now().UTC().Format(time.RFC3339), ep.Region, ep.Region, testbed.DefaultAccount, f.idle, f.idle)
	fn.Invoke(t, []byte(ev))
	assert.Equal(t, "DRAINING", f.status(t, f.idle), "logs:\n%s", fn.Logs())
	assert.Equal(t, "ACTIVE", f.status(t, f.busy))
}

// TestLifecycleGateAgainstMoto: with instance metadata disabled, lifecycle-gate finds the
// group through moto's Auto Scaling (DescribeAutoScalingInstances), probes the application,
// and completes the hook with CONTINUE. moto has no CompleteLifecycleAction (an HTTP 500): the
// proxy answers it as Auto Scaling documents and the test reads what the binary asked for.
func TestLifecycleGateAgainstMoto(t *testing.T) {
	ep := testbed.AWS(t)
	ctx := context.Background()
	cfg := ep.Config()
	img := run(t, ep.Env(ep.Region, aws.Credentials{}), "", testbed.AWSCLI(t), "ec2", "describe-images", "--query", "Images[0].ImageId", "--output", "text")
	require.Zero(t, img.code, "%s", img)
	asg := autoscaling.NewFromConfig(cfg)
	group, lc := unique("web"), unique("lc")
	_, err := asg.CreateLaunchConfiguration(ctx, &autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String(lc),
		ImageId: aws.String(strings.TrimSpace(img.stdout)), InstanceType: aws.String("t2.micro")})
	require.NoError(t, err)
	_, err = asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(group),
		LaunchConfigurationName: aws.String(lc), MinSize: aws.Int32(1), MaxSize: aws.Int32(1), AvailabilityZones: []string{ep.Region + "a"}})
	require.NoError(t, err)
	_, err = asg.PutLifecycleHook(ctx, &autoscaling.PutLifecycleHookInput{AutoScalingGroupName: aws.String(group), LifecycleHookName: aws.String("ready"),
		LifecycleTransition: aws.String("autoscaling:EC2_INSTANCE_LAUNCHING"), HeartbeatTimeout: aws.Int32(600), DefaultResult: aws.String("ABANDON")})
	require.NoError(t, err)
	insts, err := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	require.NoError(t, err)
	require.Len(t, insts.AutoScalingGroups[0].Instances, 1)
	instance := aws.ToString(insts.AutoScalingGroups[0].Instances[0].InstanceId)

	proxy := testbed.NewAWSProxy(t, ep.URL)
	proxy.Answer("CompleteLifecycleAction", `<CompleteLifecycleActionResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><CompleteLifecycleActionResult/><ResponseMetadata><RequestId>testbed-proxy</RequestId></ResponseMetadata></CompleteLifecycleActionResponse>`)
	proxy.Answer("RecordLifecycleActionHeartbeat", `<RecordLifecycleActionHeartbeatResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><RecordLifecycleActionHeartbeatResult/><ResponseMetadata><RequestId>testbed-proxy</RequestId></ResponseMetadata></RecordLifecycleActionHeartbeatResponse>`)
	r := run(t, ep.WithURL(proxy.URL).Env(ep.Region, aws.Credentials{}), "", binary(t, "lifecycle-gate"),
		"-instance-id", instance, "-cmd", "true", "-timeout", "1m", "-interval", "1s", "-healthy-threshold", "2")
	require.Zero(t, r.code, "%s\nops: %v", r, proxy.Ops())
	assert.NotZero(t, proxy.Calls("DescribeAutoScalingInstances"), "the group came from Auto Scaling: %v", proxy.Ops())
	done := proxy.Forms("CompleteLifecycleAction")
	require.Len(t, done, 1)
	assert.Equal(t, "CONTINUE", done[0].Get("LifecycleActionResult"))
	assert.Equal(t, instance, done[0].Get("InstanceId"))
	assert.Equal(t, group, done[0].Get("AutoScalingGroupName"))
	assert.Equal(t, "ready", done[0].Get("LifecycleHookName"))
}

// TestIMDSCredsAgainstTwoMetadataServers: moto also serves instance metadata, but its
// credentials lack "Code": "Success", which real IMDS always sends and which the AWS SDK for
// Go's own ec2rolecreds requires too: imdscreds refuses them, naming the code (docs/TESTING.md).
// Against amazon-ec2-metadata-mock it serves the credentials, and the AWS CLI, given
// imdscreds as its credential_process, calls moto with them.
func TestIMDSCredsAgainstTwoMetadataServers(t *testing.T) {
	ep := testbed.AWS(t)
	r := run(t, []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + ep.URL + "/", "AWS_REGION=" + ep.Region}, "", binary(t, "imdscreds"))
	assert.Equal(t, 1, r.code, "%s", r)
	assert.Contains(t, r.stderr, `Code ""`)

	mock := testbed.IMDSMock(t)
	r = run(t, []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + mock.URL + "/", "AWS_REGION=" + ep.Region}, "", binary(t, "imdscreds"))
	require.Zero(t, r.code, "%s", r)
	var out struct {
		Version     int
		AccessKeyID string `json:"AccessKeyId"`
		Expiration  string
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out), "%s", r)
	assert.Equal(t, 1, out.Version)
	assert.Equal(t, mock.AccessKeyID, out.AccessKeyID)

	home := t.TempDir()
	config := filepath.Join(home, "config")
	require.NoError(t, os.WriteFile(config, []byte(fmt.Sprintf("[profile imds]\ncredential_process = %s\nregion = %s\n", binary(t, "imdscreds"), ep.Region)), 0o600))
	cli := run(t, []string{"AWS_CONFIG_FILE=" + config, "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PROFILE=imds",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + mock.URL + "/", "AWS_ENDPOINT_URL=" + ep.URL}, "", testbed.AWSCLI(t), "sts", "get-caller-identity")
	require.Zero(t, cli.code, "%s", cli)
	assert.Contains(t, cli.stdout, testbed.DefaultAccount)
}

// TestDRRecoveryAgainstMoto: in the recovery account the Lambda applies retention to its own
// copies. moto neither lists nor copies snapshots another account shared (IncludeShared is
// ignored), so the copy itself is shown by dr's fakes and wire server (docs/TESTING.md); here
// the run finds nothing shared and trims what it made before.
func TestDRRecoveryAgainstMoto(t *testing.T) {
	ep := testbed.AWS(t)
	cfg, creds := ep.Account(t, recoveryAccount, "shipshape-recovery", ep.Region)
	c := rdsClient(cfg)
	key := customerKey(t, cfg)
	db := unique("orders")
	recoveryCopies(t, ep, c, key, db, testbed.DefaultAccount, testbed.DefaultAccount)
	proxy := testbed.NewAWSProxy(t, ep.URL)
	accountQuotas(proxy, 10, 100)
	fn := testbed.StartLambda(t, "../examples/dr-recovery", append(ep.WithURL(proxy.URL).Env(ep.Region, creds),
		"DR_SOURCE_ACCOUNTS="+testbed.DefaultAccount, "DR_SOURCE_REGION="+ep.Region, "DR_KMS_KEY_ID="+key, "DR_KEEP=1")...)
	fn.Invoke(t, scheduleEvent(ep.Region))
	left := drSnapshots(t, c, "shipshape-dr-"+db)
	assert.Len(t, left, 1, "DR_KEEP=1 keeps the newest copy\n%s", fn.Logs())
	for id := range left {
		assert.True(t, strings.Contains(id, "202612020300"), "the newest (by original time, then id) stays: %s", id)
	}
	// The recovery point's age reaches CloudWatch as an embedded metric format line on the
	// function's output (the template's RPO alarm reads it).
	var emf map[string]any
	for _, line := range strings.Split(fn.Logs(), "\n") {
		if strings.Contains(line, `"_aws"`) && strings.Contains(line, `"Database":"instance/`+db+`@`) {
			require.NoError(t, json.Unmarshal([]byte(line), &emf), line)
		}
	}
	require.NotNil(t, emf, "no RecoveryPointAgeSeconds line for %s\n%s", db, fn.Logs())
	assert.Contains(t, emf, "RecoveryPointAgeSeconds")
	assert.Equal(t, "shipshape/dr", emf["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Namespace"])
}
