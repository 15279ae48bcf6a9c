// Package iamcheck holds the IAM rule every template of the project (and the dr-failover
// policy printed in docs/dr.md) must keep: no statement lets a function delete, share, tag,
// terminate or change DNS on a resource it did not create. RDS has no IAM condition key that
// names the call that created a resource (aws:RequestTag and aws:TagKeys are met by a
// standalone AddTagsToResource on someone else's snapshot too), so in RDS such an action must
// be limited by name, to identifiers starting with Prefix; elsewhere a wildcard resource needs
// a Condition. And no two functions that may share an account may do so on resources that may
// be the same (Overlaps, Accounts): a function must not be able to tag, then delete, what
// another created, and a tag condition can't tell them apart when both may tag the same names.
// Its tests parse every examples/*/template.yaml (YAML with CloudFormation tags) and the
// policy in docs/dr.md, and show with tables of bad statements that they can fail. It imports
// no capability package.
package iamcheck

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/shipshape-dev/shipshape/internal/yamlnode"
)

// Prefix starts every RDS identifier the functions may delete, share or tag (dr.NamePrefix).
const Prefix = "shipshape-"

// Statement is one IAM policy statement, its values as text (CloudFormation functions
// resolved as far as a check needs: !Sub to its template, !Ref to "${Name}").
type Statement struct {
	Where string // file, resource and Sid, for messages
	// Principal is who holds the statement: "file: logical id" of a template's function,
	// state machine, role or policy, or the name of a policy document.
	Principal             string
	Effect                string
	Action, NotAction     []string
	Resource, NotResource []string
	HasCondition          bool
	ConditionKeys         []string
}

// destructive are the actions the rule is about, by the shape of their name: deleting,
// terminating, stopping, (un)tagging, sharing a snapshot, changing DNS records.
var destructive = regexp.MustCompile(`(?i)^[a-z0-9-]+:(delete|terminate|remove|untag|tag|addtags|createtags|stop|changeresourcerecordsets|modifydb(cluster)?snapshotattribute)`)

// known are concrete destructive actions, to tell whether an action pattern ("rds:*",
// "rds:Delete*") reaches one.
var known = []string{
	"rds:DeleteDBSnapshot", "rds:DeleteDBClusterSnapshot", "rds:DeleteDBInstance", "rds:DeleteDBCluster",
	"rds:ModifyDBSnapshotAttribute", "rds:ModifyDBClusterSnapshotAttribute", "rds:AddTagsToResource", "rds:RemoveTagsFromResource",
	"route53:ChangeResourceRecordSets", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket",
	"ec2:TerminateInstances", "ec2:DeleteNetworkInterface", "ec2:CreateTags", "ec2:DeleteTags",
	"autoscaling:TerminateInstanceInAutoScalingGroup", "ecs:StopTask", "ecs:DeregisterContainerInstance", "ecs:TagResource",
	"sns:DeleteTopic", "sqs:DeleteQueue", "secretsmanager:DeleteSecret", "kms:ScheduleKeyDeletion", "lambda:DeleteFunction",
}

// Destructive reports whether an action (or action pattern) deletes, shares, tags,
// terminates or changes DNS.
func Destructive(action string) bool {
	if action == "*" || destructive.MatchString(action) {
		return true
	}
	for _, k := range known {
		if strings.EqualFold(action, k) {
			return true
		}
	}
	if strings.ContainsAny(action, "*?") {
		for _, k := range known {
			if ok, _ := path.Match(strings.ToLower(action), strings.ToLower(k)); ok {
				return true
			}
		}
	}
	return false
}

// Exceptions are statements the rule can't hold, each with its reason (docs/RELIABILITY.md,
// IAM). Keyed by what Where ends with.
var Exceptions = map[string]string{
	"SAM VPCAccessPolicy": "Lambda creates and deletes the network interfaces of a function in a VPC with the function's own role; " +
		"their ids are random, and AWS documents Resource \"*\" for ec2:DeleteNetworkInterface as the minimum (a narrower one breaks VPC access)",
}

