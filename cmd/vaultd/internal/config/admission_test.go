package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/cmd/vaultd/internal/config"
)

func TestAdmissionStanzas(t *testing.T) {
	src := `
request_limiter {
  disable   = false
  min_limit = 8
  max_limit = 512
}
cpu_pool {
  size     = 3
  queue    = 12
  max_wait = "750ms"
}
listener "tcp" {
  address                 = "127.0.0.1:8200"
  tls_disable             = true
  disable_request_limiter = true
}
`
	c, err := config.Parse([]byte(src), "a.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if rl := c.RequestLimiter; rl == nil || rl.Disable || rl.MinLimit != 8 || rl.MaxLimit != 512 {
		t.Fatalf("request_limiter %+v", rl)
	}
	if cp := c.CPUPool; cp == nil || cp.Size != 3 || cp.Queue != 12 || cp.MaxWait != 750*time.Millisecond {
		t.Fatalf("cpu_pool %+v", cp)
	}
	if !c.Listeners[0].DisableRequestLimiter {
		t.Fatal("disable_request_limiter not applied")
	}
	for _, w := range c.Warnings {
		if strings.Contains(w, "limiter") || strings.Contains(w, "cpu_pool") {
			t.Fatalf("warning %q: the settings are applied, not ignored", w)
		}
	}
	merged := (&config.Config{}).Merge(c)
	if merged.CPUPool == c.CPUPool || *merged.CPUPool != *c.CPUPool {
		t.Fatalf("Merge must deep-copy cpu_pool: %+v", merged.CPUPool)
	}
	for _, bad := range []string{
		"request_limiter {\n  min_limit = 100\n  max_limit = 10\n}\n",
		"cpu_pool {\n  size = -1\n}\n",
		"cpu_pool {\n  bogus = 1\n}\n",
		"request_limiter {\n  disable = \"maybe\"\n}\n",
	} {
		c, err := config.Parse([]byte(bad), "a.hcl")
		if err == nil && len(c.Warnings) == 0 {
			t.Errorf("%q: accepted silently", bad)
		}
		if err != nil && !errors.Is(err, config.ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", bad, err)
		}
	}
}
