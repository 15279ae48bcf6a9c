package lifecycletest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/smithy-go"

	"github.com/shipshape-dev/shipshape/fakeapi"
)

const xmlns = "http://autoscaling.amazonaws.com/doc/2011-01-01/"

// WireServer serves an AutoScaling fake over HTTP in Auto Scaling's own wire protocol (the
// AWS query protocol: form-encoded POSTs with Action=..., XML responses, errors as
// <ErrorResponse><Error><Code>...), so that a real *autoscaling.Client, or a binary given
// AWS_ENDPOINT_URL_AUTO_SCALING=URL, can be tested against it.
type WireServer struct {
	*fakeapi.WireServer
	fake *AutoScaling
}

// NewWireServer starts a WireServer in front of fake; Close it when done.
func NewWireServer(fake *AutoScaling) *WireServer {
	w := &WireServer{fake: fake}
	w.WireServer = fakeapi.NewWireServer(w.serve)
	w.Start()
	return w
}

// Actions returns the Action of every request received, in order.
func (w *WireServer) Actions() []string { return w.Requests() }

// members reads the list parameter name.member.N in order.
func members(r *http.Request, name string) []string {
	type kv struct {
		n int
		v string
	}
	var got []kv
	for k, vs := range r.PostForm {
		var n int
		if _, err := fmt.Sscanf(k, name+".member.%d", &n); err == nil && strings.HasPrefix(k, name+".member.") {
			got = append(got, kv{n, vs[0]})
		}
	}
	sort.Slice(got, func(i, j int) bool { return got[i].n < got[j].n })
	out := make([]string, len(got))
	for i, g := range got {
		out[i] = g.v
	}
	return out
}

func optional(r *http.Request, name string) *string {
	if v := r.PostForm.Get(name); v != "" {
		return aws.String(v)
	}
	return nil
}

