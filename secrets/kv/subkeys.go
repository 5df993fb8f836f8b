package kv

import (
	"context"
	"math"
	"net/http"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// subkeysRead serves GET subkeys/:path[?version=N&depth=D]: the secret's
// structure with every leaf value replaced by null. With depth D > 0, keys
// at depth D are leaves even when they hold objects. A deleted or
// destroyed version answers 404 with {"subkeys": null, "metadata": {...}}.
func (b *v2) subkeysRead(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	present, err := checkLookupKey(key)
	if err != nil {
		return nil, err
	}
	want := versionParam(d)
	depth := d.Int64("depth")
	if depth < 0 {
		return nil, invalidf("depth must be a non-negative integer")
	}
	if depth == 0 || depth > math.MaxInt32 {
		depth = math.MaxInt32 // no limit
	}
	if !present {
		return nil, notFound()
	}

	l := b.locks.forKey(key)
	l.RLock()
	defer l.RUnlock()

	meta, err := loadMeta(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		return nil, notFound()
	}
	n := meta.CurrentVersion
	if want > 0 {
		n = want
	}
	vm := meta.Versions[n]
	if vm == nil {
		return nil, notFound()
	}
	resp := &secrets.Response{Data: map[string]any{
		"subkeys":  nil,
		"metadata": meta.versionView(n, vm),
	}}
	if vm.Destroyed || vm.isDeleted(b.now()) {
		resp.StatusCode = http.StatusNotFound
		return resp, nil
	}
	data, err := loadVersionData(ctx, req.Storage, key, n)
	if err != nil {
		return nil, err
	}
	resp.Data["subkeys"] = subkeys(data, 1, int(depth))
	return resp, nil
}

// subkeys returns a copy of m with every value replaced by null, except
// non-empty objects above maxDepth, which are walked. The input's nesting
// is bounded by the JSON decoder, so the recursion is too.
func subkeys(m map[string]any, depth, maxDepth int) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if child, ok := v.(map[string]any); ok && len(child) > 0 && depth+1 <= maxDepth {
			out[k] = subkeys(child, depth+1, maxDepth)
			continue
		}
		out[k] = nil
	}
	return out
}
