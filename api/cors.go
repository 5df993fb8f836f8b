package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// corsAllowHeaders are the request headers vault/api and the UI send.
const corsAllowHeaders = "Content-Type, X-Vault-Token, Authorization, X-Vault-Request, X-Vault-Wrap-TTL, X-Requested-With"

const corsAllowMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, LIST, OPTIONS"

// cors answers cross-origin requests to /v1/* from the cluster's own
// origins (Config.CORSOrigins) and from nobody else: the web UI served by
// one node calls every node directly, so an unseal share goes only to the
// node it is meant for. Tokens travel in headers, never cookies, so no
// credentials mode is offered. A preflight from any other origin is
// refused with 403, as Vault does for an origin outside
// sys/config/cors's allowed_origins; other requests from such origins get
// no CORS headers, so the browser withholds the answer.
func (s *Server) cors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		origin := r.Header.Get("Origin")
		if origin == "" || !strings.HasPrefix(r.URL.Path, "/v1/") {
			return next(c)
		}
		allowed := false
		if s.cfg.CORSOrigins != nil {
			allowed = slices.Contains(s.cfg.CORSOrigins(r.Context()), strings.ToLower(origin))
		}
		h := c.Response().Header()
		h.Add("Vary", "Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !allowed {
			if preflight {
				return writeErrors(c, http.StatusForbidden, "origin not allowed")
			}
			return next(c)
		}
		h.Set("Access-Control-Allow-Origin", origin)
		// A request forwarded to the active node comes back through a
		// reverse proxy that adds the active node's CORS headers to ours;
		// a doubled Allow-Origin makes the browser refuse the answer.
		c.Response().Before(func() { h.Set("Access-Control-Allow-Origin", origin) })
		if preflight {
			h.Set("Access-Control-Allow-Methods", corsAllowMethods)
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", "300")
			return c.NoContent(http.StatusNoContent)
		}
		return next(c)
	}
}