// Check returns what is wrong with st, "" when nothing is.
func Check(st Statement) []string {
	if !strings.EqualFold(st.Effect, "Allow") {
		return nil
	}
	if excepted(st) {
		return nil
	}
	var bad []string
	if len(st.NotAction) > 0 || len(st.NotResource) > 0 {
		return []string{st.Where + ": Allow with NotAction or NotResource grants everything else, the destructive actions included"}
	}
	var risky []string
	for _, a := range st.Action {
		if Destructive(a) {
			risky = append(risky, a)
		}
	}
	if len(risky) == 0 {
		return nil
	}
	for _, a := range risky {
		service, _, _ := strings.Cut(strings.ToLower(a), ":")
		for _, r := range st.Resource {
			if why := resourceProblem(service, r, st.HasCondition); why != "" {
				bad = append(bad, fmt.Sprintf("%s: %s on %s: %s", st.Where, a, r, why))
			}
		}
	}
	return bad
}

// placeholder is a ${...} of a !Sub template; its "::" (${AWS::Region}) is no ARN separator.
var placeholder = regexp.MustCompile(`\$\{[^}]*\}`)

// arnParts splits an ARN (placeholders kept, as "${...}") into service, account and the
// resource part. Not arn.Parse: a policy's resources are patterns (wildcards, !Sub
// placeholders whose "::" is no separator), which it would misread or refuse.
func arnParts(r string) (service, account, resource string, ok bool) {
	r = placeholder.ReplaceAllStringFunc(r, func(p string) string { return strings.ReplaceAll(p, ":", "_") })
	parts := strings.SplitN(r, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", "", "", false
	}
	return parts[2], parts[4], parts[5], true
}

func wild(s string) bool { return strings.ContainsAny(s, "*?") }

// resourceProblem says why a destructive action of service may not be allowed on r.
func resourceProblem(service, r string, hasCondition bool) string {
	rs, account, res, ok := arnParts(r)
	if service == "*" || service == "rds" || rs == "rds" {
		switch {
		case r == "*" || !ok:
			return "RDS resources must be named (by ARN, with the " + Prefix + " prefix); a tag condition is met by whoever may tag"
		case wild(account):
			return "the account is a wildcard: name the account"
		}
		kind, id, found := strings.Cut(res, ":")
		if !found || wild(kind) {
			return "not an RDS resource of one type"
		}
		literal := id
		if i := strings.IndexAny(id, "*?$"); i >= 0 {
			literal = id[:i]
		}
		if !strings.HasPrefix(literal, Prefix) {
			return fmt.Sprintf("the %s pattern %q is wider than the %s prefix: the function could reach what it did not create", kind, id, Prefix)
		}
		return ""
	}
	if hasCondition {
		return ""
	}
	switch {
	case r == "*" || !ok:
		return "a wildcard resource without a condition"
	case wild(account):
		return "any account, without a condition"
	case rs == "s3":
		bucket, _, _ := strings.Cut(res, "/")
		if wild(bucket) {
			return "any bucket, without a condition"
		}
		return ""
	case wild(res):
		return "a wildcard resource without a condition"
	}
	return ""
}

