package alarmcheck

import (
	"github.com/shipshape-dev/shipshape/internal/yamlnode"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestEveryTemplateTellsSomeoneWhenItFails: every examples/*/template.yaml keeps the rule
// (package doc): an Errors alarm per function (a state machine's executions for a function
// only a state machine invokes), a failure destination with an alarm for every function
// invoked asynchronously, and every alarm notifying AlarmTopicArn.
func TestEveryTemplateTellsSomeoneWhenItFails(t *testing.T) {
	files, err := filepath.Glob("../../examples/*/template.yaml")
	require.NoError(t, err)
	seen := map[string]int{}
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f))
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		bad, err := Check(strings.TrimPrefix(f, "../../"), raw)
		require.NoError(t, err)
		assert.Empty(t, bad)
		// The check read what matters (a parser that reads nothing passes too).
		var doc yaml.Node
		require.NoError(t, yaml.Unmarshal(raw, &doc))
		for _, a := range alarmsOf(yamlnode.Field(yamlnode.Root(&doc), "Resources")) {
			seen[name]++
			require.NotEmpty(t, a.Metrics, "%s: %s: no metric read", name, a.Logical)
		}
	}
	for name, least := range map[string]int{"s3diff-lambda": 2, "drain-lambda": 2, "dr-source": 2, "dr-recovery": 3, "dr-steps": 1, "dr-sanitize": 1, "secretsenv": 1} {
		assert.GreaterOrEqual(t, seen[name], least, "%s: alarms read", name)
	}
}

