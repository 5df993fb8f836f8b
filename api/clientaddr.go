package api

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"
)

// HeaderClientAddr carries the original client address from a standby to
// the active node. The active node believes it only on a request that
// arrived over the authenticated cluster port (ClusterForwarded); the
// header is removed from, and then set by vaultd on, every other request,
// so a client can never choose the address its token's CIDRs are checked
// against.
const HeaderClientAddr = "X-Vaultd-Client-Addr"

// XFFConfig is a listener's X-Forwarded-For handling, as Vault's
// x_forwarded_for_* listener settings.
type XFFConfig struct {
	// AuthorizedAddrs are the proxies whose X-Forwarded-For is believed.
	// Empty: the header is never believed (and never refused).
	AuthorizedAddrs []netip.Prefix
	// HopSkips is how many addresses to skip from the end of the list.
	HopSkips int
	// AllowNotAuthorized ignores the header from an unauthorized address
	// instead of refusing the request (x_forwarded_for_reject_not_authorized = false).
	AllowNotAuthorized bool
	// AllowNotPresent accepts a request from an authorized proxy that has
	// no header (x_forwarded_for_reject_not_present = false).
	AllowNotPresent bool
}

type clusterForwardedKey struct{}
type clientAddrKey struct{}

// ClusterForwarded marks requests that h receives as having come over the
// mTLS-authenticated cluster port from another node. Wrap only the handler
// given to the cluster port with it.
func ClusterForwarded(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clusterForwardedKey{}, true)))
	})
}

func isClusterForwarded(ctx context.Context) bool {
	v, _ := ctx.Value(clusterForwardedKey{}).(bool)
	return v
}

// ClientAddr returns the client's IP address as the API determined it.
func ClientAddr(ctx context.Context) string {
	v, _ := ctx.Value(clientAddrKey{}).(string)
	return v
}

// clientAddr determines the client's address once per request and records
// it in the context and in HeaderClientAddr (for forwarding).
func (s *Server) clientAddr(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		fwd := r.Header.Get(HeaderClientAddr)
		r.Header.Del(HeaderClientAddr)
		var addr string
		if isClusterForwarded(r.Context()) {
			a, err := netip.ParseAddr(strings.TrimSpace(fwd))
			if err != nil {
				return writeErrors(c, http.StatusBadRequest, "forwarded request without a valid client address")
			}
			addr = a.Unmap().String()
		} else {
			a, code, msg := s.fromConnection(r)
			if code != 0 {
				return writeErrors(c, code, msg)
			}
			addr = a
		}
		r.Header.Set(HeaderClientAddr, addr)
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, addr)))
		return next(c)
	}
}

// fromConnection applies the listener's X-Forwarded-For rules (Vault's)
// to a request that came straight from a client or a proxy.
func (s *Server) fromConnection(r *http.Request) (addr string, code int, msg string) {
	peer := peerIP(r)
	x := s.cfg.XFF
	if x == nil || len(x.AuthorizedAddrs) == 0 {
		return peer, 0, ""
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hops = append(hops, h)
			}
		}
	}
	pa, err := netip.ParseAddr(peer)
	authorized := false
	if err == nil {
		pa = pa.Unmap()
		for _, p := range x.AuthorizedAddrs {
			if p.Contains(pa) {
				authorized = true
				break
			}
		}
	}
	if !authorized {
		if len(hops) > 0 && !x.AllowNotAuthorized {
			return "", http.StatusBadRequest, "client address not authorized for X-Forwarded-For and configured to reject connections"
		}
		return peer, 0, ""
	}
	if len(hops) == 0 {
		if x.AllowNotPresent {
			return peer, 0, ""
		}
		return "", http.StatusBadRequest, "missing X-Forwarded-For header and configured to reject when not present"
	}
	if x.HopSkips >= len(hops) {
		return "", http.StatusBadRequest, "malformed X-Forwarded-For configuration or request, hops to skip would skip before earliest chain link"
	}
	h := hops[len(hops)-1-x.HopSkips]
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap().String(), 0, ""
	}
	a, err := netip.ParseAddr(strings.Trim(h, "[]"))
	if err != nil {
		return "", http.StatusBadRequest, "malformed X-Forwarded-For header: not an IP address"
	}
	return a.Unmap().String(), 0, ""
}

// peerIP is the IP address of the connection's other end.
func peerIP(r *http.Request) string {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().String()
	}
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// remoteIP is the client address handlers pass to core.
func remoteIP(r *http.Request) string {
	if a := ClientAddr(r.Context()); a != "" {
		return a
	}
	return peerIP(r)
}

// requestDeadline applies max_request_duration to the request's context.
func (s *Server) requestDeadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		// A sys/monitor stream lasts as long as the operator watches (as
		// in Vault, streaming endpoints get no timeout).
		if s.cfg.MaxRequestDuration <= 0 || r.URL.Path == "/v1/sys/monitor" {
			return next(c)
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.MaxRequestDuration)
		defer cancel()
		c.SetRequest(r.WithContext(ctx))
		return next(c)
	}
}
