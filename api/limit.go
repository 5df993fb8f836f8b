package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/vaultd/vaultd/admission"
)

// unlimited are the paths the request limiter never applies to: health,
// seal state, seal/unseal, leader and raft cluster operations must answer
// even when clients saturate the node (issue 11).
var unlimited = []string{
	"/v1/sys/health", "/v1/sys/seal-status", "/v1/sys/unseal", "/v1/sys/seal",
	"/v1/sys/leader", "/v1/sys/init", "/v1/sys/step-down", "/v1/sys/ha-status",
	"/v1/sys/storage/raft/",
	// A sys/monitor stream lasts as long as the operator watches: it
	// would hold a slot and feed the limiter one huge latency sample.
	"/v1/sys/monitor",
}

func limitExempt(path string) bool {
	if !strings.HasPrefix(path, "/v1/") {
		return true
	}
	for _, p := range unlimited {
		if path == p || strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// limit applies the adaptive request limiter in front of h.
func (s *Server) limit(h http.Handler) http.Handler {
	l := s.cfg.Limiter
	if l == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if limitExempt(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		done, err := l.Acquire()
		if err != nil {
			writeOverloaded(w, r, err)
			return
		}
		defer done()
		h.ServeHTTP(w, r)
	})
}

// writeOverloaded answers an admission refusal: 429 (CPU pool) or 503
// (request limiter) with Retry-After. It reports false for other errors.
func writeOverloaded(w http.ResponseWriter, r *http.Request, err error) bool {
	var rej *admission.Rejection
	if !errors.As(err, &rej) {
		return false
	}
	code := http.StatusTooManyRequests
	if rej.Unavailable {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Retry-After", strconv.Itoa(admission.RetryAfterSeconds(rej)))
	writeJSON(w, r, code, map[string]any{"errors": []string{rej.Error()}})
	return true
}
