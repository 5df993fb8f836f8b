package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/vaultd/vaultd/api"
)

// The test server's peer is 127.0.0.1.
func TestClientAddr_XForwardedFor(t *testing.T) {
	lb := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/30")}
	other := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct {
		name string
		xff  *api.XFFConfig
		hdr  map[string]string
		code int
		want string
	}{
		{"no config: header ignored", nil, map[string]string{"X-Forwarded-For": "1.2.3.4"}, 204, "127.0.0.1"},
		{"authorized proxy", &api.XFFConfig{AuthorizedAddrs: lb}, map[string]string{"X-Forwarded-For": "1.2.3.4"}, 204, "1.2.3.4"},
		{"authorized proxy, last hop wins", &api.XFFConfig{AuthorizedAddrs: lb}, map[string]string{"X-Forwarded-For": "9.9.9.9, 1.2.3.4"}, 204, "1.2.3.4"},
		{"hop skips", &api.XFFConfig{AuthorizedAddrs: lb, HopSkips: 1}, map[string]string{"X-Forwarded-For": "9.9.9.9, 1.2.3.4"}, 204, "9.9.9.9"},
		{"hop skips past the chain", &api.XFFConfig{AuthorizedAddrs: lb, HopSkips: 2}, map[string]string{"X-Forwarded-For": "9.9.9.9, 1.2.3.4"}, 400, ""},
		{"unauthorized peer with header: refused", &api.XFFConfig{AuthorizedAddrs: other}, map[string]string{"X-Forwarded-For": "1.2.3.4"}, 400, ""},
		{"unauthorized peer, allowed: header ignored", &api.XFFConfig{AuthorizedAddrs: other, AllowNotAuthorized: true}, map[string]string{"X-Forwarded-For": "1.2.3.4"}, 204, "127.0.0.1"},
		{"authorized peer without header: refused", &api.XFFConfig{AuthorizedAddrs: lb}, nil, 400, ""},
		{"authorized peer without header, allowed", &api.XFFConfig{AuthorizedAddrs: lb, AllowNotPresent: true}, nil, 204, "127.0.0.1"},
		{"garbage hop", &api.XFFConfig{AuthorizedAddrs: lb}, map[string]string{"X-Forwarded-For": "not-an-ip"}, 400, ""},
		{"internal header from a client is ignored", nil, map[string]string{api.HeaderClientAddr: "1.2.3.4"}, 204, "127.0.0.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			srv := newServer(t, api.Config{XFF: tc.xff}, echoCore(rec, nil))
			hdr := map[string]string{"X-Vault-Token": "t"}
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			r := do(t, srv, "GET", "/v1/secret/x", nil, hdr)
			if r.code != tc.code {
				t.Fatalf("status %d %s, want %d", r.code, r.body, tc.code)
			}
			if tc.code == 204 {
				if got := rec.take(t).RemoteAddr; got != tc.want {
					t.Fatalf("client address %q, want %q", got, tc.want)
				}
			} else if rec.count() != 0 {
				t.Fatal("a refused request reached core")
			}
		})
	}
}

// Over the cluster port (ClusterForwarded) the standby's client address is
// believed; a forwarded request without one is refused.
func TestClientAddr_ClusterForwarded(t *testing.T) {
	rec := &recorder{}
	h := api.ClusterForwarded(api.New(api.Config{}, echoCore(rec, nil)).Handler())
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r := do(t, srv, "GET", "/v1/secret/x", nil, map[string]string{"X-Vault-Token": "t", api.HeaderClientAddr: "10.1.2.3"})
	if r.code != 204 {
		t.Fatalf("status %d %s", r.code, r.body)
	}
	if got := rec.take(t).RemoteAddr; got != "10.1.2.3" {
		t.Fatalf("client address %q, want the forwarded one", got)
	}
	if r := do(t, srv, "GET", "/v1/secret/x", nil, map[string]string{"X-Vault-Token": "t"}); r.code != http.StatusBadRequest {
		t.Fatalf("forwarded request without a client address: %d", r.code)
	}
}

// FuzzXForwardedFor: any X-Forwarded-For value from an authorized proxy is
// either refused with 400 or yields a valid IP address; never a crash.
func FuzzXForwardedFor(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "1.2.3.4, 5.6.7.8", "[::1]:80", "::ffff:1.2.3.4", "", ",,,", "1.2.3.4:99999", "a, b", "\x00"} {
		f.Add(s, 1)
	}
	lb := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	f.Fuzz(func(t *testing.T, xff string, skips int) {
		if skips < 0 || skips > 8 {
			skips = 0
		}
		rec := &recorder{}
		srv := newServer(t, api.Config{XFF: &api.XFFConfig{AuthorizedAddrs: lb, HopSkips: skips, AllowNotPresent: true}}, echoCore(rec, nil))
		req, err := http.NewRequest("GET", srv.URL+"/v1/secret/x", nil)
		if err != nil {
			t.Skip()
		}
		req.Header["X-Forwarded-For"] = []string{xff}
		req.Header.Set("X-Vault-Token", "t")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Skip() // the client refused to send the header
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case 204:
			if _, err := netip.ParseAddr(rec.take(t).RemoteAddr); err != nil {
				t.Fatalf("client address from %q is not an IP: %v", xff, err)
			}
		case 400:
		default:
			t.Fatalf("X-Forwarded-For %q: status %d", xff, resp.StatusCode)
		}
	})
}
