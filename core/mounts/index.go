package mounts

import "strings"

// mountIndex finds a request's mount in a number of map lookups bounded by
// the path's segments, not by the number of mounts (every request routes
// through it, and through the auth table's for auth/ paths).
type mountIndex struct {
	byPath map[string]*Entry
	// linear: some entry's path does not end in "/" (normalizeMountPath
	// always adds one; kept for entries stored otherwise), so the index's
	// candidates would miss it; match scans instead.
	linear bool
}

func (ix *mountIndex) add(me *Entry) {
	if ix.byPath == nil {
		ix.byPath = map[string]*Entry{}
	}
	ix.byPath[me.Path] = me
	if !strings.HasSuffix(me.Path, "/") {
		ix.linear = true
	}
}

// match returns the entry with the longest path that prefixes p, or that
// equals p+"/" (a request for the mount itself). Mount paths end in "/",
// so the candidates are p+"/" and every prefix of p ending at a "/",
// longest first.
func (ix *mountIndex) match(entries []*Entry, p string) *Entry {
	if ix.linear || ix.byPath == nil {
		return matchLinear(entries, p)
	}
	if me, ok := ix.byPath[p+"/"]; ok {
		return me
	}
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			if me, ok := ix.byPath[p[:i+1]]; ok {
				return me
			}
		}
	}
	return nil
}

func (ix *mountIndex) get(entries []*Entry, path string) *Entry {
	if ix.byPath == nil {
		for _, me := range entries {
			if me.Path == path {
				return me
			}
		}
		return nil
	}
	return ix.byPath[path]
}

// matchLinear is the definition match implements.
func matchLinear(entries []*Entry, p string) *Entry {
	var best *Entry
	for _, me := range entries {
		if strings.HasPrefix(p, me.Path) || p+"/" == me.Path {
			if best == nil || len(me.Path) > len(best.Path) {
				best = me
			}
		}
	}
	return best
}
