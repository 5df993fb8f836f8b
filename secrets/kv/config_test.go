package kv_test

import (
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

func TestV2_Config(t *testing.T) {
	f := newKV(t, "2")
	defaults := map[string]any{"max_versions": float64(0), "cas_required": false, "delete_version_after": "0s"}
	assertEqual(t, "defaults", f.mustJSON(secrets.OpRead, "config", nil), defaults)

	for _, tc := range []struct {
		name string
		in   map[string]any
		want map[string]any
	}{
		{"all", map[string]any{"max_versions": 5, "cas_required": true, "delete_version_after": "3h25m19s"},
			map[string]any{"max_versions": float64(5), "cas_required": true, "delete_version_after": "3h25m19s"}},
		{"partial keeps the rest", map[string]any{"max_versions": "7"},
			map[string]any{"max_versions": float64(7), "cas_required": true, "delete_version_after": "3h25m19s"}},
		{"seconds and string bool", map[string]any{"delete_version_after": 90, "cas_required": "false"},
			map[string]any{"max_versions": float64(7), "cas_required": false, "delete_version_after": "1m30s"}},
		{"negative disables", map[string]any{"delete_version_after": "-5m"},
			map[string]any{"max_versions": float64(7), "cas_required": false, "delete_version_after": "-1s"}},
		{"zero clears", map[string]any{"delete_version_after": "0", "max_versions": 0},
			defaults},
		{"days", map[string]any{"delete_version_after": "2d"},
			map[string]any{"max_versions": float64(0), "cas_required": false, "delete_version_after": "48h0m0s"}},
		{"no fields is a no-op", map[string]any{"other": 1},
			map[string]any{"max_versions": float64(0), "cas_required": false, "delete_version_after": "48h0m0s"}},
		{"set again", map[string]any{"max_versions": 3, "cas_required": true},
			map[string]any{"max_versions": float64(3), "cas_required": true, "delete_version_after": "48h0m0s"}},
		{"null resets", map[string]any{"max_versions": nil, "cas_required": nil, "delete_version_after": nil},
			defaults},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.with(t)
			if resp := f.must(secrets.OpUpdate, "config", tc.in); resp.Data != nil {
				t.Fatalf("write response = %+v, want empty (204)", resp)
			}
			assertEqual(t, "config", f.mustJSON(secrets.OpRead, "config", nil), tc.want)
		})
	}
}

func TestV2_Config_Errors(t *testing.T) {
	f := newKV(t, "2")
	for _, tc := range []struct {
		name string
		op   secrets.Operation
		path string
		data map[string]any
		kind error
	}{
		{"max_versions negative", secrets.OpUpdate, "config", map[string]any{"max_versions": -1}, secrets.ErrInvalidRequest},
		{"max_versions too big", secrets.OpUpdate, "config", map[string]any{"max_versions": float64(1 << 33)}, secrets.ErrInvalidRequest},
		{"max_versions fraction", secrets.OpUpdate, "config", map[string]any{"max_versions": 1.5}, secrets.ErrInvalidRequest},
		{"cas_required garbage", secrets.OpUpdate, "config", map[string]any{"cas_required": []any{}}, secrets.ErrInvalidRequest},
		{"dva garbage", secrets.OpUpdate, "config", map[string]any{"delete_version_after": "1 fortnight"}, secrets.ErrInvalidRequest},
		{"dva overflow", secrets.OpUpdate, "config", map[string]any{"delete_version_after": float64(1e300)}, secrets.ErrInvalidRequest},
		{"delete", secrets.OpDelete, "config", nil, secrets.ErrUnsupportedOperation},
		{"patch", secrets.OpPatch, "config", map[string]any{"max_versions": 1}, secrets.ErrUnsupportedOperation},
		{"list", secrets.OpList, "config", nil, secrets.ErrUnsupportedPath},
		{"config/ sub-path", secrets.OpRead, "config/x", nil, secrets.ErrUnsupportedPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.with(t)
			f.fails(tc.op, tc.path, tc.data, tc.kind)
		})
	}
	assertEqual(t, "config unchanged", f.mustJSON(secrets.OpRead, "config", nil),
		map[string]any{"max_versions": float64(0), "cas_required": false, "delete_version_after": "0s"})
}
