package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vaultd/vaultd/telemetry"
)

// routeClass groups request paths into a few classes for the request
// metrics (bounded cardinality: never a mount path or a secret's name).
func routeClass(path string) string {
	p, ok := strings.CutPrefix(path, "/v1/")
	if !ok {
		if path == "/" || path == "/ui" || strings.HasPrefix(path, "/ui/") {
			return "ui"
		}
		return "other"
	}
	switch {
	case p == "sys/health" || strings.HasPrefix(p, "sys/health/") || p == "sys/seal-status" || p == "sys/init" || p == "sys/unseal" ||
		p == "sys/leader" || strings.HasPrefix(p, "sys/storage/raft/bootstrap") ||
		p == "sys/storage/raft/join" || p == "sys/storage/raft/known-peers":
		return "node"
	case p == "sys/metrics":
		return "metrics"
	case p == "sys/monitor" || strings.HasPrefix(p, "sys/pprof/") || p == "sys/config/state/sanitized":
		return "support" // vaultd debug: a monitor stream lasts minutes
	case strings.HasPrefix(p, "sys/"):
		return "sys"
	case strings.HasPrefix(p, "auth/token/"):
		return "token"
	case strings.HasPrefix(p, "auth/") && (strings.HasSuffix(p, "/login") || strings.Contains(p, "/login/")):
		return "login"
	case strings.HasPrefix(p, "auth/"):
		return "auth"
	default:
		return "logical"
	}
}

// metrics serves GET /v1/sys/metrics as Vault does: ?format=prometheus
// for the Prometheus text format, JSON otherwise. It always answers with
// this node's own metrics (a standby is not forwarded). Without
// unauthenticated_metrics_access the client token needs read on
// sys/metrics; the check is a capabilities-self request through the
// normal (forwarding) pipeline, so a standby asks the active node.
func (s *Server) metrics(c echo.Context) error {
	r := c.Request()
	format := r.URL.Query().Get("format")
	if format != "" && format != "prometheus" && format != "json" {
		return writeErrors(c, http.StatusBadRequest, `unsupported format "`+format+`": use "prometheus" or leave it out for JSON`)
	}
	if !s.cfg.UnauthenticatedMetrics {
		if ok, err := s.tokenAllows(c, "sys/metrics", "read"); !ok {
			return err
		}
	}
	if format == "prometheus" {
		var buf bytes.Buffer
		if err := s.cfg.Telemetry.WritePrometheus(&buf); err != nil {
			if errors.Is(err, telemetry.ErrPrometheusDisabled) {
				return writeErrors(c, http.StatusBadRequest, err.Error())
			}
			s.respondError(c.Response(), r, err)
			return nil
		}
		h := c.Response().Header()
		h.Set("Content-Type", telemetry.PrometheusContentType)
		h.Set("Cache-Control", "no-store")
		c.Response().WriteHeader(http.StatusOK)
		_, _ = c.Response().Write(buf.Bytes())
		return nil
	}
	j, err := s.cfg.Telemetry.JSON()
	if err != nil {
		s.respondError(c.Response(), r, err)
		return nil
	}
	writeJSON(c.Response(), r, http.StatusOK, j)
	return nil
}

// tokenAllows checks that the client token has capability want (or
// root) on aclPath, for node-local endpoints that are never forwarded
// (sys/metrics, and the support endpoints of `vaultd debug`). The check is
// a sys/capabilities-self request through the normal pipeline, so a
// standby asks the active node. When the answer is no, it has already
// written the error (403, or the 503 of a sealed node or of a standby
// that cannot reach the active node).
func (s *Server) tokenAllows(c echo.Context, aclPath, want string) (bool, error) {
	r := c.Request()
	if Token(r) == "" {
		return false, writeErrors(c, http.StatusForbidden, "permission denied")
	}
	body, _ := json.Marshal(map[string]any{"paths": []string{aclPath}})
	rec := s.internal(r, http.MethodPost, "sys/capabilities-self", body) // monitor.go
	if rec.Code != http.StatusOK {
		for k, v := range rec.Header() {
			c.Response().Header()[k] = v
		}
		c.Response().WriteHeader(rec.Code)
		_, _ = c.Response().Write(rec.Body.Bytes())
		return false, nil
	}
	var out struct {
		Data struct {
			Capabilities []string `json:"capabilities"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		s.respondError(c.Response(), r, err)
		return false, nil
	}
	caps := out.Data.Capabilities
	if slices.Contains(caps, want) || slices.Contains(caps, "root") {
		return true, nil
	}
	return false, writeErrors(c, http.StatusForbidden, "permission denied")
}
