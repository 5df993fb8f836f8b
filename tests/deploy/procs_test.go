package deploy

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"github.com/vaultd/vaultd/tests/internal/vaultproc"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freePort returns a loopback TCP port that is free right now, below the
// ephemeral range (see internal/freeport).
func freePort(t testing.TB) int {
	t.Helper()
	return vaultproc.FreePort(t, "127.0.0.1")
}

// syncBuffer collects a process's output from several goroutines.
type syncBuffer = vaultproc.SyncBuffer

// baseEnv is the test's environment without any VAULT_ or VAULTD_
// variable, so a developer's shell cannot change what a process reads.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "VAULTD_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// proc is a running vaultd process.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	err            error // set when done is closed
}

// startVaultd starts vaultdBin with args and extra environment variables;
// the test's cleanup stops it.
func startVaultd(t testing.TB, name string, args, env []string) *proc {
	t.Helper()
	p := &proc{name: name, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(vaultdBin, args...)
	p.cmd.Env = append(baseEnv(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s stderr (last 3000 bytes):\n%s", p.name, tail(p.stderr.String(), 3000))
		}
	})
	return p
}

// stop sends SIGTERM, and SIGKILL if the process has not exited in 10 s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// poll calls cond every 100 ms until it is true or timeout passes.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// vnode is a vaultd process reached over HTTP(S).
type vnode struct {
	name string
	base string // http(s)://127.0.0.1:port
	hc   *http.Client
	p    *proc
}

func newVnode(name, base string, p *proc, roots *x509.CertPool) *vnode {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	return &vnode{name: name, base: base, p: p, hc: &http.Client{Timeout: 5 * time.Second, Transport: tr}}
}

// call sends one request with an optional JSON body and token, and returns
// the status and the decoded JSON body (nil when there is none).
func (n *vnode) call(method, path, token string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, n.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := n.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var m map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("%s %s: body is not JSON: %q", method, path, tail(string(raw), 200))
		}
	}
	return resp.StatusCode, m, nil
}

// status is the HTTP status of GET path, or 0 when the node does not answer.
func (n *vnode) status(path string) int {
	code, _, err := n.call(http.MethodGet, path, "", nil)
	if err != nil {
		return 0
	}
	return code
}

// waitUp waits until the node answers sys/health at all.
func (n *vnode) waitUp(t testing.TB) {
	t.Helper()
	ok := poll(30*time.Second, func() bool {
		return n.status("/v1/sys/health") != 0 || n.p.exited()
	})
	if n.p.exited() {
		t.Fatalf("%s exited: %v\nstderr:\n%s", n.name, n.p.err, tail(n.p.stderr.String(), 3000))
	}
	if !ok {
		t.Fatalf("%s does not answer %s/v1/sys/health within 30 s", n.name, n.base)
	}
}

// probeAccepts reports whether a Kubernetes HTTP probe accepts the status.
func probeAccepts(code int) bool { return code >= 200 && code < 400 }
