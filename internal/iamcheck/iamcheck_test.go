package iamcheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoFunctionMayTouchWhatItDidNotCreate: every template under examples/ and the
// dr-failover policy in docs/dr.md keep the rule (package doc): each statement that deletes,
// shares, tags, terminates or changes DNS names only shipshape- resources in RDS, and
// elsewhere has no wildcard resource without a condition.
func TestNoFunctionMayTouchWhatItDidNotCreate(t *testing.T) {
	files, err := filepath.Glob("../../examples/*/template.yaml")
	require.NoError(t, err)
	var names []string
	var all []Statement
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		sts, err := FromTemplate(strings.TrimPrefix(f, "../../"), raw)
		require.NoError(t, err)
		all = append(all, sts...)
		names = append(names, filepath.Base(filepath.Dir(f)))
	}
	for _, want := range []string{"dr-source", "dr-recovery", "dr-steps", "dr-sanitize", "drain-lambda", "s3diff-lambda"} {
		assert.Contains(t, names, want, "every template is checked")
	}
	failover := failoverPolicy(t)
	all = append(all, failover...)
	assert.Empty(t, CheckAll(all))

	// The check saw the statements that matter (a parser that reads nothing passes too).
	destructiveSeen := map[string]bool{}
	for _, st := range all {
		for _, a := range st.Action {
			if Destructive(a) {
				destructiveSeen[a] = true
			}
		}
	}
	for _, a := range []string{"rds:DeleteDBSnapshot", "rds:AddTagsToResource", "rds:ModifyDBSnapshotAttribute", "rds:DeleteDBInstance",
		"route53:ChangeResourceRecordSets", "s3:DeleteObjectVersion", "ecs:StopTask"} {
		assert.True(t, destructiveSeen[a], "no statement with %s was read", a)
	}
}

// failoverPolicy is the JSON policy under "The IAM policy dr-failover needs" in docs/dr.md.
func failoverPolicy(t *testing.T) []Statement {
	raw, err := os.ReadFile("../../docs/dr.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)### The IAM policy dr-failover needs.*?```json\n(.*?)```").FindSubmatch(raw)
	require.NotNil(t, m, "docs/dr.md has the dr-failover policy")
	sts, err := FromJSON("docs/dr.md dr-failover policy", m[1])
	require.NoError(t, err)
	require.NotEmpty(t, sts)
	return sts
}

