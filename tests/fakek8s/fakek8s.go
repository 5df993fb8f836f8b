// Package fakek8s is a small stand-in for the Kubernetes API server, on a
// loopback TLS listener, for tests: it serves GET and JSON-patch PATCH of
// pods (/api/v1/namespaces/NS/pods/NAME) the way kube-apiserver answers
// them (status codes, Status objects, content types), checks the bearer
// token, and records every request. It also writes a service-account
// directory (token, ca.crt) a client in a "pod" would read.
package fakek8s

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Request is one request the server received.
type Request struct {
	Method, Path, ContentType, Bearer string
	Body                              []byte
}

// Server is the fake API server.
type Server struct {
	srv *httptest.Server

	mu     sync.Mutex
	token  string
	pods   map[string]map[string]string // "ns/name" → labels (nil map = no labels field)
	reqs   []Request
	failN  int // the next failN requests get failCode
	failCd int
	// History of label sets per pod after each successful PATCH.
	history map[string][]map[string]string
}

// New starts a server that accepts token as the bearer.
func New(t testing.TB, token string) *Server {
	s := &Server{token: token, pods: map[string]map[string]string{}, history: map[string][]map[string]string{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's https URL; Host and Port its parts.
func (s *Server) URL() string { return s.srv.URL }

// HostPort splits the URL into KUBERNETES_SERVICE_HOST and _PORT.
func (s *Server) HostPort() (string, string) {
	hp := strings.TrimPrefix(s.srv.URL, "https://")
	i := strings.LastIndexByte(hp, ':')
	return hp[:i], hp[i+1:]
}

// ServiceAccountDir writes token and ca.crt into a new directory.
func (s *Server) ServiceAccountDir(t testing.TB) string {
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	tok := s.token
	s.mu.Unlock()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// SetToken changes the accepted bearer token (a rotation).
func (s *Server) SetToken(tok string) {
	s.mu.Lock()
	s.token = tok
	s.mu.Unlock()
}

// AddPod creates a pod; labels nil means a pod without a labels field.
func (s *Server) AddPod(ns, name string, labels map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cp map[string]string
	if labels != nil {
		cp = map[string]string{}
		for k, v := range labels {
			cp[k] = v
		}
	}
	s.pods[ns+"/"+name] = cp
}

// Labels returns a copy of the pod's labels and whether the pod exists.
func (s *Server) Labels(ns, name string) (map[string]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.pods[ns+"/"+name]
	cp := map[string]string{}
	for k, v := range l {
		cp[k] = v
	}
	return cp, ok
}

// History returns the pod's label sets after each accepted PATCH.
func (s *Server) History(ns, name string) []map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]string(nil), s.history[ns+"/"+name]...)
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// FailNext makes the next n requests fail with code (e.g. 503, 429).
func (s *Server) FailNext(n, code int) {
	s.mu.Lock()
	s.failN, s.failCd = n, code
	s.mu.Unlock()
}

func status(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code,
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Bearer: bearer, Body: body})
	if s.failN > 0 {
		s.failN--
		status(w, s.failCd, http.StatusText(s.failCd), "injected failure")
		return
	}
	if bearer == "" || bearer != s.token {
		status(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/namespaces/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 || parts[1] != "pods" {
		status(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	key := parts[0] + "/" + parts[2]
	labels, exists := s.pods[key]
	if !exists {
		status(w, http.StatusNotFound, "NotFound", `pods "`+parts[2]+`" not found`)
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPatch:
		switch r.Header.Get("Content-Type") {
		case "application/json-patch+json":
		default:
			status(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
			return
		}
		var ops []struct {
			Op    string          `json:"op"`
			Path  string          `json:"path"`
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(body, &ops); err != nil {
			status(w, http.StatusBadRequest, "BadRequest", "error decoding patch: "+err.Error())
			return
		}
		next := labels
		if next != nil {
			next = map[string]string{}
			for k, v := range labels {
				next[k] = v
			}
		}
		for _, op := range ops {
			if op.Op != "add" && op.Op != "replace" {
				status(w, http.StatusUnprocessableEntity, "Invalid", "unsupported op "+op.Op)
				return
			}
			if op.Path == "/metadata/labels" {
				m := map[string]string{}
				if err := json.Unmarshal(op.Value, &m); err != nil {
					status(w, http.StatusUnprocessableEntity, "Invalid", "labels must be a map of strings")
					return
				}
				next = m
				continue
			}
			k, ok := strings.CutPrefix(op.Path, "/metadata/labels/")
			if !ok {
				status(w, http.StatusUnprocessableEntity, "Invalid", "path not allowed in this fake: "+op.Path)
				return
			}
			if next == nil {
				status(w, http.StatusUnprocessableEntity, "Invalid", "doc is missing path: "+op.Path+": missing value")
				return
			}
			var v string
			if err := json.Unmarshal(op.Value, &v); err != nil {
				status(w, http.StatusUnprocessableEntity, "Invalid", "label values must be strings")
				return
			}
			k = strings.ReplaceAll(strings.ReplaceAll(k, "~1", "/"), "~0", "~")
			next[k] = v
		}
		s.pods[key] = next
		labels = next
		cp := map[string]string{}
		for k, v := range next {
			cp[k] = v
		}
		s.history[key] = append(s.history[key], cp)
	default:
		status(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource")
		return
	}
	meta := map[string]any{"name": parts[2], "namespace": parts[0]}
	if labels != nil {
		meta["labels"] = labels
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Pod", "apiVersion": "v1", "metadata": meta})
}
