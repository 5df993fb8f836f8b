package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrNotLoopback is returned for a target that is not a loopback address.
var ErrNotLoopback = errors.New("target is not a loopback address")

// ErrBadAddr is returned for a target address that cannot be parsed.
var ErrBadAddr = errors.New("invalid target address")

// parseTarget normalises a node address ("127.0.0.1:8200",
// "http://localhost:8200", "https://[::1]:8200") into a base URL without a
// trailing slash and refuses anything that is not on the loopback
// interface. Host names other than "localhost" are refused without being
// resolved: DNS could point anywhere.
func parseTarget(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrBadAddr)
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadAddr, s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%w: %q: scheme must be http or https", ErrBadAddr, s)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: %q: want scheme://host:port only", ErrBadAddr, s)
	}
	host := u.Hostname()
	if host == "" {
		return "", fmt.Errorf("%w: %q: no host", ErrBadAddr, s)
	}
	if !isLoopbackHost(host) {
		return "", fmt.Errorf("%w: %q (only 127.0.0.0/8, ::1 and localhost are allowed)", ErrNotLoopback, host)
	}
	if p := u.Port(); p == "" && strings.HasSuffix(u.Host, ":") {
		return "", fmt.Errorf("%w: %q: empty port", ErrBadAddr, s)
	}
	return u.Scheme + "://" + u.Host, nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