// TestTheCheckRejectsEveryBadShape: the check fails on each shape of grant that lets a
// function delete, share, tag, terminate or switch what it did not create, in a template
// (YAML with CloudFormation tags) as in JSON, and passes the narrow forms.
func TestTheCheckRejectsEveryBadShape(t *testing.T) {
	const acct = "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}"
	for _, c := range []struct {
		name, statement string
		bad             bool
	}{
		{"tag any snapshot (then delete it by tag)", `{Effect: Allow, Action: [rds:AddTagsToResource], Resource: !Sub "` + acct + `:snapshot:*"}`, true},
		{"delete by tag alone", `{Effect: Allow, Action: [rds:DeleteDBSnapshot], Resource: !Sub "` + acct + `:snapshot:*", Condition: {StringEquals: {"aws:ResourceTag/shipshape:dr": "true"}}}`, true},
		{"share any snapshot", `{Effect: Allow, Action: rds:ModifyDBSnapshotAttribute, Resource: [!Sub "` + acct + `:snapshot:*"]}`, true},
		{"a suffix matches an operator's payroll-drill", `{Effect: Allow, Action: [rds:DeleteDBSnapshot], Resource: !Sub "` + acct + `:snapshot:*-dr*"}`, true},
		{"a prefix without its hyphen", `{Effect: Allow, Action: [rds:DeleteDBSnapshot], Resource: !Sub "` + acct + `:snapshot:shipshape*"}`, true},
		{"an identifier from a parameter", `{Effect: Allow, Action: [rds:AddTagsToResource], Resource: !Sub "` + acct + `:db:${TargetId}"}`, true},
		{"the operator's own database by name", `{Effect: Allow, Action: [rds:AddTagsToResource], Resource: "arn:aws:rds:eu-central-1:222222222222:db:orders-db"}`, true},
		{"any account", `{Effect: Allow, Action: [rds:DeleteDBSnapshot], Resource: "arn:aws:rds:eu-west-1:*:snapshot:shipshape-dr-*"}`, true},
		{"a service wildcard action", `{Effect: Allow, Action: "rds:*", Resource: "*"}`, true},
		{"an action wildcard", `{Effect: Allow, Action: "rds:Delete*", Resource: !Sub "` + acct + `:cluster:*"}`, true},
		{"every action", `{Effect: Allow, Action: "*", Resource: "*"}`, true},
		{"Allow with NotAction", `{Effect: Allow, NotAction: [iam:*], Resource: "*"}`, true},
		{"a bad statement hidden in an !If", `!If [HasX, {Effect: Allow, Action: [rds:DeleteDBCluster], Resource: "*"}, !Ref AWS::NoValue]`, true},
		{"DNS of any zone", `{Effect: Allow, Action: route53:ChangeResourceRecordSets, Resource: "arn:aws:route53:::hostedzone/*"}`, true},
		{"versions of any bucket", `{Effect: Allow, Action: s3:DeleteObjectVersion, Resource: "arn:aws:s3:::*/*"}`, true},
		{"terminate anything", `{Effect: Allow, Action: [ec2:TerminateInstances], Resource: "*"}`, true},
		{"terminate any group's instance", `{Effect: Allow, Action: [autoscaling:TerminateInstanceInAutoScalingGroup], Resource: "*"}`, true},
		{"stop any task", `{Effect: Allow, Action: [ecs:StopTask], Resource: "*"}`, true},

		{"our copies only, with the tag", `{Effect: Allow, Action: [rds:DeleteDBSnapshot], Resource: !Sub "` + acct + `:snapshot:shipshape-dr-*", Condition: {StringEquals: {"aws:ResourceTag/shipshape:dr": "true"}}}`, false},
		{"tag our instances", `{Effect: Allow, Action: [rds:AddTagsToResource], Resource: [!Sub "arn:${AWS::Partition}:rds:*:${AWS::AccountId}:db:shipshape-verify-*"]}`, false},
		{"a failover target with the prefix", `{Effect: Allow, Action: [rds:AddTagsToResource], Resource: "arn:aws:rds:eu-central-1:222222222222:db:shipshape-orders-db"}`, false},
		{"reads of everything", `{Effect: Allow, Action: [rds:DescribeDBSnapshots], Resource: "*"}`, false},
		{"a Deny", `{Effect: Deny, Action: "*", Resource: "*"}`, false},
		{"one zone", `{Effect: Allow, Action: route53:ChangeResourceRecordSets, Resource: "arn:aws:route53:::hostedzone/Z0123"}`, false},
		{"the stack's bucket", `{Effect: Allow, Action: s3:DeleteObjectVersion, Resource: !Sub "arn:${AWS::Partition}:s3:::${BucketName}/*"}`, false},
		{"a wildcard with a condition", `{Effect: Allow, Action: ecs:StopTask, Resource: "*", Condition: {ArnEquals: {"ecs:cluster": "arn:aws:ecs:eu-west-1:111111111111:cluster/prod"}}}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmpl := "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Policies:\n        - Statement:\n            - " + c.statement + "\n"
			sts, err := FromTemplate("bad.yaml", []byte(tmpl))
			require.NoError(t, err)
			require.NotEmpty(t, sts)
			problems := CheckAll(sts)
			if c.bad {
				assert.NotEmpty(t, problems, "the check lets this through")
			} else {
				assert.Empty(t, problems)
			}
		})
	}
	// The same in a JSON policy (the docs' form) and in a role's policy.
	sts, err := FromJSON("bad.json", []byte(`{"Statement": [{"Effect": "Allow", "Action": "rds:AddTagsToResource", "Resource": "arn:aws:rds:eu-central-1:222222222222:snapshot:*"}]}`))
	require.NoError(t, err)
	assert.NotEmpty(t, CheckAll(sts))
	sts, err = FromTemplate("role.yaml", []byte("Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      Policies:\n        - PolicyDocument:\n            Statement:\n              - {Effect: Allow, Action: rds:DeleteDBInstance, Resource: '*'}\n"))
	require.NoError(t, err)
	assert.NotEmpty(t, CheckAll(sts))
	// What it can't read is an error, never a pass.
	for _, unreadable := range []string{
		"Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Policies:\n        - AmazonRDSFullAccess\n",
		"Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Policies:\n        - DynamoDBCrudPolicy: {TableName: t}\n",
		"Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      ManagedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]\n",
	} {
		_, err := FromTemplate("unreadable.yaml", []byte(unreadable))
		assert.Error(t, err, unreadable)
	}
}

// TestNoTwoFunctionsOfOneAccountMayTouchTheSameResources: the general form of
// TestNoFunctionMayDeleteAnotherFunctionsResources. Within each account (Accounts), no two
// principals (functions, state machines, the dr-failover policy) may delete, share, tag,
// terminate or change DNS on resources that may be the same: each names only resources of
// its own kind. Every template is in an account.
func TestNoTwoFunctionsOfOneAccountMayTouchTheSameResources(t *testing.T) {
	files, err := filepath.Glob("../../examples/*/template.yaml")
	require.NoError(t, err)
	read := map[string][]Statement{FailoverPolicy: failoverPolicy(t)}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		sts, err := FromTemplate(strings.TrimPrefix(f, "../../"), raw)
		require.NoError(t, err)
		read[filepath.Base(filepath.Dir(f))] = sts
	}
	placed, destructive := map[string]bool{}, map[string]bool{}
	for account, names := range Accounts {
		var all []Statement
		for _, name := range names {
			sts, ok := read[name]
			require.True(t, ok, "%s: no template or policy %q", account, name)
			placed[name] = true
			all = append(all, sts...)
			for _, st := range sts {
				for _, a := range st.Action {
					destructive[name] = destructive[name] || Destructive(a) && !excepted(st)
				}
			}
		}
		assert.Empty(t, Overlaps(all), account)
	}
	for name := range read {
		assert.True(t, placed[name], "%s is in no account of iamcheck.Accounts", name)
	}
	// The check saw what matters (a parser that reads nothing passes too).
	for _, name := range []string{"dr-source", "dr-recovery", "dr-steps", "dr-sanitize", FailoverPolicy, "drain-lambda", "s3diff-lambda"} {
		assert.True(t, destructive[name], "no destructive statement of %s was read", name)
	}
}

// TestOverlapsFindsEveryShape: the overlap rule fails on two functions that may tag or
// delete the same resources, in each shape a pattern can take, and passes resources of
// their own.
func TestOverlapsFindsEveryShape(t *testing.T) {
	const acct = "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}"
	st := func(principal, action, resource string) Statement {
		return Statement{Where: principal + ": statement 1", Principal: principal, Effect: "Allow", Action: []string{action}, Resource: []string{resource},
			HasCondition: true}
	}
	for _, c := range []struct {
		name    string
		a, b    Statement
		overlap bool
	}{
		{"both delete one prefix (the tag condition does not tell them apart)",
			st("steps", "rds:DeleteDBInstance", acct+":db:shipshape-verify-*"), st("sanitize", "rds:DeleteDBInstance", acct+":db:shipshape-verify-*"), true},
		{"one tags what the other deletes",
			st("steps", "rds:AddTagsToResource", acct+":db:shipshape-verify-*"), st("sanitize", "rds:DeleteDBInstance", acct+":db:shipshape-verify-*"), true},
		{"a wider pattern covers a narrower one",
			st("a", "rds:AddTagsToResource", acct+":db:shipshape-*"), st("b", "rds:DeleteDBInstance", acct+":db:shipshape-verify-*"), true},
		{"a pattern covers an exact name",
			st("failover", "rds:AddTagsToResource", "arn:aws:rds:eu-central-1:222222222222:db:shipshape-rehearsal-x"), st("b", "rds:DeleteDBInstance", acct+":db:shipshape-rehearsal-*"), true},
		{"a pattern from a parameter may be anything",
			st("a", "rds:AddTagsToResource", acct+":db:${TargetId}"), st("b", "rds:DeleteDBInstance", acct+":db:shipshape-verify-*"), true},
		{"a region wildcard meets a region",
			st("a", "rds:DeleteDBInstance", "arn:aws:rds:*:222222222222:db:shipshape-verify-*"), st("b", "rds:AddTagsToResource", "arn:aws:rds:eu-west-1:222222222222:db:shipshape-verify-x"), true},
		{"? is one character",
			st("a", "rds:DeleteDBInstance", acct+":db:shipshape-verif?-*"), st("b", "rds:AddTagsToResource", acct+":db:shipshape-verify-x"), true},
		{"an action wildcard",
			st("a", "rds:*", acct+":db:shipshape-verify-*"), st("b", "rds:DeleteDBInstance", acct+":db:shipshape-*"), true},
		{"every action on everything",
			st("a", "*", "*"), st("b", "rds:DeleteDBSnapshot", acct+":snapshot:shipshape-dr-*"), true},

		{"prefixes of their own", st("steps", "rds:DeleteDBInstance", acct+":db:shipshape-verify-*"), st("sanitize", "rds:DeleteDBInstance", acct+":db:shipshape-sanitize-*"), false},
		{"sanitize- is not sanitized-", st("a", "rds:AddTagsToResource", acct+":snapshot:shipshape-sanitize-*"), st("b", "rds:DeleteDBSnapshot", acct+":snapshot:shipshape-sanitized-*"), false},
		{"an instance is not a snapshot", st("a", "rds:DeleteDBInstance", acct+":db:shipshape-x-*"), st("b", "rds:DeleteDBSnapshot", acct+":snapshot:shipshape-x-*"), false},
		{"two exact names", st("a", "rds:AddTagsToResource", acct+":db:shipshape-orders-db"), st("b", "rds:AddTagsToResource", acct+":db:shipshape-orders-db-2"), false},
		{"two accounts", st("a", "rds:DeleteDBInstance", "arn:aws:rds:*:111111111111:db:shipshape-verify-*"), st("b", "rds:DeleteDBInstance", "arn:aws:rds:*:222222222222:db:shipshape-verify-*"), false},
		{"two services", st("a", "ecs:StopTask", "*"), st("b", "rds:DeleteDBInstance", acct+":db:shipshape-verify-*"), false},
		{"reads", st("a", "rds:DescribeDBInstances", "*"), st("b", "rds:DescribeDBInstances", "*"), false},
		{"one function's own statements", st("a", "rds:AddTagsToResource", acct+":db:shipshape-verify-*"), st("a", "rds:DeleteDBInstance", acct+":db:shipshape-verify-*"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Overlaps([]Statement{c.a, c.b})
			if c.overlap {
				assert.NotEmpty(t, got, "the rule lets this through")
			} else {
				assert.Empty(t, got)
			}
		})
	}
	// The documented exception (Lambda's network interfaces) is left out, as Check leaves it.
	vpc := func(principal string) Statement {
		sts, err := samTemplate(principal, "VPCAccessPolicy")
		require.NoError(t, err)
		return sts[0]
	}
	assert.Empty(t, Overlaps([]Statement{vpc("steps"), vpc("sanitize")}))
}

func TestGlobsMeet(t *testing.T) {
	for _, c := range []struct {
		a, b string
		meet bool
	}{
		{"", "", true}, {"*", "", true}, {"*", "anything", true}, {"a*", "*b", true}, {"a*c", "ab*", true},
		{"shipshape-verify-*", "shipshape-verify-x", true}, {"shipshape-*", "*-verify-*", true}, {"a?c", "abc", true}, {"*a*", "*b*", true},
		{"shipshape-sanitize-*", "shipshape-sanitized-*", false}, {"a*", "b*", false}, {"*a", "*b", false}, {"abc", "abd", false},
		{"a?c", "ac", false}, {"db:x*", "snapshot:x*", false},
	} {
		assert.Equal(t, c.meet, globsMeet(c.a, c.b), "%q %q", c.a, c.b)
		assert.Equal(t, c.meet, globsMeet(c.b, c.a), "%q %q", c.b, c.a)
	}
}
