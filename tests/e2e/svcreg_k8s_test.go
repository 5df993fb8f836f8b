package e2e

import (
	"fmt"
	"os"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/vaultd/vaultd/tests/fakek8s"
)

// startK8sNode is startNode with a service_registration "kubernetes"
// stanza naming pod vault/<id>.
func startK8sNode(t *testing.T, id string, apiPort, clPort int, joins []string) *clusterNode {
	t.Helper()
	dir := t.TempDir()
	cfg := clusterConfig(t, dir, id, apiPort, clPort, joins)
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "service_registration \"kubernetes\" {\n  namespace = \"vault\"\n  pod_name  = %q\n}\n", id)
	f.Close()
	addr := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	p := startProc(t, addr, "server", "-config", cfg)
	p.DataDir, p.Config = dir, cfg
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- %s log ----\n%s", id, tail(p.Log.String(), 40))
		}
	})
	return &clusterNode{id: id, p: p, addr: addr}
}

// TestServiceRegistration_Kubernetes runs three nodes that each keep the
// labels of "their" pod on a fake API server current, and checks the
// labels across init, unseal, step-down, seal and a graceful stop of the
// active node: the pod labelled vault-active=true is always, eventually,
// the node that is active.
func TestServiceRegistration_Kubernetes(t *testing.T) {
	api := fakek8s.New(t, "pod-sa-token")
	host, port := api.HostPort()
	t.Setenv("KUBERNETES_SERVICE_HOST", host)
	t.Setenv("KUBERNETES_SERVICE_PORT", port)
	t.Setenv("VAULTD_K8S_SERVICE_ACCOUNT_DIR", api.ServiceAccountDir(t))
	ids := []string{"node1", "node2", "node3"}
	for _, id := range ids {
		api.AddPod("vault", id, map[string]string{"app.kubernetes.io/name": "vaultd"})
	}
	var apiPort, clPort [3]int
	for i := range apiPort {
		apiPort[i], clPort[i] = freePort(t), freePort(t)
	}
	first := fmt.Sprintf("http://127.0.0.1:%d", apiPort[0])
	nodes := []*clusterNode{startK8sNode(t, "node1", apiPort[0], clPort[0], nil)}
	for i := 1; i < 3; i++ {
		nodes = append(nodes, startK8sNode(t, ids[i], apiPort[i], clPort[i], []string{first}))
	}

	labels := func(i int) map[string]string { l, _ := api.Labels("vault", ids[i]); return l }
	want := func(what string, cond func() bool) { t.Helper(); waitFor(t, 30*time.Second, what, cond) }
	// agree: exactly the active node (by sys/health) is labelled active,
	// and the others' labels say what their health says.
	agree := func(skip int) func() bool {
		return func() bool {
			act := activeOf(t, nodes, skip)
			if act < 0 {
				return false
			}
			for i := range nodes {
				l := labels(i)
				if i == skip {
					continue
				}
				h, err := newClient(t, nodes[i].addr, "").Sys().Health()
				if err != nil || l["vault-active"] != fmt.Sprint(i == act) || l["vault-sealed"] != fmt.Sprint(h.Sealed) ||
					l["vault-initialized"] != "true" || l["vault-perf-standby"] != "false" || l["vault-version"] == "" {
					return false
				}
			}
			return true
		}
	}

	want("uninitialized, sealed labels on every pod", func() bool {
		for i := range nodes {
			l := labels(i)
			if l["vault-initialized"] != "false" || l["vault-sealed"] != "true" || l["vault-active"] != "false" || l["app.kubernetes.io/name"] != "vaultd" {
				return false
			}
		}
		return true
	})
	c := newClient(t, nodes[0].addr, "")
	init, err := c.Sys().Init(&vaultapi.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	want("node1 labelled initialized and sealed", func() bool {
		l := labels(0)
		return l["vault-initialized"] == "true" && l["vault-sealed"] == "true"
	})
	unsealWith(t, c, init.KeysB64)
	// Autopilot promotes the joiners once caught up and stable for
	// server_stabilization_time (10 s by default): shorten it; the
	// step-down below needs a voter to hand leadership to.
	rc := newClient(t, nodes[0].addr, init.RootToken)
	want("node1 to take the autopilot configuration", func() bool {
		_, err := rc.Logical().Write("sys/storage/raft/autopilot/configuration", map[string]any{"server_stabilization_time": "1s"})
		return err == nil
	})
	unsealJoiners(t, nodes[1:], init.KeysB64, 1, 1)
	a0 := waitAgreedActive(t, nodes)
	want("autopilot to promote both joiners", func() bool {
		return len(voters(t, newClient(t, nodes[a0].addr, init.RootToken))) == 3
	})
	want("labels to match the cluster after unseal", agree(-1))

	t.Run("step-down", func(t *testing.T) {
		act := activeOf(t, nodes, -1)
		if err := newClient(t, nodes[act].addr, init.RootToken).Sys().StepDown(); err != nil {
			t.Fatal(err)
		}
		want("another node active", func() bool { a := activeOf(t, nodes, -1); return a >= 0 && a != act })
		want("labels to follow the step-down", agree(-1))
	})

	t.Run("seal and unseal", func(t *testing.T) {
		// Sealing the active node hands leadership to a peer (as Vault's
		// active steps down on seal): the sealed node is labelled sealed
		// and not active, another node is labelled active, and once
		// unsealed the old active comes back as a standby.
		act := activeOf(t, nodes, -1)
		if err := newClient(t, nodes[act].addr, init.RootToken).Sys().Seal(); err != nil {
			t.Fatal(err)
		}
		want(ids[act]+" labelled sealed, not active", func() bool {
			l := labels(act)
			return l["vault-sealed"] == "true" && l["vault-active"] == "false" && l["vault-initialized"] == "true"
		})
		want("another node active and labelled", func() bool { a := activeOf(t, nodes, -1); return a >= 0 && a != act })
		c := newClient(t, nodes[act].addr, "")
		for _, k := range init.KeysB64 {
			if _, err := c.Sys().Unseal(k); err != nil {
				t.Fatalf("unseal: %v", err)
			}
		}
		waitFor(t, 20*time.Second, ids[act]+" to be an unsealed standby", func() bool {
			h, err := c.Sys().Health()
			return err == nil && !h.Sealed && h.Standby
		})
		want("labels after unsealing "+ids[act], agree(-1))
	})

	t.Run("failover on stop", func(t *testing.T) {
		act := waitAgreedActive(t, nodes)
		nodes[act].p.Stop(t)
		want("the stopped node labelled not active", func() bool { return labels(act)["vault-active"] == "false" })
		want("a new active node labelled", agree(act))
	})

	for _, r := range api.Requests() {
		if r.Method == "PATCH" && r.ContentType != "application/json-patch+json" {
			t.Fatalf("PATCH with content type %q", r.ContentType)
		}
		if r.Bearer != "pod-sa-token" {
			t.Fatalf("request without the pod's token")
		}
	}
}
