package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const (
	// helmVersion is the helm the tests build from the Go module proxy.
	helmVersion = "v3.22.0"
	// helmEnv gates the helm tests: building helm takes minutes on 2 cores.
	helmEnv = "VAULTD_HELM_TESTS"

	releaseName = "vaultd"
	namespace   = "vaultd-test"

	// readyPath and livePath are vaultd's readiness and liveness views
	// (docs/observability.md): ready reflects quorum, raft lag, a blocked
	// audit device and removal, and keeps sealed and uninitialised pods
	// routable for unseal and init; live fails only for removal or an
	// audit write stuck for long.
	readyPath = "/v1/sys/health/ready?sealedok=true&uninitok=true"
	livePath  = "/v1/sys/health/live"
)

// Values files of the variants the tests render.
const (
	valuesDefault = ""
	valuesTLS     = `server:
  tls:
    enabled: true
    secretName: vaultd-tls
  extraConfig: |
    default_lease_ttl = "1h"
`
	valuesDev = `server:
  dev:
    enabled: true
    rootTokenId: devroot
`
	valuesActive = `server:
  service:
    active:
      enabled: true
`
	valuesK8sOff = `server:
  serviceRegistration:
    enabled: false
  authDelegator:
    enabled: false
  service:
    active:
      enabled: false
`
	valuesFive = `server:
  ha:
    replicas: 5
`
)

var (
	helmOnce sync.Once
	helmPath string
	helmErr  error
	helmTook time.Duration
)

// helmBin returns the helm binary, building it once per test run from the
// module proxy, or skips the test when VAULTD_HELM_TESTS is not 1.
func helmBin(t testing.TB) string {
	t.Helper()
	if os.Getenv(helmEnv) != "1" {
		t.Skipf("set %s=1 to run the helm tests (they build helm %s from the Go module proxy; several minutes on 2 cores the first time)", helmEnv, helmVersion)
	}
	helmOnce.Do(func() {
		start := time.Now()
		dir := filepath.Join(buildDir, "helm")
		if helmErr = os.MkdirAll(dir, 0o755); helmErr != nil {
			return
		}
		cmd := exec.Command("go", "install", "helm.sh/helm/v3/cmd/helm@"+helmVersion)
		cmd.Dir = buildDir // outside the module: `go install pkg@version` ignores go.mod anyway
		// GOFLAGS is cleared so a developer's flags (-mod=vendor, ...) cannot
		// break a build that has nothing to do with this module.
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=", "GOWORK=off")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			helmErr = fmt.Errorf("go install helm %s: %v\n%s", helmVersion, err, tail(out.String(), 4000))
			return
		}
		helmPath = filepath.Join(dir, "helm")
		helmTook = time.Since(start)
		t.Logf("helm %s built in %s", helmVersion, helmTook.Round(time.Second))
	})
	if helmErr != nil {
		t.Fatal(helmErr)
	}
	return helmPath
}

// runHelm runs helm with its state directories inside the test's build
// directory, so the developer's helm configuration plays no part.
func runHelm(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin := helmBin(t)
	home := filepath.Join(buildDir, "helm-home")
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "no-kubeconfig"),
	)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func chartDir() string { return filepath.Join(repoRoot, "charts", "vaultd") }

// valuesFile writes a values document to a temporary file.
func valuesFile(t testing.TB, values string) string {
	t.Helper()
	// Not under t.TempDir(): helm splits --values on commas, and subtest
	// names may have them.
	f, err := os.CreateTemp(buildDir, "values-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	if _, err := f.WriteString(values); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// object is one rendered Kubernetes object; Spec and the raw document are
// decoded further by the checks that need them.
type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Data map[string]string `json:"data"`
	Spec json.RawMessage   `json:"spec"`
	// Rules, RoleRef and Subjects are those of Roles and bindings.
	Rules []struct {
		APIGroups []string `json:"apiGroups"`
		Resources []string `json:"resources"`
		Verbs     []string `json:"verbs"`
	} `json:"rules"`
	RoleRef struct {
		Kind, Name string
	} `json:"roleRef"`
	Subjects []struct {
		Kind, Name, Namespace string
	} `json:"subjects"`
	// AutomountServiceAccountToken is a ServiceAccount's top-level field.
	AutomountServiceAccountToken *bool `json:"automountServiceAccountToken"`
}

type manifests struct {
	objs []object
}

// parseManifests decodes a multi-document YAML stream. YAML is decoded
// strictly enough to catch duplicate keys, then turned into JSON for typed
// decoding.
func parseManifests(src string) (*manifests, error) {
	dec := yaml.NewDecoder(strings.NewReader(src))
	m := &manifests{}
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("rendered YAML: %w", err)
		}
		if doc == nil {
			continue
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("rendered YAML to JSON: %w", err)
		}
		var o object
		if err := json.Unmarshal(b, &o); err != nil {
			return nil, err
		}
		if o.Kind == "" || o.APIVersion == "" || o.Metadata.Name == "" {
			return nil, fmt.Errorf("a rendered document lacks kind, apiVersion or metadata.name: %s", b)
		}
		m.objs = append(m.objs, o)
	}
	return m, nil
}

func (m *manifests) find(kind, name string) *object {
	for i := range m.objs {
		if m.objs[i].Kind == kind && m.objs[i].Metadata.Name == name {
			return &m.objs[i]
		}
	}
	return nil
}

func (m *manifests) ofKind(kind string) []*object {
	var out []*object
	for i := range m.objs {
		if m.objs[i].Kind == kind {
			out = append(out, &m.objs[i])
		}
	}
	return out
}

// render runs `helm template` with a values document and parses the result.
func render(t testing.TB, values string) *manifests {
	t.Helper()
	args := []string{"template", releaseName, chartDir(), "--namespace", namespace}
	if values != "" {
		args = append(args, "--values", valuesFile(t, values))
	}
	out, errOut, err := runHelm(t, args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	m, err := parseManifests(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return m
}

// ---- typed views of the objects the tests look into ----

type envVar struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	ValueFrom *struct {
		FieldRef *struct {
			FieldPath string `json:"fieldPath"`
		} `json:"fieldRef"`
		SecretKeyRef *struct {
			Name string `json:"name"`
			Key  string `json:"key"`
		} `json:"secretKeyRef"`
	} `json:"valueFrom"`
}

type probe struct {
	HTTPGet *struct {
		Path   string `json:"path"`
		Port   any    `json:"port"`
		Scheme string `json:"scheme"`
	} `json:"httpGet"`
	InitialDelaySeconds int `json:"initialDelaySeconds"`
	PeriodSeconds       int `json:"periodSeconds"`
}

type volumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly"`
}