func (w *WireServer) serve(rw http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		fakeapi.WriteQueryError(rw, http.StatusBadRequest, xmlns, "Sender", "InvalidRequest", "expected a form-encoded POST")
		return
	}
	action := r.PostForm.Get("Action")
	w.Record(action)
	ctx := context.Background()
	var result string
	var err error
	switch action {
	case "CompleteLifecycleAction":
		_, err = w.fake.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{
			AutoScalingGroupName: optional(r, "AutoScalingGroupName"), LifecycleHookName: optional(r, "LifecycleHookName"),
			LifecycleActionResult: optional(r, "LifecycleActionResult"), InstanceId: optional(r, "InstanceId"),
			LifecycleActionToken: optional(r, "LifecycleActionToken")})
	case "RecordLifecycleActionHeartbeat":
		_, err = w.fake.RecordLifecycleActionHeartbeat(ctx, &autoscaling.RecordLifecycleActionHeartbeatInput{
			AutoScalingGroupName: optional(r, "AutoScalingGroupName"), LifecycleHookName: optional(r, "LifecycleHookName"),
			InstanceId: optional(r, "InstanceId"), LifecycleActionToken: optional(r, "LifecycleActionToken")})
	case "DescribeLifecycleHooks":
		var out *autoscaling.DescribeLifecycleHooksOutput
		out, err = w.fake.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{
			AutoScalingGroupName: optional(r, "AutoScalingGroupName"), LifecycleHookNames: members(r, "LifecycleHookNames")})
		if err == nil {
			var b strings.Builder
			b.WriteString("<LifecycleHooks>")
			for _, h := range out.LifecycleHooks {
				fmt.Fprintf(&b, "<member><AutoScalingGroupName>%s</AutoScalingGroupName><LifecycleHookName>%s</LifecycleHookName>"+
					"<LifecycleTransition>%s</LifecycleTransition><HeartbeatTimeout>%d</HeartbeatTimeout><GlobalTimeout>%d</GlobalTimeout>"+
					"<DefaultResult>%s</DefaultResult></member>", esc(aws.ToString(h.AutoScalingGroupName)), esc(aws.ToString(h.LifecycleHookName)),
					esc(aws.ToString(h.LifecycleTransition)), aws.ToInt32(h.HeartbeatTimeout), aws.ToInt32(h.GlobalTimeout), esc(aws.ToString(h.DefaultResult)))
			}
			b.WriteString("</LifecycleHooks>")
			result = b.String()
		}
	case "DescribeAutoScalingInstances":
		var out *autoscaling.DescribeAutoScalingInstancesOutput
		out, err = w.fake.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: members(r, "InstanceIds")})
		if err == nil {
			var b strings.Builder
			b.WriteString("<AutoScalingInstances>")
			for _, in := range out.AutoScalingInstances {
				fmt.Fprintf(&b, "<member><InstanceId>%s</InstanceId><AutoScalingGroupName>%s</AutoScalingGroupName><AvailabilityZone>%s</AvailabilityZone>"+
					"<LifecycleState>%s</LifecycleState><HealthStatus>%s</HealthStatus><ProtectedFromScaleIn>%t</ProtectedFromScaleIn></member>",
					esc(aws.ToString(in.InstanceId)), esc(aws.ToString(in.AutoScalingGroupName)), esc(aws.ToString(in.AvailabilityZone)),
					esc(aws.ToString(in.LifecycleState)), esc(aws.ToString(in.HealthStatus)), aws.ToBool(in.ProtectedFromScaleIn))
			}
			b.WriteString("</AutoScalingInstances>")
			result = b.String()
		}
	case "TerminateInstanceInAutoScalingGroup":
		in := &autoscaling.TerminateInstanceInAutoScalingGroupInput{InstanceId: optional(r, "InstanceId")}
		if v := r.PostForm.Get("ShouldDecrementDesiredCapacity"); v != "" {
			in.ShouldDecrementDesiredCapacity = aws.Bool(v == "true")
		}
		var out *autoscaling.TerminateInstanceInAutoScalingGroupOutput
		out, err = w.fake.TerminateInstanceInAutoScalingGroup(ctx, in)
		if err == nil {
			a := out.Activity
			result = fmt.Sprintf("<Activity><ActivityId>%s</ActivityId><AutoScalingGroupName>%s</AutoScalingGroupName><Description>%s</Description>"+
				"<Cause>%s</Cause><StartTime>%s</StartTime><StatusCode>%s</StatusCode></Activity>", esc(aws.ToString(a.ActivityId)),
				esc(aws.ToString(a.AutoScalingGroupName)), esc(aws.ToString(a.Description)), esc(aws.ToString(a.Cause)),
				aws.ToTime(a.StartTime).UTC().Format("2006-01-02T15:04:05.000Z"), esc(string(a.StatusCode)))
		}
	case "SetInstanceProtection":
		in := &autoscaling.SetInstanceProtectionInput{AutoScalingGroupName: optional(r, "AutoScalingGroupName"), InstanceIds: members(r, "InstanceIds")}
		if v := r.PostForm.Get("ProtectedFromScaleIn"); v != "" {
			in.ProtectedFromScaleIn = aws.Bool(v == "true")
		}
		_, err = w.fake.SetInstanceProtection(ctx, in)
	default:
		fakeapi.WriteQueryError(rw, http.StatusBadRequest, xmlns, "Sender", "InvalidAction", "unsupported action "+action)
		return
	}
	if err != nil {
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) {
			fakeapi.WriteQueryError(rw, http.StatusInternalServerError, xmlns, "Receiver", "InternalFailure", err.Error())
			return
		}
		status, kind := http.StatusBadRequest, "Sender"
		if apiErr.ErrorFault() == smithy.FaultServer {
			status, kind = http.StatusServiceUnavailable, "Receiver"
		}
		fakeapi.WriteQueryError(rw, status, xmlns, kind, apiErr.ErrorCode(), apiErr.ErrorMessage())
		return
	}
	rw.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(rw, `<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></%sResponse>`,
		action, xmlns, action, result, action, action)
}

func esc(s string) string { return fakeapi.EscapeXML(s) }
