package kubernetes

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/vaultd/vaultd/auth/internal/jwtverify"
)

// tokenReviewPath is the TokenReview endpoint of the API server.
const tokenReviewPath = "/apis/authentication.k8s.io/v1/tokenreviews"

// tokenReview is the part of authentication.k8s.io/v1 TokenReview used.
type tokenReview struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Spec       tokenReviewSpec   `json:"spec"`
	Status     tokenReviewStatus `json:"status,omitempty"`
}

type tokenReviewSpec struct {
	Token     string   `json:"token"`
	Audiences []string `json:"audiences,omitempty"`
}

type tokenReviewStatus struct {
	Authenticated bool     `json:"authenticated"`
	User          userInfo `json:"user"`
	Audiences     []string `json:"audiences,omitempty"`
	Error         string   `json:"error,omitempty"`
}

type userInfo struct {
	Username string `json:"username"`
	UID      string `json:"uid"`
}

// apiStatus is the Status object the API server answers errors with.
type apiStatus struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Code    int    `json:"code"`
}

// review asks the API server whether token is valid and names sa. The
// request carries the reviewer JWT as its bearer token: the configured
// token_reviewer_jwt, else the pod's own token (unless
// disable_local_ca_jwt), else the client's JWT itself, as Vault does.
func (e *engine) review(ctx context.Context, c *config, r *role, token string, sa *serviceAccount) error {
	caPEM := c.CACert
	bearer := c.TokenReviewerJWT
	if !c.DisableLocalCAJWT {
		if caPEM == "" {
			caPEM = readLocal(e.localCA)
		}
		if bearer == "" {
			bearer = readLocal(e.localToken)
		}
	}
	if bearer == "" {
		bearer = token
	}
	roots, err := jwtverify.CertPool("kubernetes_ca_cert", caPEM)
	if err != nil {
		return invalidf("%v", err)
	}
	client := jwtverify.NewClient(roots)
	body := tokenReview{
		APIVersion: "authentication.k8s.io/v1",
		Kind:       "TokenReview",
		Spec:       tokenReviewSpec{Token: token},
	}
	if r.Audience != "" {
		body.Spec.Audiences = []string{r.Audience}
	}
	hdr := http.Header{"Authorization": {"Bearer " + bearer}}
	status, b, err := jwtverify.Do(ctx, client, http.MethodPost, c.Host+tokenReviewPath, hdr, body)
	if err != nil {
		e.log.Warn("TokenReview request failed", "error", err)
		return denied("lookup failed: cannot reach the Kubernetes API server")
	}
	if status != http.StatusOK && status != http.StatusCreated {
		var st apiStatus
		msg := http.StatusText(status)
		if json.Unmarshal(b, &st) == nil && st.Message != "" {
			msg = st.Message
		}
		e.log.Warn("TokenReview refused", "status", status, "message", msg)
		return denied("lookup failed: the Kubernetes API server answered %d: %s", status, msg)
	}
	var out tokenReview
	if err := json.Unmarshal(b, &out); err != nil {
		return denied("lookup failed: cannot parse the TokenReview answer")
	}
	if !out.Status.Authenticated {
		return denied("lookup failed: service account unauthorized; this could mean it has been deleted or recreated with a new token")
	}
	if out.Status.User.Username != "system:serviceaccount:"+sa.Namespace+":"+sa.Name {
		return denied("JWT names did not match")
	}
	if out.Status.User.UID != "" && out.Status.User.UID != sa.UID {
		return denied("JWT UIDs did not match")
	}
	if r.Audience != "" && !slices.Contains(out.Status.Audiences, r.Audience) {
		return denied("invalid audience: the TokenReview did not confirm %q", r.Audience)
	}
	return nil
}
