package server

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
	k8sreg "github.com/vaultd/vaultd/serviceregistration/kubernetes"
)

// TestServiceRegistration_RefusedOutsideAPod: a service_registration
// stanza that cannot work stops the server instead of being ignored.
func TestServiceRegistration_RefusedOutsideAPod(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	n := &Node{log: slog.New(slog.DiscardHandler)}
	if r, err := n.serviceRegistration(nil); r != nil || err != nil {
		t.Fatalf("no stanza: %v, %v", r, err)
	}
	r, err := n.serviceRegistration(&config.ServiceRegistration{Type: "kubernetes", Namespace: "vault", PodName: "vault-0"})
	if !errors.Is(err, k8sreg.ErrConfig) || r != nil {
		t.Fatalf("outside a pod: %v, %v", r, err)
	}
	// A nil registration's hooks are no-ops.
	var none *svcReg
	none.notify()
	none.start(t.Context(), n)
}
