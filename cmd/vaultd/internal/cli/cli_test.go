package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every command documents itself: a short line, a long description and
// examples in -h.
func TestHelp_EveryCommandHasExamples(t *testing.T) {
	root := newRoot(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" || sub.Parent().Name() == "completion" {
				continue
			}
			n++
			if sub.Short == "" || sub.Long == "" || sub.Example == "" {
				t.Errorf("%q lacks Short, Long or Example", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(root)
	if n < 50 {
		t.Fatalf("walked %d commands, want the whole Vault command set (>= 50)", n)
	}
}

func TestRun_ExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		stderrRE string
	}{
		{[]string{"kv", "get", "-nosuchflag", "x"}, 1, "flag provided but not defined: -nosuchflag"},
		{[]string{"kv", "get"}, 1, "Not enough arguments (expected 1, got 0)"},
		{[]string{"status", "extra"}, 1, "Too many arguments (expected 0, got 1)"},
		{[]string{"status", "-format=xml"}, 1, "Invalid output format: xml"},
		{[]string{"operator", "init", "-pgp-keys=keybase:alice"}, 1, "keybase"},
		{[]string{"nosuchcommand"}, 1, "unknown command"},
		{[]string{"status", "-address=http://127.0.0.1:1"}, 1, "cannot reach the server at http://127.0.0.1:1"},
		{[]string{"kv", "get", "-address=http://127.0.0.1:1", "secret/x"}, 2, "cannot reach the server at http://127.0.0.1:1"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv("VAULT_MAX_RETRIES", "0")
			t.Setenv("VAULT_ADDR", "http://127.0.0.1:1")
			t.Setenv("HOME", t.TempDir())
			var out, errb bytes.Buffer
			code := Run(context.Background(), tc.args, strings.NewReader(""), &out, &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.stderrRE) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errb.String(), tc.code, tc.stderrRE)
			}
			if strings.Contains(errb.String(), "goroutine") {
				t.Fatalf("stack trace in stderr: %s", errb.String())
			}
		})
	}
}

func TestTokenHelper(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("VAULT_TOKEN", "")
	a := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	if err := a.storeToken("hvs.abc"); err != nil {
		t.Fatal(err)
	}
	c, err := a.client()
	if err != nil {
		t.Fatal(err)
	}
	if c.Token() != "hvs.abc" {
		t.Fatalf("token from ~/.vault-token = %q", c.Token())
	}
	t.Setenv("VAULT_TOKEN", "hvs.env")
	c, err = a.client()
	if err != nil {
		t.Fatal(err)
	}
	if c.Token() != "hvs.env" {
		t.Fatalf("VAULT_TOKEN must win over the helper file, got %q", c.Token())
	}
}