type container struct {
	Name    string   `json:"name"`
	Image   string   `json:"image"`
	Command []string `json:"command"`
	Args    []string `json:"args"`
	Env     []envVar `json:"env"`
	Ports   []struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
	} `json:"ports"`
	ReadinessProbe  *probe `json:"readinessProbe"`
	LivenessProbe   *probe `json:"livenessProbe"`
	SecurityContext struct {
		ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation"`
		RunAsNonRoot             *bool `json:"runAsNonRoot"`
		Capabilities             struct {
			Drop []string `json:"drop"`
		} `json:"capabilities"`
	} `json:"securityContext"`
	Resources struct {
		Requests map[string]string `json:"requests"`
		Limits   map[string]string `json:"limits"`
	} `json:"resources"`
	VolumeMounts []volumeMount `json:"volumeMounts"`
}

type volume struct {
	Name      string `json:"name"`
	ConfigMap *struct {
		Name string `json:"name"`
	} `json:"configMap"`
	Secret *struct {
		SecretName string `json:"secretName"`
		Items      []struct {
			Key  string `json:"key"`
			Path string `json:"path"`
		} `json:"items"`
	} `json:"secret"`
	EmptyDir *struct{} `json:"emptyDir"`
}

type podSpec struct {
	ServiceAccountName           string `json:"serviceAccountName"`
	AutomountServiceAccountToken *bool  `json:"automountServiceAccountToken"`
	SecurityContext              struct {
		RunAsNonRoot *bool `json:"runAsNonRoot"`
		RunAsUser    *int  `json:"runAsUser"`
		FSGroup      *int  `json:"fsGroup"`
	} `json:"securityContext"`
	Affinity struct {
		PodAntiAffinity *struct {
			Preferred []struct {
				Weight int `json:"weight"`
				Term   struct {
					TopologyKey   string `json:"topologyKey"`
					LabelSelector struct {
						MatchLabels map[string]string `json:"matchLabels"`
					} `json:"labelSelector"`
				} `json:"podAffinityTerm"`
			} `json:"preferredDuringSchedulingIgnoredDuringExecution"`
		} `json:"podAntiAffinity"`
	} `json:"affinity"`
	Containers []container `json:"containers"`
	Volumes    []volume    `json:"volumes"`
}

type statefulSetSpec struct {
	ServiceName         string `json:"serviceName"`
	Replicas            int    `json:"replicas"`
	PodManagementPolicy string `json:"podManagementPolicy"`
	Selector            struct {
		MatchLabels map[string]string `json:"matchLabels"`
	} `json:"selector"`
	Template struct {
		Metadata struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec podSpec `json:"spec"`
	} `json:"template"`
	VolumeClaimTemplates []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			AccessModes []string `json:"accessModes"`
			Resources   struct {
				Requests map[string]string `json:"requests"`
			} `json:"resources"`
		} `json:"spec"`
	} `json:"volumeClaimTemplates"`
}

type serviceSpec struct {
	Type                     string            `json:"type"`
	ClusterIP                string            `json:"clusterIP"`
	PublishNotReadyAddresses bool              `json:"publishNotReadyAddresses"`
	Selector                 map[string]string `json:"selector"`
	Ports                    []struct {
		Name       string `json:"name"`
		Port       int    `json:"port"`
		TargetPort any    `json:"targetPort"`
	} `json:"ports"`
}

func decodeSpec[T any](t testing.TB, o *object) *T {
	t.Helper()
	var v T
	if err := json.Unmarshal(o.Spec, &v); err != nil {
		t.Fatalf("%s %s spec: %v", o.Kind, o.Metadata.Name, err)
	}
	return &v
}

// statefulSet returns the chart's one StatefulSet and its vaultd container.
func (m *manifests) statefulSet(t testing.TB) (*object, *statefulSetSpec, *container) {
	t.Helper()
	sets := m.ofKind("StatefulSet")
	if len(sets) != 1 {
		t.Fatalf("rendered %d StatefulSets, want 1", len(sets))
	}
	spec := decodeSpec[statefulSetSpec](t, sets[0])
	for i := range spec.Template.Spec.Containers {
		if c := &spec.Template.Spec.Containers[i]; c.Name == "vaultd" {
			return sets[0], spec, c
		}
	}
	t.Fatal("the StatefulSet has no container named vaultd")
	return nil, nil, nil
}

func (c *container) port(t testing.TB, name string) int {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q", c.Name, name)
	return 0
}

// podHosts returns the stable DNS names the StatefulSet gives its pods
// through its governing (headless) Service.
func podHosts(sts *object, spec *statefulSetSpec) []string {
	hosts := make([]string, spec.Replicas)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("%s-%d.%s.%s.svc.cluster.local", sts.Metadata.Name, i, spec.ServiceName, sts.Metadata.Namespace)
	}
	return hosts
}

var (
	reRetryJoin   = regexp.MustCompile(`(?s)retry_join\s*\{(.*?)\}`)
	reLeaderAddr  = regexp.MustCompile(`leader_api_addr\s*=\s*"([^"]*)"`)
	reLeaderCAFil = regexp.MustCompile(`leader_ca_cert_file\s*=\s*"([^"]*)"`)
)

// retryJoins returns the leader_api_addr and leader_ca_cert_file of every
// retry_join block in an HCL document.
func retryJoins(hcl string) (addrs, cas []string) {
	for _, blk := range reRetryJoin.FindAllStringSubmatch(hcl, -1) {
		if m := reLeaderAddr.FindStringSubmatch(blk[1]); m != nil {
			addrs = append(addrs, m[1])
		}
		if m := reLeaderCAFil.FindStringSubmatch(blk[1]); m != nil {
			cas = append(cas, m[1])
		}
	}
	return addrs, cas
}

// wantJoins is the retry_join list of node i: nothing for node 0, the
// bootstrap node (vaultd refuses sys/init on a node configured to join);
// every other node's address for the rest.
func wantJoins(i int, addrs []string) []string {
	if i == 0 {
		return nil
	}
	var out []string
	for j, a := range addrs {
		if j != i {
			out = append(out, a)
		}
	}
	return out
}

// raftFile is the ConfigMap key of pod i's raft storage file.
func raftFile(sts *object, i int) string { return fmt.Sprintf("raft-%s-%d.hcl", sts.Metadata.Name, i) }