// TestTheRecoveryStackAlarmsWhenARecoveryPointIsTooOld: dr-recovery's template alarms when
// the largest RecoveryPointAgeSeconds (the series without a dimension that the function
// writes beside the per-database one: dr:TestScheduledReportsEachDatabasesRecoveryPointAsAMetric)
// exceeds RpoSeconds, and when the metric is missing (no copy, or the function not running).
func TestTheRecoveryStackAlarmsWhenARecoveryPointIsTooOld(t *testing.T) {
	raw, err := os.ReadFile("../../examples/dr-recovery/template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	top := yamlnode.Root(&doc)
	require.NotNil(t, yamlnode.Field(yamlnode.Field(top, "Parameters"), "RpoSeconds"))
	var rpo *Alarm
	for _, a := range alarmsOf(yamlnode.Field(top, "Resources")) {
		if a.reads("shipshape/dr", "RecoveryPointAgeSeconds", map[string]string{}) {
			rpo = &a
		}
	}
	require.NotNil(t, rpo, "no alarm on shipshape/dr RecoveryPointAgeSeconds without a dimension")
	props := yamlnode.Field(rpo.Node, "Properties")
	assert.Equal(t, "!Ref RpoSeconds", ref(yamlnode.Field(props, "Threshold")))
	assert.Equal(t, "Maximum", yamlnode.Scalar(yamlnode.Field(props, "Statistic")), "the oldest recovery point of all")
	assert.Equal(t, "GreaterThanThreshold", yamlnode.Scalar(yamlnode.Field(props, "ComparisonOperator")))
	assert.Equal(t, "breaching", yamlnode.Scalar(yamlnode.Field(props, "TreatMissingData")), "no recovery point reported is a failure")
	assert.Equal(t, "1", yamlnode.Scalar(yamlnode.Field(props, "EvaluationPeriods")))
	assert.Equal(t, "3600", yamlnode.Scalar(yamlnode.Field(props, "Period")), "longer than the function's schedule (30 minutes): a period without data means it did not run")
}

// good is a template that keeps the rule: a function invoked by S3 with an OnFailure queue,
// one fed by SQS with a dead-letter queue, a state machine and the function only it invokes.
const good = `
Parameters:
  AlarmTopicArn: {Type: String, Default: ""}
Conditions:
  HasAlarmTopic: !Not [!Equals [!Ref AlarmTopicArn, ""]]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      EventInvokeConfig:
        DestinationConfig:
          OnFailure: {Type: SQS, Destination: !GetAtt Failures.Arn}
      Events:
        Uploads: {Type: S3, Properties: {Bucket: !Ref B, Events: "s3:ObjectCreated:*"}}
  Failures: {Type: AWS::SQS::Queue}
  FailuresAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/SQS
      MetricName: ApproximateNumberOfMessagesVisible
      Dimensions: [{Name: QueueName, Value: !GetAtt Failures.QueueName}]
      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
  FnErrors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions: [{Name: FunctionName, Value: !Ref Fn}]
      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt DeadLetters.Arn, maxReceiveCount: 5}
  DeadLetters: {Type: AWS::SQS::Queue}
  DeadLettersAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/SQS
      MetricName: ApproximateNumberOfMessagesVisible
      Dimensions: [{Name: QueueName, Value: !GetAtt DeadLetters.QueueName}]
      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
  Polled:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Messages: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn}}
  PolledErrors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions: [{Name: FunctionName, Value: !Ref Polled}]
      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
  Step:
    Type: AWS::Serverless::Function
    Properties: {Timeout: 60}
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionSubstitutions: {StepArn: !GetAtt Step.Arn}
      Events:
        Daily: {Type: Schedule, Properties: {Schedule: "rate(1 day)"}}
  MachineFailed:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Metrics:
        - Id: m0
          MetricStat:
            Metric:
              Namespace: AWS/States
              MetricName: ExecutionsFailed
              Dimensions: [{Name: StateMachineArn, Value: !Ref Machine}]
            Period: 300
            Stat: Sum
          ReturnData: false
        - {Id: e, Expression: "FILL(m0, 0)"}
      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
`

// TestTheCheckFailsOnEveryMissingPiece: the good template passes; without each piece of the
// rule it fails, naming what is missing.
func TestTheCheckFailsOnEveryMissingPiece(t *testing.T) {
	bad, err := Check("good.yaml", []byte(good))
	require.NoError(t, err)
	require.Empty(t, bad)
	for _, c := range []struct{ name, from, to, want string }{
		{"no Errors alarm", "Value: !Ref Fn}", "Value: !Ref Other}", "Fn: no alarm on its Errors"},
		{"no failure destination", "      EventInvokeConfig:\n", "      Unused:\n", "Fn: invoked asynchronously without a failure destination"},
		{"a failure destination without an alarm", "Value: !GetAtt Failures.QueueName}", "Value: !GetAtt Other.QueueName}", "its failure destination Failures"},
		{"a failure destination that is no queue", "Failures: {Type: AWS::SQS::Queue}", "Failures: {Type: AWS::SNS::Topic}", "its failure destination Failures"},
		{"a scheduled function without one", "      EventInvokeConfig:\n        DestinationConfig:\n          OnFailure: {Type: SQS, Destination: !GetAtt Failures.Arn}\n      Events:\n        Uploads: {Type: S3,", "      Events:\n        Uploads: {Type: Schedule,", "Fn: invoked asynchronously without a failure destination"},
		{"an SQS source without an alarmed dead-letter queue", "Value: !GetAtt DeadLetters.QueueName}", "Value: !GetAtt Queue.QueueName}", "Polled: its SQS source Queue"},
		{"a state machine without an ExecutionsFailed alarm", "MetricName: ExecutionsFailed", "MetricName: ExecutionsSucceeded", "Machine: no alarm on its ExecutionsFailed"},
		{"an alarm that tells nobody", "      Dimensions: [{Name: FunctionName, Value: !Ref Fn}]\n      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]\n", "      Dimensions: [{Name: FunctionName, Value: !Ref Fn}]\n", "FnErrors: no AlarmActions"},
		{"an alarm to a fixed topic", "      Dimensions: [{Name: FunctionName, Value: !Ref Fn}]\n      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]\n", "      Dimensions: [{Name: FunctionName, Value: !Ref Fn}]\n      AlarmActions: [arn:aws:sns:eu-west-1:111111111111:ops]\n", "FnErrors: AlarmActions must be !If"},
		{"a condition that is not the topic's", `HasAlarmTopic: !Not [!Equals [!Ref AlarmTopicArn, ""]]`, `HasAlarmTopic: !Equals [!Ref AlarmTopicArn, ""]`, "the condition HasAlarmTopic"},
		{"no topic parameter", `AlarmTopicArn: {Type: String, Default: ""}`, `OtherTopic: {Type: String, Default: ""}`, "no AlarmTopicArn parameter"},
		{"a topic that must be given", `AlarmTopicArn: {Type: String, Default: ""}`, `AlarmTopicArn: {Type: String}`, "empty by default"},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Contains(t, good, c.from)
			bad, err := Check("bad.yaml", []byte(strings.Replace(good, c.from, c.to, 1)))
			require.NoError(t, err)
			require.NotEmpty(t, bad, "the check lets this through")
			assert.Contains(t, strings.Join(bad, "\n"), c.want)
		})
	}
	// A function that only the state machine invokes needs no Errors alarm of its own (its
	// errors are the machine's polling); given an event source, it does.
	bad, err = Check("step.yaml", []byte(strings.Replace(good, "Properties: {Timeout: 60}", "Properties: {Timeout: 60, Events: {Http: {Type: Api}}}", 1)))
	require.NoError(t, err)
	assert.Contains(t, strings.Join(bad, "\n"), "Step: no alarm on its Errors")
}
