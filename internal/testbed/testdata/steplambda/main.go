// Command steplambda is a Lambda function for the state machine runner's own test: it
// echoes its input and, when the input says "fail": TYPE, fails with that error type the
// first "times" calls that ask for it (every call when times is 0).
package main

import (
	"context"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
)

func main() {
	calls := map[string]int{}
	lambda.Start(func(_ context.Context, in map[string]any) (map[string]any, error) {
		kind, _ := in["fail"].(string)
		calls[kind]++
		times, _ := in["times"].(float64)
		if kind != "" && (times == 0 || calls[kind] <= int(times)) {
			// The runtime reports Type as the errorType, as the dr steps do.
			return nil, messages.InvokeResponse_Error{Type: kind, Message: "failing as asked, call " + strconv.Itoa(calls[kind])}
		}
		return map[string]any{"echo": in, "calls": calls[kind]}, nil
	})
}