// checkRetryJoins asserts each pod's retry_join list, and that together
// they name every replica.
func checkRetryJoins(t *testing.T, cm *object, sts *object, spec *statefulSetSpec, scheme string, port int) {
	t.Helper()
	var all []string
	for _, h := range podHosts(sts, spec) {
		all = append(all, fmt.Sprintf("%s://%s:%d", scheme, h, port))
	}
	named := map[string]bool{}
	for i := range all {
		hcl, ok := cm.Data[raftFile(sts, i)]
		if !ok {
			t.Errorf("ConfigMap %s has no %s", cm.Metadata.Name, raftFile(sts, i))
			continue
		}
		got, _ := retryJoins(hcl)
		if want := wantJoins(i, all); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: retry_join leader_api_addr = %q, want %q", raftFile(sts, i), got, want)
		}
		for _, a := range got {
			named[a] = true
		}
		if strings.Count(hcl, `storage "raft"`) != 1 {
			t.Errorf("%s does not define raft storage once:\n%s", raftFile(sts, i), hcl)
		}
	}
	for _, a := range all {
		if len(all) > 1 && !named[a] {
			t.Errorf("no pod's retry_join names %s", a)
		}
	}
	if strings.Contains(cm.Data["vaultd.hcl"], `storage "`) {
		t.Errorf("the shared vaultd.hcl defines storage; it is per pod")
	}
}

// expandArgs expands $(VAR) in a container's args from its env, as the
// kubelet does.
func expandArgs(args []string, env [][2]string) []string {
	m := map[string]string{}
	for _, kv := range env {
		m[kv[0]] = kv[1]
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = envRef.ReplaceAllStringFunc(a, func(ref string) string {
			if v, ok := m[ref[2:len(ref)-1]]; ok {
				return v
			}
			return ref
		})
	}
	return out
}

func subset(sub, of map[string]string) bool {
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return len(sub) > 0
}

func envMap(c *container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

// ---- the tests ----

func TestChart_Lint(t *testing.T) {
	helmBin(t)
	for _, v := range []struct{ name, values string }{
		{"default", valuesDefault}, {"tls", valuesTLS}, {"dev", valuesDev}, {"active", valuesActive}, {"k8s-off", valuesK8sOff}, {"five", valuesFive},
	} {
		t.Run(v.name, func(t *testing.T) {
			args := []string{"lint", chartDir(), "--strict", "--namespace", namespace}
			if v.values != "" {
				args = append(args, "--values", valuesFile(t, v.values))
			}
			out, errOut, err := runHelm(t, args...)
			if err != nil {
				t.Fatalf("helm lint: %v\n%s%s", err, out, errOut)
			}
		})
	}
}

// TestChart_InvalidValues: bad values fail `helm template` with a message
// that names the value, from the schema or, where the schema cannot say it
// clearly (or is skipped), from the chart's own checks.
func TestChart_InvalidValues(t *testing.T) {
	helmBin(t)
	tests := []struct {
		name   string
		values string
		flags  []string
		want   []string
	}{
		{"two replicas", "server:\n  ha:\n    replicas: 2\n", nil, []string{"/server/ha/replicas", "must be one of 1, 3, 5, 7, 9"}},
		{"zero replicas", "server:\n  ha:\n    replicas: 0\n", nil, []string{"/server/ha/replicas", "must be one of"}},
		{"four replicas", "server:\n  ha:\n    replicas: 4\n", nil, []string{"/server/ha/replicas"}},
		{"one replica without dev", "server:\n  ha:\n    replicas: 1\n", nil, []string{"/server/ha/replicas", "want 3"}},
		{"replicas not a number", "server:\n  ha:\n    replicas: three\n", nil, []string{"/server/ha/replicas"}},
		{"two replicas, schema skipped", "server:\n  ha:\n    replicas: 2\n", []string{"--skip-schema-validation"}, []string{"server.ha.replicas must be an odd number of at least 3", "got 2"}},
		{"zero replicas, schema skipped", "server:\n  ha:\n    replicas: 0\n", []string{"--skip-schema-validation"}, []string{"server.ha.replicas must be an odd number of at least 3", "got 0"}},
		{"TLS without a secret", "server:\n  tls:\n    enabled: true\n", nil, []string{"server.tls.secretName is required when server.tls.enabled is true"}},
		{"TLS with an empty secret", "server:\n  tls:\n    enabled: true\n    secretName: \"\"\n", nil, []string{"server.tls.secretName is required"}},
		{"TLS in dev mode", "server:\n  dev:\n    enabled: true\n  tls:\n    enabled: true\n    secretName: x\n", nil, []string{"server.tls.enabled is not supported with server.dev.enabled"}},
		{"unknown key", "server:\n  replicas: 3\n", nil, []string{"replicas"}},
		{"bad probe path", "server:\n  readinessProbe:\n    path: v1/sys/health\n", nil, []string{"/server/readinessProbe/path"}},
		{"scrape annotations without unauthenticated access", "metrics:\n  scrapeAnnotations: true\n", nil, []string{"metrics.scrapeAnnotations needs metrics.unauthenticatedAccess=true"}},
		{"ServiceMonitor without a way in", "metrics:\n  serviceMonitor:\n    enabled: true\n", nil, []string{"metrics.serviceMonitor.enabled needs"}},
		{"unauthenticated metrics in dev mode", "server:\n  dev:\n    enabled: true\nmetrics:\n  unauthenticatedAccess: true\n", nil, []string{"metrics.unauthenticatedAccess is not supported with server.dev.enabled"}},
		{"bad scrape interval", "metrics:\n  serviceMonitor:\n    interval: soon\n", nil, []string{"/metrics/serviceMonitor/interval"}},
		{"unknown metrics key", "metrics:\n  port: 9100\n", nil, []string{"port"}},
		{"transit seal without a token Secret", "server:\n  seal:\n    transit:\n      enabled: true\n      address: https://t:8200\n", nil, []string{"server.seal.transit.enabled needs", "tokenSecret.name"}},
		{"transit seal without an address", "server:\n  seal:\n    transit:\n      enabled: true\n      tokenSecret:\n        name: s\n", nil, []string{"server.seal.transit.enabled needs"}},
		{"transit seal token inline", "server:\n  seal:\n    transit:\n      token: s.x\n", nil, []string{"token"}},
		{"active Service without service registration", "server:\n  serviceRegistration:\n    enabled: false\n", nil, []string{"server.service.active.enabled needs server.serviceRegistration.enabled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"template", releaseName, chartDir(), "--namespace", namespace, "--values", valuesFile(t, tt.values)}, tt.flags...)
			out, errOut, err := runHelm(t, args...)
			if err == nil {
				t.Fatalf("helm template succeeded with invalid values:\n%s", tt.values)
			}
			if strings.Contains(errOut, "goroutine ") || out != "" && strings.Contains(out, "kind:") {
				t.Errorf("unexpected output: stdout %q, stderr %q", tail(out, 300), tail(errOut, 300))
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("helm template error = %q, want it to contain %q", errOut, w)
				}
			}
		})
	}
}

