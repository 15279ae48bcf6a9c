package drain

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/internal/errtext"
	"github.com/shipshape-dev/shipshape/internal/httpurl"
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
	if err := CheckAgentMetadataURL(url); err != nil {
		return AgentMetadata{}, err
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

// CheckAgentMetadataURL says, without a request, what makes url impossible to read as the
// agent's metadata (not http or https, no host, a port outside 1 to 65535), as an error
// wrapping ErrInvalidInput; nil when it may be read.
func CheckAgentMetadataURL(url string) error {
	if err := httpurl.Check("agent metadata URL", url, "like "+DefaultAgentMetadataURL); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return nil
}

// DefaultAgentConfigPath is where the ECS container agent's configuration lives on an ECS
// optimized AMI.
const DefaultAgentConfigPath = "/etc/ecs/ecs.config"

// DefaultStopTimeout is the ECS agent's default ECS_CONTAINER_STOP_TIMEOUT: how long it waits
// after SIGTERM before it kills a container.
const DefaultStopTimeout = 30 * time.Second

// AgentConfig is what the package reads of the ECS agent's configuration file.
type AgentConfig struct {
	// StopTimeout is ECS_CONTAINER_STOP_TIMEOUT (DefaultStopTimeout when the file does not
	// set it).
	StopTimeout time.Duration
}

// ReadAgentConfig reads the ECS agent's configuration file (KEY=value lines, as
// /etc/ecs/ecs.config holds them).
func ReadAgentConfig(path string) (AgentConfig, error) {
	cfg := AgentConfig{StopTimeout: DefaultStopTimeout}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, errtext.Wrap("drain", "reading the ECS agent's configuration", err)
	}
	for n, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.TrimSpace(k) != "ECS_CONTAINER_STOP_TIMEOUT" {
			continue
		}
		d, err := time.ParseDuration(strings.Trim(strings.TrimSpace(v), `"'`))
		if err != nil || d < 0 {
			return cfg, fmt.Errorf("%w: %s line %d: ECS_CONTAINER_STOP_TIMEOUT=%q is not a duration", ErrInvalidInput, path, n+1, v)
		}
		cfg.StopTimeout = d
	}
	return cfg, nil
}

// SpotStopWarning says, when a container stop timeout leaves a task too little of the two
// minutes a Spot interruption notice gives, what will happen; "" when it fits. Containers
// get SIGTERM when their task stops and SIGKILL after the stop timeout: a timeout that runs
// past the reclaim means the instance disappears under the container instead.
func SpotStopWarning(stopTimeout time.Duration) string {
	const margin = 15 * time.Second // DRAINING to the first SIGTERM, and the last step
	if stopTimeout+margin <= SpotWarning {
		return ""
	}
	return fmt.Sprintf("ECS_CONTAINER_STOP_TIMEOUT is %s: a Spot interruption leaves %s, so containers that use their whole stop timeout "+
		"are killed when EC2 reclaims the instance, not by ECS; set it to %s or less", stopTimeout, SpotWarning, SpotWarning-margin)
}
