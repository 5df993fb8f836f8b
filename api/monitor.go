package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/vaultd/vaultd/api/monitor"
)

// GET /v1/sys/monitor?log_level=info&log_format=standard streams this
// node's log records, one per line, until the client goes away or the
// node shuts down (Vault's sys/monitor, used by `vaultd monitor`).
//
// It is node-local: on a standby it streams the standby's own log. The
// caller needs sudo on sys/monitor (or root). A standby cannot evaluate
// tokens, so the check is a sys/capabilities-self request made through
// the same handler chain as any client request: answered by this node
// when it is active, forwarded to the active node otherwise, and audited
// there like any request.

func (s *Server) monitor(c echo.Context) error {
	r := c.Request()
	q := r.URL.Query()
	level, err := monitor.ParseLevel(q.Get("log_level"))
	if err != nil {
		return writeErrors(c, http.StatusBadRequest, err.Error())
	}
	format, err := monitor.ParseFormat(q.Get("log_format"))
	if err != nil {
		return writeErrors(c, http.StatusBadRequest, err.Error())
	}
	if denied := s.monitorAllowed(r); denied != nil {
		w := c.Response()
		for k, vs := range denied.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(denied.Code)
		_, err := w.Write(denied.Body.Bytes())
		return err
	}
	sub, err := s.cfg.Monitor.Subscribe(level, format)
	if errors.Is(err, monitor.ErrClosed) {
		return writeErrors(c, http.StatusServiceUnavailable, "the server is shutting down")
	}
	if err != nil {
		return writeErrors(c, http.StatusBadRequest, err.Error())
	}
	defer sub.Close()

	w := c.Response()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	ctx := r.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-sub.C:
			if !ok {
				return nil // node shutting down
			}
			if _, err := w.Write(line); err != nil {
				return nil // client gone
			}
			_ = rc.Flush()
		}
	}
}

// monitorAllowed checks that the caller's token has sudo on sys/monitor.
// It returns nil when allowed, else the response to send (the core's
// error, or 403 permission denied).
func (s *Server) monitorAllowed(r *http.Request) *httptest.ResponseRecorder {
	body, _ := json.Marshal(map[string]any{"paths": []string{"sys/monitor"}})
	rec := s.internal(r, http.MethodPost, "sys/capabilities-self", body)
	if rec.Code != http.StatusOK {
		return rec
	}
	var out struct {
		Data struct {
			Capabilities []string `json:"capabilities"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		return denied()
	}
	if slices.Contains(out.Data.Capabilities, "sudo") || slices.Contains(out.Data.Capabilities, "root") {
		return nil
	}
	return denied()
}

func denied() *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", "application/json")
	rec.WriteHeader(http.StatusForbidden)
	_, _ = rec.WriteString(`{"errors":["permission denied"]}` + "\n")
	return rec
}

// internal runs a request on behalf of the client of r (its token, its
// address) through the handler chain of ordinary requests: served here
// when this node is active, forwarded to the active node otherwise, and
// audited like any request. body, when not nil, is JSON.
func (s *Server) internal(r *http.Request, method, path string, body []byte) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	cr, err := http.NewRequestWithContext(r.Context(), method, "/v1/"+path, rd)
	if err != nil {
		s.respondError(rec, r, err)
		return rec
	}
	cr.RemoteAddr = r.RemoteAddr
	for _, h := range []string{"X-Vault-Token", "Authorization"} {
		if v := r.Header.Values(h); len(v) > 0 {
			cr.Header[h] = v
		}
	}
	// The client address the API resolved for r (in its context, which
	// cr inherits) travels with a forwarded request as it does for r.
	if a := ClientAddr(r.Context()); a != "" {
		cr.Header.Set(HeaderClientAddr, a)
	}
	if body != nil {
		cr.Header.Set("Content-Type", "application/json")
	}
	s.logical.ServeHTTP(rec, cr)
	return rec
}