func TestChart_Default(t *testing.T) {
	m := render(t, valuesDefault)
	sts, spec, c := m.statefulSet(t)
	pod := &spec.Template.Spec

	if spec.Replicas != 3 {
		t.Errorf("replicas = %d, want 3", spec.Replicas)
	}
	if !subset(spec.Selector.MatchLabels, spec.Template.Metadata.Labels) {
		t.Errorf("the StatefulSet selector %v does not select its pods %v", spec.Selector.MatchLabels, spec.Template.Metadata.Labels)
	}
	podLabels := spec.Template.Metadata.Labels

	// Headless Service: peer DNS, published before the pods are ready.
	hl := m.find("Service", spec.ServiceName)
	if hl == nil {
		t.Fatalf("the StatefulSet's serviceName %q is not rendered", spec.ServiceName)
	}
	hs := decodeSpec[serviceSpec](t, hl)
	if hs.ClusterIP != "None" || !hs.PublishNotReadyAddresses {
		t.Errorf("service %s: clusterIP %q publishNotReadyAddresses %v; want a headless Service publishing unready pods", hl.Metadata.Name, hs.ClusterIP, hs.PublishNotReadyAddresses)
	}
	if !subset(hs.Selector, podLabels) {
		t.Errorf("service %s selector %v does not select the pods", hl.Metadata.Name, hs.Selector)
	}
	ports := map[int]bool{}
	for _, p := range hs.Ports {
		ports[p.Port] = true
	}
	if !ports[c.port(t, "http")] || !ports[c.port(t, "cluster")] {
		t.Errorf("headless service ports %v, want the API and cluster ports", hs.Ports)
	}

	// Client Service: every pod, no active-only selector.
	var client *object
	for _, s := range m.ofKind("Service") {
		ss := decodeSpec[serviceSpec](t, s)
		if ss.ClusterIP != "None" && s.Metadata.Name != sts.Metadata.Name+"-active" {
			if client != nil {
				t.Errorf("more than one non-headless Service by default: %s, %s", client.Metadata.Name, s.Metadata.Name)
			}
			client = s
			if !subset(ss.Selector, podLabels) {
				t.Errorf("client service selector %v does not select every pod", ss.Selector)
			}
			if _, ok := ss.Selector["vault-active"]; ok {
				t.Errorf("client service selects on vault-active")
			}
		}
	}
	if client == nil {
		t.Fatal("no client Service rendered")
	}

	// ConfigMap and retry_join for every replica.
	var cm *object
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil {
			cm = m.find("ConfigMap", v.ConfigMap.Name)
		}
	}
	if cm == nil {
		t.Fatal("the pods mount no rendered ConfigMap")
	}
	hcl := cm.Data["vaultd.hcl"]
	checkRetryJoins(t, cm, sts, spec, "http", c.port(t, "http"))
	if !strings.Contains(hcl, "tls_disable") {
		t.Errorf("vaultd.hcl lacks a plain listener:\n%s", hcl)
	}
	// Every pod's args name config files that the ConfigMap holds, in the
	// directory where it is mounted.
	cfgMount := ""
	for _, vm := range c.VolumeMounts {
		if vm.Name == "config" {
			cfgMount = vm.MountPath
		}
	}
	for i := 0; i < spec.Replicas; i++ {
		args := expandArgs(c.Args, podEnv(t, c, fmt.Sprintf("%s-%d", sts.Metadata.Name, i), namespace))
		n := 0
		for j, a := range args {
			if a != "-config" || j+1 >= len(args) {
				continue
			}
			n++
			dir, file := filepath.Split(args[j+1])
			if filepath.Clean(dir) != cfgMount || cm.Data[file] == "" {
				t.Errorf("pod %d: -config %s is not a file of the ConfigMap mounted at %s", i, args[j+1], cfgMount)
			}
		}
		if n == 0 {
			t.Errorf("pod %d: args %q pass no -config", i, args)
		}
	}
	env := envMap(c)
	for _, k := range []string{"VAULT_API_ADDR", "VAULT_CLUSTER_ADDR", "VAULT_RAFT_NODE_ID"} {
		if !strings.Contains(env[k], "$(POD_NAME)") {
			t.Errorf("env %s = %q, want it derived from $(POD_NAME)", k, env[k])
		}
	}

	// A PVC per pod for raft data, mounted where the config stores it.
	if len(spec.VolumeClaimTemplates) != 1 || spec.VolumeClaimTemplates[0].Spec.Resources.Requests["storage"] == "" {
		t.Fatalf("volumeClaimTemplates = %+v, want one data volume with a size", spec.VolumeClaimTemplates)
	}
	dataMount := ""
	for _, vm := range c.VolumeMounts {
		if vm.Name == spec.VolumeClaimTemplates[0].Metadata.Name {
			dataMount = vm.MountPath
		}
	}
	if raft := cm.Data[raftFile(sts, 0)]; dataMount == "" || !strings.Contains(raft, fmt.Sprintf("path = %q", dataMount)) {
		t.Errorf("the data PVC is mounted at %q, but raft's path is not there:\n%s", dataMount, raft)
	}

	// Every mount has a volume.
	vols := map[string]bool{spec.VolumeClaimTemplates[0].Metadata.Name: true}
	for _, v := range pod.Volumes {
		vols[v.Name] = true
	}
	for _, vm := range c.VolumeMounts {
		if !vols[vm.Name] {
			t.Errorf("volume mount %s has no volume", vm.Name)
		}
	}

	// Probes.
	for name, p := range map[string]*probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("no %s probe", name)
			continue
		}
		want := map[string]string{"readiness": readyPath, "liveness": livePath}[name]
		if p.HTTPGet.Path != want {
			t.Errorf("%s probe path = %q, want %q", name, p.HTTPGet.Path, want)
		}
		if p.HTTPGet.Port != "http" || p.HTTPGet.Scheme != "HTTP" {
			t.Errorf("%s probe port %v scheme %s, want the http port over HTTP", name, p.HTTPGet.Port, p.HTTPGet.Scheme)
		}
	}
	if c.ReadinessProbe != nil && c.LivenessProbe != nil && c.LivenessProbe.InitialDelaySeconds <= c.ReadinessProbe.InitialDelaySeconds {
		t.Errorf("liveness initialDelaySeconds %d, want it longer than readiness's %d", c.LivenessProbe.InitialDelaySeconds, c.ReadinessProbe.InitialDelaySeconds)
	}

	// Security.
	sc := pod.SecurityContext
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 || sc.FSGroup == nil {
		t.Errorf("pod securityContext %+v, want runAsNonRoot, a non-zero runAsUser and an fsGroup", sc)
	}
	cs := c.SecurityContext
	if cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem {
		t.Error("container root file system is not read-only")
	}
	if cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation {
		t.Error("container allows privilege escalation")
	}
	if strings.Join(cs.Capabilities.Drop, ",") != "ALL" {
		t.Errorf("container drops capabilities %v, want ALL", cs.Capabilities.Drop)
	}
	if pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
		t.Error("the pods do not mount the service account token that service registration and TokenReviews use")
	}
	if len(c.Resources.Requests) == 0 || len(c.Resources.Limits) == 0 {
		t.Errorf("resources = %+v, want requests and limits", c.Resources)
	}
	if len(c.Command) != 0 {
		t.Errorf("container command %q overrides the image's ENTRYPOINT", c.Command)
	}

	// Anti-affinity by hostname.
	aa := pod.Affinity.PodAntiAffinity
	if aa == nil || len(aa.Preferred) == 0 || aa.Preferred[0].Term.TopologyKey != "kubernetes.io/hostname" || !subset(aa.Preferred[0].Term.LabelSelector.MatchLabels, podLabels) {
		t.Errorf("pod anti-affinity = %+v, want a preferred term by kubernetes.io/hostname over the vaultd pods", aa)
	}

	// PodDisruptionBudget.
	pdbs := m.ofKind("PodDisruptionBudget")
	if len(pdbs) != 1 {
		t.Fatalf("rendered %d PodDisruptionBudgets, want 1", len(pdbs))
	}
	var pdb struct {
		MaxUnavailable any `json:"maxUnavailable"`
		Selector       struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
	}
	if err := json.Unmarshal(pdbs[0].Spec, &pdb); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(pdb.MaxUnavailable) != "1" || !subset(pdb.Selector.MatchLabels, podLabels) {
		t.Errorf("PDB maxUnavailable %v selector %v, want 1 over the vaultd pods", pdb.MaxUnavailable, pdb.Selector.MatchLabels)
	}

	// By default: service registration, the active Service and its RBAC,
	// and TokenReview delegation for auth/kubernetes.
	checkServiceRegistration(t, m, hcl, sts.Metadata.Name)
	checkAuthDelegator(t, m)

	// helm test hook.
	checkTestHook(t, m, "http://"+client.Metadata.Name+"."+namespace+".svc.cluster.local:")
}

