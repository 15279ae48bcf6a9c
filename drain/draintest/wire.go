package draintest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"

	"github.com/shipshape-dev/shipshape/fakeapi"
)

// WireServer serves an ECS fake over HTTP in ECS's own wire protocol (AWS JSON 1.1:
// X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation>, lowerCamelCase members,
// errors as {"__type": code, "message": ...}), so that a real *ecs.Client, or a binary given
// AWS_ENDPOINT_URL_ECS=URL, can be tested against it.
type WireServer struct {
	*fakeapi.WireServer
	fake *ECS
}

// NewWireServer starts a WireServer in front of fake; Close it when done.
func NewWireServer(fake *ECS) *WireServer {
	w := &WireServer{fake: fake}
	w.WireServer = fakeapi.NewWireServer(w.serve)
	w.Start()
	return w
}

// Requests returns "Operation body" for every request received, in order.
func (w *WireServer) Requests() []string { return w.WireServer.Requests() }

func call[In any, Out any](body []byte, fn func(context.Context, *In, ...func(*ecs.Options)) (*Out, error)) (any, error) {
	var in In
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &smithy.GenericAPIError{Code: "SerializationException", Message: err.Error()}
	}
	return fn(context.Background(), &in)
}

func (w *WireServer) serve(rw http.ResponseWriter, r *http.Request) {
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.")
	body, _ := io.ReadAll(r.Body)
	w.Record(op + " " + string(body))
	var out any
	var err error
	switch op {
	case OpListContainerInstances:
		out, err = call(body, w.fake.ListContainerInstances)
	case OpDescribeContainerInstances:
		out, err = call(body, w.fake.DescribeContainerInstances)
	case OpUpdateState:
		out, err = call(body, w.fake.UpdateContainerInstancesState)
	case OpListTasks:
		out, err = call(body, w.fake.ListTasks)
	case OpDescribeTasks:
		out, err = call(body, w.fake.DescribeTasks)
	case OpDescribeServices:
		out, err = call(body, w.fake.DescribeServices)
	case OpStopTask:
		out, err = call(body, w.fake.StopTask)
	default:
		err = &smithy.GenericAPIError{Code: "UnknownOperationException", Message: "unsupported " + op}
	}
	if err != nil {
		fakeapi.WriteJSONError(rw, err, "ServerException")
		return
	}
	rw.Header().Set("Content-Type", "application/x-amz-json-1.1")
	raw, _ := json.Marshal(out)
	var generic any
	_ = json.Unmarshal(raw, &generic)
	_ = json.NewEncoder(rw).Encode(lowerKeys(generic))
}

// lowerKeys turns the SDK's Go field names into ECS's lowerCamelCase member names.
func lowerKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			if k == "ResultMetadata" || x == nil {
				continue
			}
			r := []rune(k)
			r[0] = unicode.ToLower(r[0])
			out[string(r)] = lowerKeys(x)
		}
		return out
	case []any:
		for i := range t {
			t[i] = lowerKeys(t[i])
		}
	}
	return v
}
