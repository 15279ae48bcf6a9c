package drtest

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"

	"github.com/shipshape-dev/shipshape/fakeapi"
)

// OpPublish is the SNS operation name for Fail and Calls.
const OpPublish = "Publish"

// Message is one message an SNS fake accepted.
type Message struct {
	TopicARN, Subject, Body string
}

// SNS is a fake of sns:Publish with SNS's rules: the topic must exist (NotFound), a subject
// is at most 100 printable ASCII characters without line breaks, a message at most 256 KiB
// (InvalidParameter). It is safe for concurrent use.
type SNS struct {
	fakeapi.Script

	mu       sync.Mutex
	topics   map[string]bool
	messages []Message
}

// NewSNS returns an SNS fake with the given topics.
func NewSNS(topicARNs ...string) *SNS {
	f := &SNS{}
	f.Reset()
	for _, t := range topicARNs {
		f.topics[t] = true
	}
	return f
}

// Reset forgets every topic, message, fault and recorded call.
func (f *SNS) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Script.Reset()
	f.topics, f.messages = map[string]bool{}, nil
}

// Messages returns the messages published so far.
func (f *SNS) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.messages...)
}

// Publish accepts a message for a known topic.
func (f *SNS) Publish(ctx context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	if err := fakeapi.Call(ctx, &f.Script, OpPublish, in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	topic, subject, body := aws.ToString(in.TopicArn), aws.ToString(in.Subject), aws.ToString(in.Message)
	switch {
	case !f.topics[topic]:
		return nil, &types.NotFoundException{Message: aws.String("Topic does not exist")}
	case body == "" || len(body) > 256*1024:
		return nil, &types.InvalidParameterException{Message: aws.String("Invalid parameter: Message")}
	case len(subject) > 100 || strings.ContainsAny(subject, "\r\n") || strings.IndexFunc(subject, func(r rune) bool { return r < 32 || r > 126 }) >= 0:
		return nil, &types.InvalidParameterException{Message: aws.String("Invalid parameter: Subject")}
	}
	f.messages = append(f.messages, Message{TopicARN: topic, Subject: subject, Body: body})
	return &sns.PublishOutput{MessageId: aws.String("msg-" + strconv.Itoa(len(f.messages)))}, nil
}

const snsNS = "http://sns.amazonaws.com/doc/2010-03-31/"

// SNSWireServer serves an SNS fake in SNS's own wire protocol (the query protocol: a
// form-encoded Action=Publish, an XML answer), for a real *sns.Client or a binary given
// AWS_ENDPOINT_URL_SNS=URL. Requests returns the Action of every request received, in order.
type SNSWireServer struct {
	*fakeapi.WireServer
	fake *SNS
}

// NewSNSWireServer starts an SNSWireServer in front of fake; Close it when done.
func NewSNSWireServer(fake *SNS) *SNSWireServer {
	w := &SNSWireServer{fake: fake}
	w.WireServer = fakeapi.NewWireServer(w.serve)
	w.Start()
	return w
}

// Client returns a real SDK client for the server (region us-east-1, static credentials).
func (w *SNSWireServer) Client(optFns ...func(*sns.Options)) *sns.Client {
	return sns.New(sns.Options{BaseEndpoint: aws.String(w.URL), Region: "us-east-1", HTTPClient: fakeapi.HTTPClient(),
		Credentials: fakeapi.Credentials()}, optFns...)
}

func (w *SNSWireServer) serve(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Content-Type", "text/xml")
	fail := func(status int, code, msg string) {
		rw.WriteHeader(status)
		fmt.Fprintf(rw, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>0</RequestId></ErrorResponse>`, snsNS, esc(code), esc(msg))
	}
	err := r.ParseForm()
	w.Record(r.PostForm.Get("Action"))
	if err != nil || r.PostForm.Get("Action") != "Publish" {
		fail(http.StatusBadRequest, "InvalidAction", "only Publish is served")
		return
	}
	in := &sns.PublishInput{TopicArn: formString(r, "TopicArn"), Subject: formString(r, "Subject"), Message: formString(r, "Message")}
	out, err := w.fake.Publish(r.Context(), in)
	if err != nil {
		var apiErr smithy.APIError
		if ok := asAPIError(err, &apiErr); ok {
			status := http.StatusBadRequest
			if apiErr.ErrorCode() == "NotFound" {
				status = http.StatusNotFound
			}
			fail(status, apiErr.ErrorCode(), apiErr.ErrorMessage())
			return
		}
		fail(http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	fmt.Fprintf(rw, `<PublishResponse xmlns="%s"><PublishResult><MessageId>%s</MessageId></PublishResult><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata></PublishResponse>`,
		snsNS, esc(aws.ToString(out.MessageId)))
}

func formString(r *http.Request, name string) *string {
	if _, ok := r.PostForm[name]; !ok {
		return nil
	}
	return aws.String(r.PostForm.Get(name))
}
