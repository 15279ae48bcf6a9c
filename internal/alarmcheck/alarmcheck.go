// Package alarmcheck holds the rule that every template of the project (examples/*/template.yaml)
// tells someone when its stack fails:
//
//   - every function has a CloudWatch alarm on its AWS/Lambda Errors, except a function that
//     only a state machine of the template invokes (its errors are the state machine's polling
//     and retries: dr's NotReady is a Lambda error each minute of a restore), whose state
//     machine has an alarm on its AWS/States ExecutionsFailed instead, as every state machine
//     must;
//   - every function invoked asynchronously (S3, SNS, EventBridge, schedules) has a failure
//     destination: an SQS dead-letter queue (DeadLetterQueue) or an OnFailure destination
//     (EventInvokeConfig) on a queue of the template, and an alarm on that queue's
//     ApproximateNumberOfMessagesVisible; a function fed by an SQS queue has the alarm on that
//     queue's dead-letter queue (RedrivePolicy);
//   - every alarm notifies the AlarmTopicArn parameter (empty by default: no notification):
//     AlarmActions is !If [<condition>, [!Ref AlarmTopicArn], !Ref AWS::NoValue] with a
//     condition that AlarmTopicArn is not empty.
//
// Its tests parse every template and show with templates missing each piece that the check
// can fail. It imports no capability package.
package alarmcheck

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/shipshape-dev/shipshape/internal/yamlnode"
)

// TopicParameter is the parameter every template's alarms notify.
const TopicParameter = "AlarmTopicArn"

// asyncEvents are the SAM event source types that invoke a function asynchronously.
var asyncEvents = map[string]bool{
	"S3": true, "SNS": true, "EventBridgeRule": true, "CloudWatchEvent": true, "Schedule": true,
	"ScheduleV2": true, "CloudWatchLogs": true, "IoTRule": true, "AlexaSkill": true, "Cognito": true,
}

// Alarm is one AWS::CloudWatch::Alarm of a template, as far as the rule reads it.
type Alarm struct {
	Logical string
	Metrics []Metric // the metric, or every metric of a metric math alarm
	Node    *yaml.Node
}

// Metric is a metric an alarm reads: namespace, name and its dimensions (name to the value's
// text: "!Ref X", "!GetAtt X.Y" or the literal).
type Metric struct {
	Namespace, Name string
	Dimensions      map[string]string
}

