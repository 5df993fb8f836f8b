package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type composeFile struct {
	Services map[string]struct {
		Build       any               `yaml:"build"`
		Image       string            `yaml:"image"`
		Hostname    string            `yaml:"hostname"`
		Command     any               `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		ReadOnly    bool              `yaml:"read_only"`
		CapDrop     []string          `yaml:"cap_drop"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func readCompose(t testing.TB) *composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(b, &cf); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return &cf
}

// TestCompose_ThreeNodes checks docker-compose.yml: three services of the
// image built here, each configured through VAULTD_LOCAL_CONFIG with its own
// named volume; the first bootstraps, the others have a retry_join for
// every other service. Then it runs the
// three containers' configurations as the image would (the image's CMD on
// an empty /vault/config), with the service names mapped to loopback, and
// they must form a cluster.
func TestCompose_ThreeNodes(t *testing.T) {
	cf := readCompose(t)
	var names []string
	for name := range cf.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) != 3 {
		t.Fatalf("docker-compose.yml has %d services, want 3", len(names))
	}
	const apiPort, clusterPort = 8200, 8201
	var slots []slot
	published := map[string]bool{}
	volumes := map[string]bool{}
	for i, name := range names {
		s := cf.Services[name]
		if fmt.Sprint(s.Build) != "." {
			t.Errorf("service %s builds %v, want the repository's Dockerfile (.)", name, s.Build)
		}
		if s.Command != nil {
			t.Errorf("service %s overrides the image's command with %v", name, s.Command)
		}
		if !s.ReadOnly || strings.Join(s.CapDrop, ",") != "ALL" {
			t.Errorf("service %s: read_only %v cap_drop %v; want a read-only root and no capabilities", name, s.ReadOnly, s.CapDrop)
		}
		env := s.Environment
		doc := env["VAULTD_LOCAL_CONFIG"]
		if doc == "" {
			t.Fatalf("service %s has no VAULTD_LOCAL_CONFIG", name)
		}
		addrs, _ := retryJoins(doc)
		var all []string
		for _, other := range names {
			all = append(all, fmt.Sprintf("http://%s:%d", other, apiPort))
		}
		if want := wantJoins(i, all); strings.Join(addrs, " ") != strings.Join(want, " ") {
			t.Errorf("service %s retry_join = %q, want %q", name, addrs, want)
		}
		if env["VAULT_API_ADDR"] != fmt.Sprintf("http://%s:%d", name, apiPort) ||
			env["VAULT_CLUSTER_ADDR"] != fmt.Sprintf("https://%s:%d", name, clusterPort) ||
			env["VAULT_RAFT_NODE_ID"] != name || s.Hostname != name {
			t.Errorf("service %s: hostname %q, VAULT_API_ADDR %q, VAULT_CLUSTER_ADDR %q, VAULT_RAFT_NODE_ID %q; want them to name the service",
				name, s.Hostname, env["VAULT_API_ADDR"], env["VAULT_CLUSTER_ADDR"], env["VAULT_RAFT_NODE_ID"])
		}
		dataVol := ""
		for _, v := range s.Volumes {
			if src, dst, ok := strings.Cut(v, ":"); ok && dst == "/vault/data" {
				dataVol = src
			}
		}
		if _, declared := cf.Volumes[dataVol]; dataVol == "" || !declared || volumes[dataVol] {
			t.Errorf("service %s: /vault/data volume %q, want a named volume of its own", name, dataVol)
		}
		volumes[dataVol] = true
		for _, p := range s.Ports {
			if published[p] || !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("service %s publishes %q: want a distinct port on 127.0.0.1", name, p)
			}
			published[p] = true
		}
	}
	slots = newSlots(t, names, names, apiPort, clusterPort)

	cmd := imageCmd(t)
	nodes := make([]*vnode, len(names))
	for i, name := range names {
		m := addressMapping(slots, i, apiPort, clusterPort)
		configDir := t.TempDir() // the image's /vault/config: empty
		m.add("/vault/data", t.TempDir())
		m.add("/vault/config", configDir)
		r := m.replacer()
		var env []string
		for k, v := range cf.Services[name].Environment {
			env = append(env, k+"="+r.Replace(v))
		}
		env = append(env, "HOME="+t.TempDir())
		args := make([]string, len(cmd))
		for j, a := range cmd {
			args[j] = r.Replace(a)
		}
		p := startVaultd(t, name, args, env)
		nodes[i] = newVnode(name, "http://"+slots[i].apiAddr(), p, nil)
		nodes[i].waitUp(t)
	}
	formCluster(t, nodes, []string{readyPath, livePath})
}