// checkTestHook checks the `helm test` pod: a hook that curls sys/health on
// the client Service.
func checkTestHook(t *testing.T, m *manifests, urlPrefix string) {
	t.Helper()
	var hook *object
	for _, p := range m.ofKind("Pod") {
		if p.Metadata.Annotations["helm.sh/hook"] == "test" {
			hook = p
		}
	}
	if hook == nil {
		t.Fatal("no helm test hook pod rendered")
	}
	ps := decodeSpec[podSpec](t, hook)
	if len(ps.Containers) != 1 {
		t.Fatalf("test pod has %d containers", len(ps.Containers))
	}
	argv := strings.Join(append(ps.Containers[0].Command, ps.Containers[0].Args...), " ")
	if !strings.HasPrefix(argv, "curl ") || !strings.Contains(argv, "--fail") || !strings.Contains(argv, urlPrefix) || !strings.Contains(argv, "/v1/sys/health") {
		t.Errorf("test pod runs %q, want curl --fail on %s…/v1/sys/health", argv, urlPrefix)
	}
}

func TestChart_TLS(t *testing.T) {
	m := render(t, valuesTLS)
	_, spec, c := m.statefulSet(t)
	var tlsVol *volume
	for i, v := range spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == "vaultd-tls" {
			tlsVol = &spec.Template.Spec.Volumes[i]
		}
	}
	if tlsVol == nil {
		t.Fatal("no volume from Secret vaultd-tls")
	}
	mount := ""
	for _, vm := range c.VolumeMounts {
		if vm.Name == tlsVol.Name {
			mount = vm.MountPath
		}
	}
	if mount == "" {
		t.Fatal("the TLS Secret is not mounted")
	}
	env := envMap(c)
	if env["VAULT_CACERT"] != mount+"/ca.crt" {
		t.Errorf("VAULT_CACERT = %q, want %s/ca.crt", env["VAULT_CACERT"], mount)
	}
	if !strings.HasPrefix(env["VAULT_API_ADDR"], "https://") || !strings.HasPrefix(env["VAULT_ADDR"], "https://") {
		t.Errorf("VAULT_API_ADDR %q, VAULT_ADDR %q; want https", env["VAULT_API_ADDR"], env["VAULT_ADDR"])
	}
	for name, p := range map[string]*probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Scheme != "HTTPS" {
			t.Errorf("%s probe is not HTTPS", name)
		}
	}
	cm := m.find("ConfigMap", "vaultd-config")
	if cm == nil {
		t.Fatal("no ConfigMap vaultd-config")
	}
	hcl := cm.Data["vaultd.hcl"]
	for _, want := range []string{`tls_cert_file   = "` + mount + `/tls.crt"`, `tls_key_file    = "` + mount + `/tls.key"`} {
		if !strings.Contains(hcl, want) {
			t.Errorf("vaultd.hcl lacks %s:\n%s", want, hcl)
		}
	}
	if strings.Contains(hcl, "tls_disable") {
		t.Errorf("vaultd.hcl disables TLS:\n%s", hcl)
	}
	sts, _, _ := m.statefulSet(t)
	checkRetryJoins(t, cm, sts, spec, "https", c.port(t, "http"))
	for i := 1; i < spec.Replicas; i++ {
		addrs, cas := retryJoins(cm.Data[raftFile(sts, i)])
		if len(cas) != len(addrs) {
			t.Errorf("%s: %d retry_join blocks, %d with leader_ca_cert_file", raftFile(sts, i), len(addrs), len(cas))
		}
		for _, ca := range cas {
			if ca != mount+"/ca.crt" {
				t.Errorf("%s: leader_ca_cert_file %s, want %s/ca.crt", raftFile(sts, i), ca, mount)
			}
		}
	}
	if cm.Data["extra.hcl"] == "" {
		t.Error("server.extraConfig is not rendered as extra.hcl")
	}
	checkTestHook(t, m, "https://vaultd."+namespace+".svc.cluster.local:")
}

