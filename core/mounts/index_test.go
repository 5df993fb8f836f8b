package mounts

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestMountIndex_MatchesLinear: the indexed lookup gives exactly the
// longest-prefix answer of a scan, for nested mounts and odd paths.
func TestMountIndex_MatchesLinear(t *testing.T) {
	paths := []string{"secret/", "sys/", "cubbyhole/", "team/", "team/a/", "team/a/kv/", "pki/", "pki_int/", "x/y/z/"}
	var entries []*Entry
	var ix mountIndex
	for _, p := range paths {
		me := &Entry{Path: p}
		entries = append(entries, me)
		ix.add(me)
	}
	probes := []string{"", "secret", "secret/", "secret/data/a", "secretx/a", "team", "team/", "team/a", "team/a/kv",
		"team/a/kv/data/x", "team/b/kv/x", "pki_int/issue/r", "pki/ca", "x/y", "x/y/z", "x/y/z/w", "/", "//", "sys/mounts"}
	r := rand.New(rand.NewPCG(1, 2))
	segs := []string{"secret", "team", "a", "kv", "data", "x", "y", "z", "pki", ""}
	for range 2000 {
		n := 1 + r.IntN(5)
		var b []string
		for range n {
			b = append(b, segs[r.IntN(len(segs))])
		}
		probes = append(probes, strings.Join(b, "/"))
	}
	for _, p := range probes {
		want := matchLinear(entries, p)
		if got := ix.match(entries, p); got != want {
			t.Fatalf("match(%q) = %v, want %v", p, got, want)
		}
	}
	if ix.get(entries, "team/a/") != entries[4] || ix.get(entries, "team/a") != nil {
		t.Fatal("get by exact path")
	}
	// An entry without a trailing slash falls back to the scan.
	odd := &Entry{Path: "odd"}
	entries = append(entries, odd)
	ix.add(odd)
	if got := ix.match(entries, "oddity/x"); got != odd {
		t.Fatalf("fallback scan: got %v", got)
	}
}
