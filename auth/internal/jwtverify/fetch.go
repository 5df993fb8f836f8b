package jwtverify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxBodyBytes bounds a JWKS, discovery document or TokenReview answer.
const MaxBodyBytes = 1 << 20

// RequestTimeout bounds one outbound request.
const RequestTimeout = 10 * time.Second

// CheckURL checks that s is an absolute http(s) URL with a host, and
// returns it parsed.
func CheckURL(name, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%q must be an absolute http or https URL", name)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q must not carry credentials", name)
	}
	return u, nil
}

// CertPool parses PEM CA certificates; empty input gives nil (the system
// roots).
func CertPool(name, caPEM string) (*x509.CertPool, error) {
	if strings.TrimSpace(caPEM) == "" {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caPEM)) {
		return nil, fmt.Errorf("%q does not contain a PEM certificate", name)
	}
	return pool, nil
}

// NewClient returns an HTTP client that trusts roots (system roots when
// nil), times out after RequestTimeout, uses no proxy from the
// environment and follows no redirect: a request goes only to the
// configured host.
func NewClient(roots *x509.CertPool) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   RequestTimeout,
		ResponseHeaderTimeout: RequestTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   RequestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("redirects are not followed")
		},
	}
}

// Do sends a request with an optional JSON body and returns the status
// and at most MaxBodyBytes of the answer. The error never contains the
// request body or headers (they may hold tokens).
func Do(ctx context.Context, c *http.Client, method, u string, header http.Header, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("bad request URL: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, fmt.Errorf("%s %s: %v", method, redact(u), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: reading the answer: %v", method, redact(u), err)
	}
	if len(b) > MaxBodyBytes {
		return 0, nil, fmt.Errorf("%s %s: the answer is larger than %d bytes", method, redact(u), MaxBodyBytes)
	}
	return resp.StatusCode, b, nil
}

// GetJSON fetches u and decodes a 200 answer into out.
func GetJSON(ctx context.Context, c *http.Client, u string, out any) error {
	status, b, err := Do(ctx, c, http.MethodGet, u, nil, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: unexpected status %d", redact(u), status)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("GET %s: cannot parse the answer: %v", redact(u), err)
	}
	return nil
}

// redact drops a URL's query, which might carry a secret.
func redact(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}