func TestChart_Dev(t *testing.T) {
	m := render(t, valuesDev)
	_, spec, c := m.statefulSet(t)
	if spec.Replicas != 1 {
		t.Errorf("dev replicas = %d, want 1", spec.Replicas)
	}
	if len(c.Args) < 2 || c.Args[0] != "server" || c.Args[1] != "-dev" {
		t.Errorf("dev args = %q, want server -dev …", c.Args)
	}
	for _, kind := range []string{"ConfigMap", "PodDisruptionBudget", "Role", "RoleBinding", "ClusterRoleBinding"} {
		if n := len(m.ofKind(kind)); n != 0 {
			t.Errorf("dev mode renders %d %s", n, kind)
		}
	}
	if a := spec.Template.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Error("dev mode mounts a service account token")
	}
	if len(spec.VolumeClaimTemplates) != 0 {
		t.Error("dev mode claims persistent volumes")
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != readyPath {
		t.Error("dev mode has no readiness probe on sys/health/ready")
	}
}

func TestChart_ActiveService(t *testing.T) {
	m := render(t, valuesActive)
	sts, spec, _ := m.statefulSet(t)
	cm := m.find("ConfigMap", "vaultd-config")
	if cm == nil {
		t.Fatal("no vaultd-config ConfigMap")
	}
	checkServiceRegistration(t, m, cm.Data["vaultd.hcl"], sts.Metadata.Name)
	if a := spec.Template.Spec.AutomountServiceAccountToken; a == nil || !*a {
		t.Error("service registration needs the service account token mounted")
	}
}

// checkServiceRegistration: the config has the service_registration
// stanza (namespace and pod name come from VAULT_K8S_*), the -active
// Service selects vault-active=true among the chart's pods, and a Role
// bound to the pods' ServiceAccount lets them get and patch pods.
func checkServiceRegistration(t *testing.T, m *manifests, hcl, fullname string) {
	t.Helper()
	if !strings.Contains(hcl, `service_registration "kubernetes" {}`) {
		t.Errorf("vaultd.hcl lacks service_registration \"kubernetes\":\n%s", hcl)
	}
	svc := m.find("Service", fullname+"-active")
	if svc == nil {
		t.Fatalf("no %s-active Service", fullname)
	}
	_, spec, c := m.statefulSet(t)
	ss := decodeSpec[serviceSpec](t, svc)
	if ss.Selector["vault-active"] != "true" || !subset(ss.Selector, mergeLabels(spec.Template.Metadata.Labels, map[string]string{"vault-active": "true"})) {
		t.Errorf("active service selector %v, want the chart's pods with vault-active=true", ss.Selector)
	}
	env := envMap(c)
	if env["VAULT_K8S_POD_NAME"] != "$(POD_NAME)" || env["VAULT_K8S_NAMESPACE"] != "$(POD_NAMESPACE)" {
		t.Errorf("VAULT_K8S_POD_NAME / VAULT_K8S_NAMESPACE = %q / %q", env["VAULT_K8S_POD_NAME"], env["VAULT_K8S_NAMESPACE"])
	}
	roles, bindings := m.ofKind("Role"), m.ofKind("RoleBinding")
	if len(roles) != 1 || len(bindings) != 1 {
		t.Fatalf("%d Roles and %d RoleBindings, want 1 and 1", len(roles), len(bindings))
	}
	verbs := map[string]bool{}
	for _, r := range roles[0].Rules {
		if slices.Contains(r.Resources, "pods") && slices.Contains(r.APIGroups, "") {
			for _, v := range r.Verbs {
				verbs[v] = true
			}
		}
	}
	if !verbs["get"] || !verbs["patch"] {
		t.Errorf("Role rules %+v do not allow get and patch on pods", roles[0].Rules)
	}
	b := bindings[0]
	if b.RoleRef.Kind != "Role" || b.RoleRef.Name != roles[0].Metadata.Name || len(b.Subjects) != 1 ||
		b.Subjects[0].Kind != "ServiceAccount" || b.Subjects[0].Name != spec.Template.Spec.ServiceAccountName {
		t.Errorf("RoleBinding %+v %+v does not bind the Role to the pods' ServiceAccount", b.RoleRef, b.Subjects)
	}
}

// checkAuthDelegator: a ClusterRoleBinding gives the pods'
// ServiceAccount system:auth-delegator (TokenReviews for auth/kubernetes).
func checkAuthDelegator(t *testing.T, m *manifests) {
	t.Helper()
	_, spec, _ := m.statefulSet(t)
	crbs := m.ofKind("ClusterRoleBinding")
	if len(crbs) != 1 {
		t.Fatalf("%d ClusterRoleBindings, want 1", len(crbs))
	}
	b := crbs[0]
	if b.RoleRef.Kind != "ClusterRole" || b.RoleRef.Name != "system:auth-delegator" || len(b.Subjects) != 1 ||
		b.Subjects[0].Name != spec.Template.Spec.ServiceAccountName || b.Subjects[0].Namespace != namespace {
		t.Errorf("ClusterRoleBinding %+v %+v, want system:auth-delegator for the pods' ServiceAccount", b.RoleRef, b.Subjects)
	}
}

func mergeLabels(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// TestChart_KubernetesIntegrationOff: with service registration, the
// active Service and the auth delegator off, the chart renders no RBAC, no
// stanza, and mounts no token.
func TestChart_KubernetesIntegrationOff(t *testing.T) {
	m := render(t, valuesK8sOff)
	sts, spec, _ := m.statefulSet(t)
	for _, kind := range []string{"Role", "RoleBinding", "ClusterRoleBinding"} {
		if n := len(m.ofKind(kind)); n != 0 {
			t.Errorf("%d %s rendered", n, kind)
		}
	}
	if m.find("Service", sts.Metadata.Name+"-active") != nil {
		t.Error("the active Service is rendered")
	}
	if cm := m.find("ConfigMap", "vaultd-config"); cm == nil || strings.Contains(cm.Data["vaultd.hcl"], "service_registration") {
		t.Error("the config has a service_registration stanza")
	}
	if a := spec.Template.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Error("the pods mount a service account token they do not use")
	}
}

func TestChart_FiveReplicas(t *testing.T) {
	m := render(t, valuesFive)
	sts, spec, c := m.statefulSet(t)
	if spec.Replicas != 5 {
		t.Errorf("replicas %d, want 5", spec.Replicas)
	}
	checkRetryJoins(t, m.find("ConfigMap", "vaultd-config"), sts, spec, "http", c.port(t, "http"))
}

