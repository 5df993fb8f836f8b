package server

import (
	"context"
	"fmt"
	"os"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
	k8sreg "github.com/vaultd/vaultd/serviceregistration/kubernetes"
	"github.com/vaultd/vaultd/version"
)

// EnvK8sServiceAccountDir overrides where service registration reads the
// pod's service-account token and CA (default
// /var/run/secrets/kubernetes.io/serviceaccount): for running outside a
// pod, and for tests.
const EnvK8sServiceAccountDir = "VAULTD_K8S_SERVICE_ACCOUNT_DIR"

// svcReg is the node's service registration, or a no-op when the config
// has none. Its methods are safe on a nil receiver.
type svcReg struct {
	reg *k8sreg.Registration
}

// serviceRegistration builds the registration of the
// service_registration stanza. A stanza that cannot work (not in a pod,
// no namespace or pod name) stops the server: it is never accepted and
// ignored.
func (n *Node) serviceRegistration(sr *config.ServiceRegistration) (*svcReg, error) {
	if sr == nil {
		return nil, nil
	}
	if sr.Type != "kubernetes" {
		return nil, fmt.Errorf("service_registration %q is not supported", sr.Type)
	}
	reg, err := k8sreg.New(k8sreg.Config{
		Namespace:         sr.Namespace,
		PodName:           sr.PodName,
		ServiceAccountDir: os.Getenv(EnvK8sServiceAccountDir),
		Version:           version.Get().Version,
		Logger:            n.log,
		State: func(ctx context.Context) k8sreg.State {
			if n.Core == nil {
				return k8sreg.State{Sealed: true}
			}
			st := n.Core.Status(ctx)
			return k8sreg.State{Initialized: st.Initialized, Sealed: st.Sealed, Active: st.Active}
		},
	})
	if err != nil {
		return nil, err
	}
	return &svcReg{reg: reg}, nil
}

// notify is core's StateChanged hook: it never blocks.
func (s *svcReg) notify() {
	if s != nil {
		s.reg.Notify()
	}
}

// start runs the registration until ctx is done (Node.Close waits for it,
// so its last "not active" patch goes out before the process exits).
func (s *svcReg) start(ctx context.Context, n *Node) {
	if s == nil {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		s.reg.Run(ctx)
	}()
}
