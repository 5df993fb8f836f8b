package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	vaultapi "github.com/hashicorp/vault/api"
)

// -output-curl-string and -output-policy: instead of sending its request,
// a command prints the equivalent curl command, or the policy a token
// needs for it. They are HTTP options, so every command that talks to the
// server has them, and they are implemented once, in the client's
// transport: the first request a command makes is captured and not sent,
// the command stops at the resulting error, and Run prints the capture and
// exits 0. Commands need no code of their own for them.

// errCaptured is what the capturing transport answers instead of sending.
var errCaptured = errors.New("request captured for -output-curl-string / -output-policy")

// capturedRequest is the request a command would have sent.
type capturedRequest struct {
	method string
	url    *url.URL
	header http.Header
	body   []byte
}

// captureTransport records the first request instead of sending it.
// Preflight reads the CLI makes to choose its real request (the KV
// version lookup at sys/internal/ui/mounts/) go through, as in Vault, so
// what is printed is the request that does the work.
type captureTransport struct {
	next http.RoundTripper
	mu   *sync.Mutex // guards *into: some commands send from several goroutines
	into **capturedRequest
}

func (t *captureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/sys/internal/ui/mounts/") {
		return t.next.RoundTrip(r)
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if *t.into == nil {
		*t.into = &capturedRequest{method: r.Method, url: r.URL, header: r.Header.Clone(), body: body}
	}
	return nil, errCaptured
}

// captureRequests installs the capturing transport on cfg when either
// flag is set; it also turns off retries (a captured request is final).
func (a *app) captureRequests(cfg *vaultapi.Config) {
	if !a.outputCurl && !a.outputPolicy {
		return
	}
	next := cfg.HttpClient.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cfg.HttpClient.Transport = &captureTransport{next: next, mu: &a.capturedMu, into: &a.captured}
	cfg.MaxRetries = 0
}

// printCaptured prints what -output-curl-string or -output-policy asked
// for. It reports false when no request was captured.
func (a *app) printCaptured() bool {
	a.capturedMu.Lock()
	c := a.captured
	a.capturedMu.Unlock()
	if c == nil {
		return false
	}
	if a.outputPolicy {
		fmt.Fprint(a.stdout, c.policy())
		return true
	}
	fmt.Fprintln(a.stdout, c.curl())
	return true
}

// curl renders the request as a curl command line. The token is never
// printed: it reads "$(vaultd print token)", which the shell expands to
// the token the CLI would use.
func (c *capturedRequest) curl() string {
	var b strings.Builder
	b.WriteString("curl")
	if c.method != http.MethodGet {
		fmt.Fprintf(&b, " -X %s", c.method)
	}
	names := make([]string, 0, len(c.header))
	for k := range c.header {
		switch http.CanonicalHeaderKey(k) {
		case "User-Agent", "Accept-Encoding", "Content-Length", "X-Vault-Token":
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range c.header[k] {
			fmt.Fprintf(&b, " -H %s", shellQuote(k+": "+v))
		}
	}
	if c.header.Get("X-Vault-Token") != "" {
		b.WriteString(` -H "X-Vault-Token: $(vaultd print token)"`)
	}
	if body := bytes.TrimSpace(c.body); len(body) > 0 && string(body) != "null" {
		fmt.Fprintf(&b, " -d %s", shellQuote(string(body)))
	}
	fmt.Fprintf(&b, " %s", shellQuote(c.url.String()))
	return b.String()
}

// shellQuote quotes s for a POSIX shell with single quotes.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// policy is the HCL policy a token needs to make the request: the path
// and the capability its method needs (plus sudo on the paths that
// require it).
func (c *capturedRequest) policy() string {
	method := c.method
	if v := c.url.Query().Get("list"); v != "" && envTrue(v) {
		method = "LIST"
	}
	var caps []string
	switch method {
	case http.MethodGet, http.MethodHead:
		caps = []string{"read"}
	case http.MethodPost, http.MethodPut:
		caps = []string{"create", "update"}
	case http.MethodPatch:
		caps = []string{"patch"}
	case http.MethodDelete:
		caps = []string{"delete"}
	case "LIST":
		caps = []string{"list"}
	}
	path := strings.TrimPrefix(c.url.Path, "/v1/")
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	if vaultapi.IsSudoPath("/" + strings.TrimRight(path, "/")) {
		caps = append(caps, "sudo")
	}
	if method == "LIST" && !strings.HasSuffix(path, "/") {
		path += "/" // the server checks a LIST on the folder form
	}
	return fmt.Sprintf("path %q {\n  capabilities = [%s]\n}\n", path, quoteList(caps))
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