// TestChart_Notes renders NOTES.txt (helm template does not) through a copy
// of the chart that exposes it with `tpl`, and checks the walk-through.
func TestChart_Notes(t *testing.T) {
	helmBin(t)
	dir := filepath.Join(t.TempDir(), "vaultd")
	if err := os.CopyFS(dir, os.DirFS(chartDir())); err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(dir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), notes, 0o644); err != nil {
		t.Fatal(err)
	}
	probe := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get \"notes.txt\") . | quote }}\n"
	if err := os.WriteFile(filepath.Join(dir, "templates", "zz-notes.yaml"), []byte(probe), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		name, values string
		want         []string
	}{
		{"default", valuesDefault, []string{
			"kubectl -n " + namespace + " exec -ti vaultd-0 -- vaultd operator init",
			"kubectl -n " + namespace + " exec -ti vaultd-0 -- vaultd operator unseal",
			"kubectl -n " + namespace + " exec -ti vaultd-1 -- vaultd operator unseal",
			"kubectl -n " + namespace + " exec -ti vaultd-2 -- vaultd operator unseal",
		}},
		{"five", valuesFive, []string{"exec -ti vaultd-4 -- vaultd operator unseal"}},
		{"dev", valuesDev, []string{"DEV MODE", "Root Token"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			args := []string{"template", releaseName, dir, "--namespace", namespace, "--show-only", "templates/zz-notes.yaml"}
			if v.values != "" {
				args = append(args, "--values", valuesFile(t, v.values))
			}
			out, errOut, err := runHelm(t, args...)
			if err != nil {
				t.Fatalf("rendering NOTES.txt: %v\n%s", err, errOut)
			}
			m, err := parseManifests(out)
			if err != nil {
				t.Fatal(err)
			}
			text := m.find("ConfigMap", "notes").Data["notes"]
			for _, w := range v.want {
				if !strings.Contains(text, w) {
					t.Errorf("NOTES.txt lacks %q:\n%s", w, text)
				}
			}
			if v.name == "default" && strings.Contains(text, "exec -ti vaultd-3") {
				t.Errorf("NOTES.txt names a pod that does not exist:\n%s", text)
			}
		})
	}
}