// reads reports whether a reads the metric namespace/name with exactly the dimensions dims.
func (a Alarm) reads(namespace, name string, dims map[string]string) bool {
	for _, m := range a.Metrics {
		if m.Namespace != namespace || m.Name != name || len(m.Dimensions) != len(dims) {
			continue
		}
		ok := true
		for k, v := range dims {
			if m.Dimensions[k] != v {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Check returns what is wrong with the template raw (name in messages), sorted.
func Check(name string, raw []byte) ([]string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	top := yamlnode.Root(&doc)
	resources := yamlnode.Field(top, "Resources")
	if resources == nil {
		return nil, fmt.Errorf("%s: no Resources", name)
	}
	var bad []string
	bad = append(bad, topicParameter(name, top)...)
	alarms := alarmsOf(resources)
	machinesInvoking := map[string][]string{} // function -> state machines that invoke it
	for i := 0; i+1 < len(resources.Content); i += 2 {
		logical, res := resources.Content[i].Value, resources.Content[i+1]
		if yamlnode.Scalar(yamlnode.Field(res, "Type")) != "AWS::Serverless::StateMachine" {
			continue
		}
		for _, fn := range referenced(yamlnode.Field(yamlnode.Field(res, "Properties"), "DefinitionSubstitutions")) {
			machinesInvoking[fn] = append(machinesInvoking[fn], logical)
		}
		if !some(alarms, func(a Alarm) bool {
			return a.reads("AWS/States", "ExecutionsFailed", map[string]string{"StateMachineArn": "!Ref " + logical})
		}) {
			bad = append(bad, fmt.Sprintf("%s: %s: no alarm on its ExecutionsFailed (AWS/States, StateMachineArn !Ref %s)", name, logical, logical))
		}
	}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		logical, res := resources.Content[i].Value, resources.Content[i+1]
		if yamlnode.Scalar(yamlnode.Field(res, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		props := yamlnode.Field(res, "Properties")
		events := yamlnode.Field(props, "Events")
		onlyStep := events == nil && len(machinesInvoking[logical]) > 0
		if !onlyStep && !some(alarms, func(a Alarm) bool {
			return a.reads("AWS/Lambda", "Errors", map[string]string{"FunctionName": "!Ref " + logical})
		}) {
			bad = append(bad, fmt.Sprintf("%s: %s: no alarm on its Errors (AWS/Lambda, FunctionName !Ref %s)", name, logical, logical))
		}
		async, polled := false, []string{}
		if events != nil {
			for j := 0; j+1 < len(events.Content); j += 2 {
				ev := events.Content[j+1]
				switch typ := yamlnode.Scalar(yamlnode.Field(ev, "Type")); {
				case asyncEvents[typ]:
					async = true
				case typ == "SQS":
					polled = append(polled, ref(yamlnode.Field(yamlnode.Field(ev, "Properties"), "Queue")))
				}
			}
		}
		if async {
			q := failureQueue(props)
			switch {
			case q == "":
				bad = append(bad, fmt.Sprintf("%s: %s: invoked asynchronously without a failure destination (EventInvokeConfig OnFailure or DeadLetterQueue on an SQS queue of the template)", name, logical))
			case !queueAlarmed(resources, alarms, q):
				bad = append(bad, fmt.Sprintf("%s: %s: its failure destination %s is no SQS queue of the template with an alarm on ApproximateNumberOfMessagesVisible", name, logical, q))
			}
		}
		for _, source := range polled {
			queue := strings.TrimSuffix(strings.TrimPrefix(source, "!GetAtt "), ".Arn")
			dlq := strings.TrimSuffix(strings.TrimPrefix(ref(yamlnode.Field(yamlnode.Field(yamlnode.Field(resource(resources, queue), "Properties"), "RedrivePolicy"), "deadLetterTargetArn")), "!GetAtt "), ".Arn")
			if dlq == "" || !queueAlarmed(resources, alarms, dlq) {
				bad = append(bad, fmt.Sprintf("%s: %s: its SQS source %s has no dead-letter queue with an alarm on ApproximateNumberOfMessagesVisible", name, logical, queue))
			}
		}
	}
	for _, a := range alarms {
		if why := notifiesTopic(top, a.Node); why != "" {
			bad = append(bad, fmt.Sprintf("%s: %s: %s", name, a.Logical, why))
		}
	}
	sort.Strings(bad)
	return bad, nil
}

// topicParameter checks the AlarmTopicArn parameter: a String, empty by default.
func topicParameter(name string, top *yaml.Node) []string {
	p := yamlnode.Field(yamlnode.Field(top, "Parameters"), TopicParameter)
	if p == nil {
		return []string{fmt.Sprintf("%s: no %s parameter (an SNS topic for the alarms, empty by default)", name, TopicParameter)}
	}
	if yamlnode.Scalar(yamlnode.Field(p, "Type")) != "String" || yamlnode.Field(p, "Default") == nil || yamlnode.Scalar(yamlnode.Field(p, "Default")) != "" {
		return []string{fmt.Sprintf("%s: %s must be a String, empty by default (no notification)", name, TopicParameter)}
	}
	return nil
}

// notifiesTopic says why the alarm's actions are not the topic parameter, "" when they are.
func notifiesTopic(top, alarm *yaml.Node) string {
	props := yamlnode.Field(alarm, "Properties")
	actions := yamlnode.Field(props, "AlarmActions")
	if actions == nil {
		return "no AlarmActions: nobody is told"
	}
	if actions.Tag != "!If" || len(actions.Content) != 3 {
		return "AlarmActions must be !If [<AlarmTopicArn is set>, [!Ref AlarmTopicArn], !Ref AWS::NoValue]"
	}
	cond, then, otherwise := actions.Content[0].Value, actions.Content[1], actions.Content[2]
	if then.Kind != yaml.SequenceNode || len(then.Content) != 1 || ref(then.Content[0]) != "!Ref "+TopicParameter {
		return "AlarmActions must notify [!Ref " + TopicParameter + "] when it is set"
	}
	if ref(otherwise) != "!Ref AWS::NoValue" {
		return "AlarmActions must be AWS::NoValue when " + TopicParameter + " is empty"
	}
	c := yamlnode.Field(yamlnode.Field(top, "Conditions"), cond)
	// !Not [!Equals [!Ref AlarmTopicArn, ""]]
	if c == nil || c.Tag != "!Not" || len(c.Content) != 1 || c.Content[0].Tag != "!Equals" || len(c.Content[0].Content) != 2 ||
		ref(c.Content[0].Content[0]) != "!Ref "+TopicParameter || c.Content[0].Content[1].Value != "" {
		return fmt.Sprintf("the condition %s of AlarmActions must be !Not [!Equals [!Ref %s, \"\"]]", cond, TopicParameter)
	}
	return ""
}

// failureQueue is the queue (logical id) of a function's OnFailure destination or dead-letter
// queue of type SQS, "" when it has none.
func failureQueue(props *yaml.Node) string {
	if f := yamlnode.Field(yamlnode.Field(yamlnode.Field(props, "EventInvokeConfig"), "DestinationConfig"), "OnFailure"); f != nil && yamlnode.Scalar(yamlnode.Field(f, "Type")) == "SQS" {
		return getAttArn(ref(yamlnode.Field(f, "Destination")))
	}
	if d := yamlnode.Field(props, "DeadLetterQueue"); d != nil && yamlnode.Scalar(yamlnode.Field(d, "Type")) == "SQS" {
		return getAttArn(ref(yamlnode.Field(d, "TargetArn")))
	}
	return ""
}

func getAttArn(s string) string {
	if !strings.HasPrefix(s, "!GetAtt ") || !strings.HasSuffix(s, ".Arn") {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(s, "!GetAtt "), ".Arn")
}

// queueAlarmed reports whether q is an SQS queue of the template with an alarm on its
// ApproximateNumberOfMessagesVisible.
func queueAlarmed(resources *yaml.Node, alarms []Alarm, q string) bool {
	if yamlnode.Scalar(yamlnode.Field(resource(resources, q), "Type")) != "AWS::SQS::Queue" {
		return false
	}
	return some(alarms, func(a Alarm) bool {
		return a.reads("AWS/SQS", "ApproximateNumberOfMessagesVisible", map[string]string{"QueueName": "!GetAtt " + q + ".QueueName"})
	})
}

// alarmsOf reads every alarm of the template.
func alarmsOf(resources *yaml.Node) []Alarm {
	var out []Alarm
	for i := 0; i+1 < len(resources.Content); i += 2 {
		logical, res := resources.Content[i].Value, resources.Content[i+1]
		if yamlnode.Scalar(yamlnode.Field(res, "Type")) != "AWS::CloudWatch::Alarm" {
			continue
		}
		props := yamlnode.Field(res, "Properties")
		a := Alarm{Logical: logical, Node: res}
		if yamlnode.Field(props, "MetricName") != nil {
			a.Metrics = append(a.Metrics, metric(props))
		}
		if ms := yamlnode.Field(props, "Metrics"); ms != nil {
			for _, m := range ms.Content {
				if stat := yamlnode.Field(yamlnode.Field(m, "MetricStat"), "Metric"); stat != nil {
					a.Metrics = append(a.Metrics, metric(stat))
				}
			}
		}
		out = append(out, a)
	}
	return out
}

// metric reads Namespace, MetricName and Dimensions of n.
func metric(n *yaml.Node) Metric {
	m := Metric{Namespace: yamlnode.Scalar(yamlnode.Field(n, "Namespace")), Name: yamlnode.Scalar(yamlnode.Field(n, "MetricName")), Dimensions: map[string]string{}}
	if d := yamlnode.Field(n, "Dimensions"); d != nil {
		for _, dim := range d.Content {
			m.Dimensions[yamlnode.Scalar(yamlnode.Field(dim, "Name"))] = ref(yamlnode.Field(dim, "Value"))
		}
	}
	return m
}

// referenced are the logical ids that n's values name with !GetAtt X.Arn or !Ref X.
func referenced(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		v := ref(n.Content[i+1])
		if id := getAttArn(v); id != "" {
			out = append(out, id)
		} else if strings.HasPrefix(v, "!Ref ") {
			out = append(out, strings.TrimPrefix(v, "!Ref "))
		}
	}
	return out
}

// ref is the text of a value: "!Ref X", "!GetAtt X.Y" (either form), or the scalar.
func ref(n *yaml.Node) string {
	switch {
	case n == nil:
		return ""
	case n.Tag == "!Ref":
		return "!Ref " + n.Value
	case n.Tag == "!GetAtt" && n.Kind == yaml.SequenceNode:
		var parts []string
		for _, c := range n.Content {
			parts = append(parts, c.Value)
		}
		return "!GetAtt " + strings.Join(parts, ".")
	case n.Tag == "!GetAtt":
		return "!GetAtt " + n.Value
	case n.Kind == yaml.MappingNode && yamlnode.Field(n, "Ref") != nil:
		return "!Ref " + yamlnode.Scalar(yamlnode.Field(n, "Ref"))
	}
	return n.Value
}

func some[T any](list []T, f func(T) bool) bool {
	for _, x := range list {
		if f(x) {
			return true
		}
	}
	return false
}

func resource(resources *yaml.Node, logical string) *yaml.Node {
	return yamlnode.Field(resources, logical)
}
