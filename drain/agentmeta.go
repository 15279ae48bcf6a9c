package drain

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultAgentMetadataURL is the ECS container agent's introspection endpoint on the instance.
const DefaultAgentMetadataURL = "http://localhost:51678/v1/metadata"

// AgentMetadata is what the ECS agent on this instance says about it.
type AgentMetadata struct {
	Cluster              string `json:"Cluster"`
	ContainerInstanceArn string `json:"ContainerInstanceArn"`
}

// ReadAgentMetadata asks the ECS container agent on this instance (url, default
// DefaultAgentMetadataURL) which cluster it belongs to, so that an on-instance drain needs
// no configured cluster.
func ReadAgentMetadata(ctx context.Context, url string) (AgentMetadata, error) {
	if url == "" {
		url = DefaultAgentMetadataURL
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return AgentMetadata{}, fmt.Errorf("%w: agent metadata URL %q: %v", ErrInvalidInput, url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return AgentMetadata{}, fmt.Errorf("drain: the ECS agent's metadata at %s is unreachable (is this an ECS container instance? give the cluster instead): %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return AgentMetadata{}, fmt.Errorf("drain: reading the ECS agent's metadata: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return AgentMetadata{}, fmt.Errorf("drain: the ECS agent's metadata at %s answered HTTP %d", url, resp.StatusCode)
	}
	var md AgentMetadata
	if err := json.Unmarshal(body, &md); err != nil || md.Cluster == "" {
		return AgentMetadata{}, fmt.Errorf("drain: the ECS agent's metadata at %s names no cluster", url)
	}
	return md, nil
}