// TestChart_ValuesDocumented: every key in values.yaml has a comment, and
// the schema knows every key.
func TestChart_ValuesDocumented(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(chartDir(), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		t.Fatal(err)
	}
	schemaSrc, err := os.ReadFile(filepath.Join(chartDir(), "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(schemaSrc, &schema); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	var walk func(n *yaml.Node, path string, sch map[string]any)
	walk = func(n *yaml.Node, path string, sch map[string]any) {
		if n.Kind != yaml.MappingNode {
			return
		}
		props, _ := sch["properties"].(map[string]any)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := strings.TrimPrefix(path+"."+k.Value, ".")
			if strings.TrimSpace(k.HeadComment) == "" {
				t.Errorf("values.yaml: %s (line %d) has no comment", p, k.Line)
			}
			sub, ok := props[k.Value].(map[string]any)
			if !ok {
				t.Errorf("values.schema.json does not describe %s", p)
				continue
			}
			if ref, ok := sub["$ref"].(string); ok {
				name := strings.TrimPrefix(ref, "#/definitions/")
				sub, _ = schema["definitions"].(map[string]any)[name].(map[string]any)
			}
			// Maps of free-form objects (resources, securityContext...) are
			// documented as a whole.
			if _, typed := sub["properties"]; typed {
				walk(v, p, sub)
			}
		}
	}
	walk(root.Content[0], "", schema)
}

// collectFiles lists the chart's files, for the check below.
func collectFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestChart_Files: the chart ships what issue 6 asks for (this test needs no
// helm).
func TestChart_Files(t *testing.T) {
	files := strings.Join(collectFiles(t, chartDir()), "\n")
	for _, want := range []string{"Chart.yaml", "values.yaml", "values.schema.json", "templates/NOTES.txt", "templates/statefulset.yaml", "templates/pdb.yaml", "templates/tests/test-health.yaml"} {
		if !strings.Contains(files, want) {
			t.Errorf("the chart has no %s", want)
		}
	}
}

// TestChart_Metrics: the metrics options render an unauthenticated
// metrics listener, scrape annotations on the pods, and a ServiceMonitor
// that selects exactly the client Service (one scrape per pod) on its
// http port, with a bearer token Secret or the TLS CA when asked.
func TestChart_Metrics(t *testing.T) {
	// Off by default: no ServiceMonitor, no annotations, a token is needed.
	m := render(t, valuesDefault)
	if len(m.ofKind("ServiceMonitor")) != 0 {
		t.Error("a ServiceMonitor is rendered by default")
	}
	_, spec, _ := m.statefulSet(t)
	if _, ok := spec.Template.Metadata.Annotations["prometheus.io/scrape"]; ok {
		t.Error("scrape annotations are rendered by default")
	}
	if strings.Contains(m.find("ConfigMap", "vaultd-config").Data["vaultd.hcl"], "unauthenticated_metrics_access") {
		t.Error("metrics are unauthenticated by default")
	}

	m = render(t, "metrics:\n  unauthenticatedAccess: true\n  scrapeAnnotations: true\n  serviceMonitor:\n    enabled: true\n    interval: 15s\n    labels:\n      release: prom\n")
	hcl := m.find("ConfigMap", "vaultd-config").Data["vaultd.hcl"]
	if !strings.Contains(hcl, "telemetry {\n    unauthenticated_metrics_access = true\n  }") {
		t.Errorf("vaultd.hcl lacks the listener's telemetry block:\n%s", hcl)
	}
	_, spec, c := m.statefulSet(t)
	ann := spec.Template.Metadata.Annotations
	port := c.port(t, "http")
	for k, v := range map[string]string{"prometheus.io/scrape": "true", "prometheus.io/path": "/v1/sys/metrics",
		"prometheus.io/port": fmt.Sprint(port), "prometheus.io/scheme": "http", "prometheus.io/param_format": "prometheus"} {
		if ann[k] != v {
			t.Errorf("pod annotation %s = %q, want %q", k, ann[k], v)
		}
	}
	sms := m.ofKind("ServiceMonitor")
	if len(sms) != 1 {
		t.Fatalf("%d ServiceMonitors, want 1", len(sms))
	}
	sm := sms[0]
	if sm.APIVersion != "monitoring.coreos.com/v1" || sm.Metadata.Namespace != namespace || sm.Metadata.Labels["release"] != "prom" {
		t.Errorf("ServiceMonitor %s in %q with labels %v", sm.APIVersion, sm.Metadata.Namespace, sm.Metadata.Labels)
	}
	type endpoint struct {
		Port          string              `json:"port"`
		Path          string              `json:"path"`
		Params        map[string][]string `json:"params"`
		Scheme        string              `json:"scheme"`
		Interval      string              `json:"interval"`
		TLSConfig     map[string]any      `json:"tlsConfig"`
		Authorization *struct {
			Type        string            `json:"type"`
			Credentials map[string]string `json:"credentials"`
		} `json:"authorization"`
	}
	type smSpec struct {
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Endpoints []endpoint `json:"endpoints"`
	}
	ss := decodeSpec[smSpec](t, sm)
	var selected []string
	for _, svc := range m.ofKind("Service") {
		if subset(ss.Selector.MatchLabels, svc.Metadata.Labels) {
			selected = append(selected, svc.Metadata.Name)
			sv := decodeSpec[serviceSpec](t, svc)
			found := false
			for _, p := range sv.Ports {
				found = found || p.Name == "http"
			}
			if !found {
				t.Errorf("Service %s has no http port for the ServiceMonitor", svc.Metadata.Name)
			}
			if !subset(sv.Selector, spec.Template.Metadata.Labels) {
				t.Errorf("Service %s does not select the vaultd pods", svc.Metadata.Name)
			}
		}
	}
	if len(selected) != 1 || selected[0] != "vaultd" {
		t.Errorf("the ServiceMonitor selects Services %v, want exactly the client Service", selected)
	}
	if len(ss.NamespaceSelector.MatchNames) != 1 || ss.NamespaceSelector.MatchNames[0] != namespace {
		t.Errorf("namespaceSelector %v", ss.NamespaceSelector.MatchNames)
	}
	if len(ss.Endpoints) != 1 {
		t.Fatalf("%d endpoints", len(ss.Endpoints))
	}
	ep := ss.Endpoints[0]
	if ep.Port != "http" || ep.Path != "/v1/sys/metrics" || len(ep.Params["format"]) != 1 || ep.Params["format"][0] != "prometheus" ||
		ep.Scheme != "http" || ep.Interval != "15s" || ep.Authorization != nil || ep.TLSConfig != nil {
		t.Errorf("endpoint %+v", ep)
	}

	// With a token Secret instead, over TLS.
	m = render(t, "server:\n  tls:\n    enabled: true\n    secretName: vaultd-tls\nmetrics:\n  serviceMonitor:\n    enabled: true\n    bearerTokenSecret:\n      name: vaultd-metrics\n")
	if strings.Contains(m.find("ConfigMap", "vaultd-config").Data["vaultd.hcl"], "unauthenticated_metrics_access") {
		t.Error("a bearer token ServiceMonitor made metrics unauthenticated")
	}
	ep = decodeSpec[smSpec](t, m.ofKind("ServiceMonitor")[0]).Endpoints[0]
	if ep.Scheme != "https" || ep.Authorization == nil || ep.Authorization.Type != "Bearer" ||
		ep.Authorization.Credentials["name"] != "vaultd-metrics" || ep.Authorization.Credentials["key"] != "token" {
		t.Errorf("TLS + bearer endpoint %+v", ep)
	}
	ca, _ := ep.TLSConfig["ca"].(map[string]any)
	sec, _ := ca["secret"].(map[string]any)
	if sec["name"] != "vaultd-tls" || sec["key"] != "ca.crt" {
		t.Errorf("tlsConfig %v, want the CA from vaultd-tls/ca.crt", ep.TLSConfig)
	}
}

// TestChart_AutoUnseal: server.seal.transit renders a seal "transit"
// stanza in the shared configuration, the token only as
// VAULT_TRANSIT_SEAL_TOKEN from the named Secret (never in the ConfigMap),
// and the transit vault's CA from its own Secret.
func TestChart_AutoUnseal(t *testing.T) {
	m := render(t, `
server:
  seal:
    transit:
      enabled: true
      address: https://vault-transit.vault-system.svc:8200
      mountPath: transit/
      keyName: vaultd-unseal
      keyIdPrefix: prod-
      tokenSecret:
        name: vaultd-seal-token
        key: token
      caSecretName: vault-transit-ca
      tlsServerName: vault-transit
`)
	_, spec, c := m.statefulSet(t)
	cm := m.find("ConfigMap", "vaultd-config")
	if cm == nil {
		t.Fatal("no ConfigMap vaultd-config")
	}
	hcl := cm.Data["vaultd.hcl"]
	for _, want := range []string{
		`seal "transit" {`,
		`address         = "https://vault-transit.vault-system.svc:8200"`,
		`mount_path      = "transit/"`,
		`key_name        = "vaultd-unseal"`,
		`key_id_prefix   = "prod-"`,
		`tls_ca_cert     = "/vault/seal-tls/ca.crt"`,
		`tls_server_name = "vault-transit"`,
		`disable_renewal = false`,
	} {
		if !strings.Contains(hcl, want) {
			t.Errorf("vaultd.hcl lacks %s:\n%s", want, hcl)
		}
	}
	for name, content := range cm.Data {
		if regexp.MustCompile(`(?m)^\s*token\s*=`).MatchString(content) {
			t.Errorf("%s carries a token setting:\n%s", name, content)
		}
	}
	var tok *envVar
	for i, e := range c.Env {
		if e.Name == "VAULT_TRANSIT_SEAL_TOKEN" {
			tok = &c.Env[i]
		}
	}
	if tok == nil || tok.Value != "" || tok.ValueFrom == nil || tok.ValueFrom.SecretKeyRef == nil ||
		tok.ValueFrom.SecretKeyRef.Name != "vaultd-seal-token" || tok.ValueFrom.SecretKeyRef.Key != "token" {
		t.Fatalf("VAULT_TRANSIT_SEAL_TOKEN = %+v, want it from Secret vaultd-seal-token key token", tok)
	}
	var vol string
	for _, v := range spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == "vault-transit-ca" {
			vol = v.Name
		}
	}
	mounted := false
	for _, vm := range c.VolumeMounts {
		if vm.Name == vol && vol != "" && vm.MountPath == "/vault/seal-tls" && vm.ReadOnly {
			mounted = true
		}
	}
	if !mounted {
		t.Error("the transit CA Secret is not mounted read-only at /vault/seal-tls")
	}

	// Off by default: no stanza, no token variable.
	m = render(t, valuesDefault)
	_, _, c = m.statefulSet(t)
	if strings.Contains(m.find("ConfigMap", "vaultd-config").Data["vaultd.hcl"], "seal ") {
		t.Error("the default values render a seal stanza")
	}
	if _, ok := envMap(c)["VAULT_TRANSIT_SEAL_TOKEN"]; ok {
		t.Error("the default values set VAULT_TRANSIT_SEAL_TOKEN")
	}
}