// Overlaps returns, for every two principals of sts, each pair of their statements that let
// both delete, share, tag, terminate or change DNS (Destructive) in one service on resources
// that may be the same: then either may tag, and then delete, what the other created,
// whatever tag conditions say (both may tag the same names, or both look for the same tag
// value). RDS has no condition key that names the call that created a resource, so each
// function must name resources of its own (a prefix per kind: shipshape-verify- for
// dr-steps, shipshape-sanitize- for dr-sanitize). Resource patterns are compared as IAM
// matches them ("*" and "?" wildcards; a ${...} placeholder matches anything, since a
// parameter or the region may take any value). Give it the principals that may be deployed
// in one account (Accounts). Exceptions are left out, as Check leaves them out.
func Overlaps(sts []Statement) []string {
	type grant struct {
		st       Statement
		service  string
		resource string
	}
	var grants []grant
	for _, st := range sts {
		if !strings.EqualFold(st.Effect, "Allow") || excepted(st) {
			continue
		}
		services := map[string]bool{}
		for _, a := range st.Action {
			if Destructive(a) {
				service, _, _ := strings.Cut(strings.ToLower(a), ":")
				services[service] = true
			}
		}
		for service := range services {
			for _, r := range st.Resource {
				grants = append(grants, grant{st, service, r})
			}
		}
	}
	seen := map[string]bool{}
	var bad []string
	for i, a := range grants {
		for _, b := range grants[i+1:] {
			if a.st.Principal == b.st.Principal || (a.service != b.service && a.service != "*" && b.service != "*") ||
				!resourcesMeet(a.resource, b.resource) {
				continue
			}
			msg := fmt.Sprintf("%s (on %s) and %s (on %s) may both delete, share or tag %s resources that may be the same: each may reach what the other created",
				a.st.Where, a.resource, b.st.Where, b.resource, a.service)
			if !seen[msg] {
				seen[msg] = true
				bad = append(bad, msg)
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// Accounts are the templates (examples/<name>/template.yaml) and policies of the project that
// may be deployed in one account, by account: the functions of one group must not overlap
// (Overlaps). drain-lambda, s3diff-lambda and secretsenv may be deployed anywhere. dr-source
// belongs to the production account and dr-recovery to the recovery account: they name the
// same DR copies (shipshape-dr-) and must not share one account (docs/dr.md).
var Accounts = map[string][]string{
	"production": {"dr-source", "drain-lambda", "s3diff-lambda", "secretsenv"},
	"recovery":   {"dr-recovery", "dr-steps", "dr-sanitize", FailoverPolicy, "drain-lambda", "s3diff-lambda", "secretsenv"},
}

// FailoverPolicy names the dr-failover policy printed in docs/dr.md in Accounts.
const FailoverPolicy = "docs/dr.md dr-failover policy"

// resourcesMeet reports whether some resource matches both resource patterns a and b, as
// IAM matches an ARN: segment by segment (partition, service, region, account: a wildcard
// does not reach into the next), then the resource part; every ${...} placeholder as "*".
func resourcesMeet(a, b string) bool {
	a, b = placeholder.ReplaceAllString(a, "*"), placeholder.ReplaceAllString(b, "*")
	pa, pb := strings.SplitN(a, ":", 6), strings.SplitN(b, ":", 6)
	if len(pa) != 6 || len(pb) != 6 || pa[0] != "arn" || pb[0] != "arn" {
		return globsMeet(a, b) // "*", or not an ARN: as a whole
	}
	for i := 1; i < 6; i++ {
		if !globsMeet(pa[i], pb[i]) {
			return false
		}
	}
	return true
}

// globsMeet reports whether some string matches both IAM patterns a and b ("*" any run of
// characters, "?" any one character).
func globsMeet(a, b string) bool {
	memo := map[[2]int]bool{} // every step moves on in a or b: no cycles
	var meet func(i, j int) bool
	meet = func(i, j int) bool {
		k := [2]int{i, j}
		if r, ok := memo[k]; ok {
			return r
		}
		r := false
		switch {
		case i == len(a) && j == len(b):
			r = true
		case i < len(a) && a[i] == '*' && meet(i+1, j):
			r = true // a's star matches nothing more
		case j < len(b) && b[j] == '*' && meet(i, j+1):
			r = true
		case i < len(a) && a[i] == '*' && j < len(b) && b[j] != '*':
			r = meet(i, j+1) // a's star takes b's next character
		case j < len(b) && b[j] == '*' && i < len(a) && a[i] != '*':
			r = meet(i+1, j)
		case i < len(a) && j < len(b) && a[i] != '*' && b[j] != '*':
			r = (a[i] == b[j] || a[i] == '?' || b[j] == '?') && meet(i+1, j+1)
		}
		memo[k] = r
		return r
	}
	return meet(0, 0)
}

// excepted reports whether st is one of the Exceptions.
func excepted(st Statement) bool {
	for suffix, why := range Exceptions {
		if strings.HasSuffix(st.Where, suffix) && why != "" {
			return true
		}
	}
	return false
}

// CheckAll checks statements and returns every problem, sorted.
func CheckAll(sts []Statement) []string {
	var bad []string
	for _, st := range sts {
		bad = append(bad, Check(st)...)
	}
	sort.Strings(bad)
	return bad
}

// FromJSON reads the statements of a JSON policy document (where names it in messages).
func FromJSON(where string, doc []byte) ([]Statement, error) {
	var n yaml.Node // JSON is YAML: one reader for both
	if err := yaml.Unmarshal(doc, &n); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if !json.Valid(doc) {
		return nil, fmt.Errorf("%s: not valid JSON", where)
	}
	return statements(where, yamlnode.Root(&n))
}

// FromTemplate reads every IAM statement of a CloudFormation / SAM template: the Policies of
// functions and state machines (policy documents, and the SAM policy templates it knows),
// the policies of IAM roles and policies, and bucket and queue policies. A policy it can't
// read, or a SAM policy template or managed policy it does not know, is an error.
func FromTemplate(name string, raw []byte) ([]Statement, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	resources := yamlnode.Field(yamlnode.Root(&doc), "Resources")
	if resources == nil {
		return nil, fmt.Errorf("%s: no Resources", name)
	}
	var out []Statement
	for i := 0; i+1 < len(resources.Content); i += 2 {
		logical, res := resources.Content[i].Value, resources.Content[i+1]
		typ, props := yamlnode.Scalar(yamlnode.Field(res, "Type")), yamlnode.Field(res, "Properties")
		where := name + ": " + logical
		if props == nil {
			continue
		}
		var docs []*yaml.Node
		switch typ {
		case "AWS::Serverless::Function", "AWS::Serverless::StateMachine":
			pols := yamlnode.Field(props, "Policies")
			if pols == nil {
				continue
			}
			if pols.Kind != yaml.SequenceNode {
				return nil, fmt.Errorf("%s: Policies is not a list", where)
			}
			for _, p := range pols.Content {
				switch {
				case p.Kind == yaml.MappingNode && yamlnode.Field(p, "Statement") != nil:
					docs = append(docs, p)
				case p.Kind == yaml.MappingNode && len(p.Content) == 2:
					sts, err := samTemplate(where, p.Content[0].Value)
					if err != nil {
						return nil, err
					}
					out = append(out, sts...)
				default:
					return nil, fmt.Errorf("%s: a policy this check can't read (a managed policy name or ARN?): %q", where, yamlnode.Scalar(p))
				}
			}
		case "AWS::IAM::Role":
			if m := yamlnode.Field(props, "ManagedPolicyArns"); m != nil {
				return nil, fmt.Errorf("%s: ManagedPolicyArns: a managed policy this check can't read", where)
			}
			if pols := yamlnode.Field(props, "Policies"); pols != nil {
				for _, p := range pols.Content {
					docs = append(docs, yamlnode.Field(p, "PolicyDocument"))
				}
			}
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy":
			docs = append(docs, yamlnode.Field(props, "PolicyDocument"))
		}
		for _, d := range docs {
			if d == nil {
				return nil, fmt.Errorf("%s: a policy without a document", where)
			}
			sts, err := statements(where, d)
			if err != nil {
				return nil, err
			}
			out = append(out, sts...)
		}
	}
	return out, nil
}

// samTemplate expands the SAM policy templates the templates use.
func samTemplate(where, name string) ([]Statement, error) {
	w := where + ": SAM " + name
	switch name {
	case "VPCAccessPolicy":
		return []Statement{{Where: w, Principal: where, Effect: "Allow", Resource: []string{"*"},
			Action: []string{"ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DetachNetworkInterface"}}}, nil
	case "LambdaInvokePolicy":
		return []Statement{{Where: w, Principal: where, Effect: "Allow", Resource: []string{"arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:${FunctionName}*"},
			Action: []string{"lambda:InvokeFunction"}}}, nil
	case "StepFunctionsExecutionPolicy":
		return []Statement{{Where: w, Principal: where, Effect: "Allow", Resource: []string{"arn:aws:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${StateMachineName}"},
			Action: []string{"states:StartExecution"}}}, nil
	}
	return nil, fmt.Errorf("%s: a SAM policy template this check does not know: add what it grants to iamcheck", w)
}

// statements reads a policy document's statements; an !If gives both branches.
func statements(where string, doc *yaml.Node) ([]Statement, error) {
	list := yamlnode.Field(doc, "Statement")
	if list == nil {
		return nil, fmt.Errorf("%s: a policy document without Statement", where)
	}
	var items []*yaml.Node
	if list.Kind == yaml.SequenceNode {
		items = list.Content
	} else {
		items = []*yaml.Node{list}
	}
	var out []Statement
	for i, item := range items {
		for _, n := range branches(item) {
			if n.Kind != yaml.MappingNode {
				continue // AWS::NoValue
			}
			st := Statement{Where: fmt.Sprintf("%s: statement %d", where, i+1), Principal: where, Effect: yamlnode.Scalar(yamlnode.Field(n, "Effect")),
				Action: texts(yamlnode.Field(n, "Action")), NotAction: texts(yamlnode.Field(n, "NotAction")),
				Resource: texts(yamlnode.Field(n, "Resource")), NotResource: texts(yamlnode.Field(n, "NotResource"))}
			if sid := yamlnode.Scalar(yamlnode.Field(n, "Sid")); sid != "" {
				st.Where += " (" + sid + ")"
			}
			if c := yamlnode.Field(n, "Condition"); c != nil && len(c.Content) > 0 {
				st.HasCondition = true
				for j := 0; j+1 < len(c.Content); j += 2 {
					for k := 0; k+1 < len(c.Content[j+1].Content); k += 2 {
						st.ConditionKeys = append(st.ConditionKeys, c.Content[j+1].Content[k].Value)
					}
				}
			}
			if st.Effect == "" {
				return nil, fmt.Errorf("%s: a statement without Effect", st.Where)
			}
			for _, v := range append(append(append(append([]string(nil), st.Action...), st.NotAction...), st.Resource...), st.NotResource...) {
				if strings.HasPrefix(v, "<unreadable") {
					return nil, fmt.Errorf("%s: a value this check can't read: %s", st.Where, v)
				}
			}
			out = append(out, st)
		}
	}
	return out, nil
}

// branches are the statements an item may be: both values of an !If (or Fn::If), else the
// item itself.
func branches(n *yaml.Node) []*yaml.Node {
	if n.Tag == "!If" && n.Kind == yaml.SequenceNode && len(n.Content) == 3 {
		return append(branches(n.Content[1]), branches(n.Content[2])...)
	}
	if f := yamlnode.Field(n, "Fn::If"); f != nil && f.Kind == yaml.SequenceNode && len(f.Content) == 3 {
		return append(branches(f.Content[1]), branches(f.Content[2])...)
	}
	return []*yaml.Node{n}
}

// texts reads a string or a list of strings; CloudFormation functions become text: !Sub its
// template, !Ref "${Name}", !GetAtt "${Name.Attr}", !Join the joined parts, !If both values.
func texts(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.SequenceNode && !cfnFunction(n.Tag) {
		var out []string
		for _, c := range n.Content {
			out = append(out, texts(c)...)
		}
		return out
	}
	return textOf(n)
}

// cfnFunction reports whether a YAML tag is a CloudFormation function (!Sub), not one of
// YAML's own (!!seq).
func cfnFunction(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

func textOf(n *yaml.Node) []string {
	switch n.Tag {
	case "!Sub":
		if n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
			return []string{n.Content[0].Value}
		}
		return []string{n.Value}
	case "!Ref":
		return []string{"${" + n.Value + "}"}
	case "!GetAtt":
		if n.Kind == yaml.SequenceNode {
			var parts []string
			for _, c := range n.Content {
				parts = append(parts, c.Value)
			}
			return []string{"${" + strings.Join(parts, ".") + "}"}
		}
		return []string{"${" + n.Value + "}"}
	case "!Join":
		if n.Kind == yaml.SequenceNode && len(n.Content) == 2 {
			return []string{strings.Join(texts(n.Content[1]), n.Content[0].Value)}
		}
	case "!If":
		if n.Kind == yaml.SequenceNode && len(n.Content) == 3 {
			return append(texts(n.Content[1]), texts(n.Content[2])...)
		}
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	return []string{fmt.Sprintf("<unreadable %s>", n.Tag)}
}
