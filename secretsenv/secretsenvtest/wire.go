package secretsenvtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/shipshape-dev/shipshape/fakeapi"
)

// WireServer serves a SecretsManager fake over HTTP in Secrets Manager's own wire protocol
// (AWS JSON 1.1: POST /, X-Amz-Target: secretsmanager.<Operation>, JSON bodies, errors as
// {"__type": code, "message": ...}), so that a real *secretsmanager.Client, or a binary
// given AWS_ENDPOINT_URL_SECRETS_MANAGER=URL, can be tested against it.
type WireServer struct {
	*fakeapi.WireServer
	fake *SecretsManager
}

// NewWireServer starts a WireServer in front of fake; Close it when done.
func NewWireServer(fake *SecretsManager) *WireServer {
	w := &WireServer{fake: fake}
	w.WireServer = fakeapi.NewWireServer(w.serve)
	w.Start()
	return w
}

// Targets returns the X-Amz-Target of every request received, in order.
func (w *WireServer) Targets() []string { return w.Requests() }

type wireSecretValue struct {
	ARN           string   `json:"ARN,omitempty"`
	Name          string   `json:"Name,omitempty"`
	VersionId     string   `json:"VersionId,omitempty"`
	SecretString  *string  `json:"SecretString,omitempty"`
	SecretBinary  []byte   `json:"SecretBinary,omitempty"` // base64 in JSON, as the service sends it
	VersionStages []string `json:"VersionStages,omitempty"`
	CreatedDate   float64  `json:"CreatedDate,omitempty"`
}

func (w *WireServer) serve(rw http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	w.Record(target)
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		writeError(rw, http.StatusBadRequest, "SerializationException", "expected POST with application/x-amz-json-1.1")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(rw, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	ctx := context.Background()
	switch target {
	case "secretsmanager.GetSecretValue":
		var in struct{ SecretId, VersionId, VersionStage string }
		if err := json.Unmarshal(body, &in); err != nil {
			writeError(rw, http.StatusBadRequest, "SerializationException", err.Error())
			return
		}
		gin := &secretsmanager.GetSecretValueInput{SecretId: aws.String(in.SecretId)}
		if in.VersionId != "" {
			gin.VersionId = aws.String(in.VersionId)
		}
		if in.VersionStage != "" {
			gin.VersionStage = aws.String(in.VersionStage)
		}
		out, err := w.fake.GetSecretValue(ctx, gin)
		if err != nil {
			writeAPIError(rw, err)
			return
		}
		writeJSON(rw, wireSecretValue{ARN: aws.ToString(out.ARN), Name: aws.ToString(out.Name), VersionId: aws.ToString(out.VersionId),
			SecretString: out.SecretString, SecretBinary: out.SecretBinary, VersionStages: out.VersionStages,
			CreatedDate: float64(aws.ToTime(out.CreatedDate).Unix())})
	case "secretsmanager.BatchGetSecretValue":
		var in struct {
			SecretIdList []string
			NextToken    string
		}
		if err := json.Unmarshal(body, &in); err != nil {
			writeError(rw, http.StatusBadRequest, "SerializationException", err.Error())
			return
		}
		out, err := w.fake.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: in.SecretIdList})
		if err != nil {
			writeAPIError(rw, err)
			return
		}
		type wireError struct{ SecretId, ErrorCode, Message string }
		resp := struct {
			SecretValues []wireSecretValue
			Errors       []wireError
		}{SecretValues: []wireSecretValue{}, Errors: []wireError{}}
		for _, v := range out.SecretValues {
			resp.SecretValues = append(resp.SecretValues, wireSecretValue{ARN: aws.ToString(v.ARN), Name: aws.ToString(v.Name),
				VersionId: aws.ToString(v.VersionId), SecretString: v.SecretString, SecretBinary: v.SecretBinary, VersionStages: v.VersionStages})
		}
		for _, e := range out.Errors {
			resp.Errors = append(resp.Errors, wireError{aws.ToString(e.SecretId), aws.ToString(e.ErrorCode), aws.ToString(e.Message)})
		}
		writeJSON(rw, resp)
	case "secretsmanager.DescribeSecret":
		var in struct{ SecretId string }
		if err := json.Unmarshal(body, &in); err != nil {
			writeError(rw, http.StatusBadRequest, "SerializationException", err.Error())
			return
		}
		out, err := w.fake.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(in.SecretId)})
		if err != nil {
			writeAPIError(rw, err)
			return
		}
		writeJSON(rw, struct {
			ARN, Name          string
			VersionIdsToStages map[string][]string
			LastChangedDate    float64
		}{aws.ToString(out.ARN), aws.ToString(out.Name), out.VersionIdsToStages, float64(aws.ToTime(out.LastChangedDate).Unix())})
	case "secretsmanager.ListSecrets":
		var in struct {
			Filters []struct {
				Key    string
				Values []string
			}
			MaxResults int32
			NextToken  string
		}
		if err := json.Unmarshal(body, &in); err != nil {
			writeError(rw, http.StatusBadRequest, "SerializationException", err.Error())
			return
		}
		lin := &secretsmanager.ListSecretsInput{}
		if in.MaxResults != 0 {
			lin.MaxResults = aws.Int32(in.MaxResults)
		}
		if in.NextToken != "" {
			lin.NextToken = aws.String(in.NextToken)
		}
		for _, f := range in.Filters {
			lin.Filters = append(lin.Filters, smtypes.Filter{Key: smtypes.FilterNameStringType(f.Key), Values: f.Values})
		}
		out, err := w.fake.ListSecrets(ctx, lin)
		if err != nil {
			writeAPIError(rw, err)
			return
		}
		type entry struct {
			ARN, Name              string
			SecretVersionsToStages map[string][]string
			LastChangedDate        float64
		}
		resp := struct {
			SecretList []entry
			NextToken  string `json:"NextToken,omitempty"`
		}{SecretList: []entry{}, NextToken: aws.ToString(out.NextToken)}
		for _, e := range out.SecretList {
			resp.SecretList = append(resp.SecretList, entry{aws.ToString(e.ARN), aws.ToString(e.Name), e.SecretVersionsToStages,
				float64(aws.ToTime(e.LastChangedDate).Unix())})
		}
		writeJSON(rw, resp)
	default:
		writeError(rw, http.StatusBadRequest, "UnknownOperationException", "unsupported target "+target)
	}
}

func writeJSON(rw http.ResponseWriter, v any) {
	rw.Header().Set("Content-Type", "application/x-amz-json-1.1")
	rw.Header().Set("X-Amzn-RequestId", "00000000-0000-0000-0000-000000000000")
	_ = json.NewEncoder(rw).Encode(v)
}

func writeAPIError(rw http.ResponseWriter, err error) {
	fakeapi.WriteJSONError(rw, err, "InternalServiceError")
}

func writeError(rw http.ResponseWriter, status int, code, message string) {
	fakeapi.WriteJSONErrorCode(rw, status, code, message)
}
