// Package yamlnode reads CloudFormation templates as YAML nodes, for the checks that read
// the project's templates (alarmcheck, iamcheck, samdist): the document's root, a mapping's
// field, a scalar's value.
package yamlnode

import "go.yaml.in/yaml/v3"

// Root is a document's top node (n itself when n is no document).
func Root(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0]
	}
	return n
}

// Field is a mapping's value under key (nil when absent or n is no mapping).
func Field(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Scalar is a scalar node's value ("" when n is nil or no scalar).
func Scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
