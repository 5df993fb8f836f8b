package tokenparams_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultd/vaultd/auth/internal/tokenparams"
	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
)

// parse converts data with the declared fields, then applies it to p, as
// an endpoint does.
func parse(p *tokenparams.Params, data map[string]any) error {
	d, err := endpoint.NewData(tokenparams.Fields(legacy), data)
	if err != nil {
		return err
	}
	return p.Parse(d, legacy)
}

// legacy is userpass's map of deprecated fields.
var legacy = map[string]string{
	"policies":    "token_policies",
	"ttl":         "token_ttl",
	"max_ttl":     "token_max_ttl",
	"bound_cidrs": "token_bound_cidrs",
	"period":      "token_period",
}

func TestParams_Parse(t *testing.T) {
	base := tokenparams.Params{Policies: []string{"keep"}, TTL: time.Minute, NumUses: 2}
	tests := []struct {
		name string
		data map[string]any
		want tokenparams.Params
		err  string // the whole message of the expected 400, or ""
	}{
		{name: "absent fields keep their value", data: map[string]any{}, want: base},
		{name: "policies sanitized", data: map[string]any{"token_policies": "b, A ,a,,c"},
			want: tokenparams.Params{Policies: []string{"a", "b", "c"}, TTL: time.Minute, NumUses: 2}},
		{name: "legacy field", data: map[string]any{"policies": []any{"x"}, "ttl": "1h", "bound_cidrs": "10.0.0.1/32", "period": 60},
			want: tokenparams.Params{Policies: []string{"x"}, TTL: time.Hour, Period: time.Minute, NumUses: 2, BoundCIDRs: []string{"10.0.0.1"}}},
		{name: "token_* wins over legacy", data: map[string]any{"policies": "old", "token_policies": "new", "max_ttl": 10, "token_max_ttl": 120},
			want: tokenparams.Params{Policies: []string{"new"}, TTL: time.Minute, MaxTTL: 2 * time.Minute, NumUses: 2}},
		{name: "legacy null falls through", data: map[string]any{"token_ttl": nil, "ttl": "2m"},
			want: tokenparams.Params{Policies: []string{"keep"}, TTL: 2 * time.Minute, NumUses: 2}},
		{name: "all fields", data: map[string]any{
			"token_policies": []any{"p"}, "token_ttl": "1m", "token_max_ttl": "1h", "token_explicit_max_ttl": "2h",
			"token_period": "0", "token_num_uses": "0", "token_bound_cidrs": []any{"::1", "10.0.0.0/8"},
			"token_no_default_policy": "true", "token_type": "service"},
			want: tokenparams.Params{Policies: []string{"p"}, TTL: time.Minute, MaxTTL: time.Hour, ExplicitMaxTTL: 2 * time.Hour,
				BoundCIDRs: []string{"10.0.0.0/8", "::1"}, NoDefaultPolicy: true, Type: "service"}},
		{name: "empty token_type is default", data: map[string]any{"token_type": ""},
			want: tokenparams.Params{Policies: []string{"keep"}, TTL: time.Minute, NumUses: 2, Type: "default"}},
		{name: "root refused", data: map[string]any{"token_policies": "a,ROOT"}, err: `the "root" policy cannot be assigned by an auth method`},
		{name: "bad cidr", data: map[string]any{"bound_cidrs": "nope"}, err: `invalid CIDR block "nope" in "bound_cidrs"`},
		{name: "negative ttl", data: map[string]any{"ttl": -1}, err: `'token_ttl' cannot be negative`},
		{name: "negative uses", data: map[string]any{"token_num_uses": -1}, err: `'token_num_uses' cannot be negative`},
		{name: "bad type", data: map[string]any{"token_type": "weird"}, err: `invalid 'token_type' value "weird"`},
		{name: "batch periodic", data: map[string]any{"token_type": "batch", "token_num_uses": 0, "period": "1h"},
			err: `'token_type' cannot be 'batch' when set to generate periodic tokens`},
		{name: "batch with uses", data: map[string]any{"token_type": "batch"},
			err: `'token_type' cannot be 'batch' when set to generate tokens with limited use count`},
		{name: "ttl over max", data: map[string]any{"token_max_ttl": 30}, err: `'token_ttl' cannot be greater than 'token_max_ttl'`},
		{name: "unconvertible", data: map[string]any{"token_num_uses": "many"}, err: `error converting input for field "token_num_uses": expected an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := base
			got.Policies = slices.Clone(base.Policies)
			err := parse(&got, tt.data)
			if tt.err != "" {
				if !errors.Is(err, secrets.ErrInvalidRequest) || err.Error() != tt.err {
					t.Fatalf("Parse(%v) err = %v, want 400 %q", tt.data, err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%v) = %+v, %v; want %+v", tt.data, got, err, tt.want)
			}
		})
	}
}

// TestParams_JSON pins the storage format: Params is embedded in stored
// user and role records, so its field names must never change.
func TestParams_JSON(t *testing.T) {
	type record struct {
		Name string `json:"name"`
		tokenparams.Params
	}
	in := record{Name: "r", Params: tokenparams.Params{
		Policies: []string{"a"}, TTL: time.Second, MaxTTL: 2 * time.Second, ExplicitMaxTTL: 3 * time.Second,
		Period: 4 * time.Second, NumUses: 5, BoundCIDRs: []string{"::1"}, NoDefaultPolicy: true, Type: "batch",
	}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"r","token_policies":["a"],"token_ttl":1000000000,"token_max_ttl":2000000000,` +
		`"token_explicit_max_ttl":3000000000,"token_period":4000000000,"token_num_uses":5,` +
		`"token_bound_cidrs":["::1"],"token_no_default_policy":true,"token_type":"batch"}`
	if string(b) != want {
		t.Fatalf("Marshal = %s\nwant      %s", b, want)
	}
	var back record
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, in) {
		t.Fatalf("Unmarshal = %+v, %v; want %+v", back, err, in)
	}
	if b, _ := json.Marshal(record{Name: "r"}); string(b) != `{"name":"r"}` {
		t.Fatalf("zero Params marshal as %s, want no token fields", b)
	}
}

func TestParams_Populate(t *testing.T) {
	m := map[string]any{}
	(&tokenparams.Params{}).Populate(m)
	want := map[string]any{
		"token_policies": []string{}, "token_bound_cidrs": []string{}, "token_ttl": int64(0), "token_max_ttl": int64(0),
		"token_explicit_max_ttl": int64(0), "token_period": int64(0), "token_num_uses": 0,
		"token_no_default_policy": false, "token_type": "default",
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("Populate(zero) = %#v\nwant %#v", m, want)
	}
	m = map[string]any{"other": 1}
	(&tokenparams.Params{TTL: 90*time.Second + time.Millisecond, Type: "batch", Policies: []string{"p"}}).Populate(m)
	if m["token_ttl"] != int64(90) || m["token_type"] != "batch" || m["other"] != 1 || !reflect.DeepEqual(m["token_policies"], []string{"p"}) {
		t.Fatalf("Populate = %#v", m)
	}
}

func TestParams_Auth(t *testing.T) {
	p := tokenparams.Params{Policies: []string{"a", "b"}, TTL: 1, MaxTTL: 2, ExplicitMaxTTL: 3, Period: 4, NumUses: 5, NoDefaultPolicy: true,
		BoundCIDRs: []string{"10.0.0.0/8", "127.0.0.1"}}
	meta := map[string]string{"username": "alice"}
	got := p.Auth("display", "alias", meta)
	want := &secrets.Auth{Policies: []string{"a", "b"}, Metadata: meta, DisplayName: "display", TTL: 1, MaxTTL: 2,
		Period: 4, NumUses: 5, Renewable: true, ExplicitMax: 3, NoDefaultPol: true, Alias: "alias",
		BoundCIDRs: []string{"10.0.0.0/8", "127.0.0.1"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Auth = %+v, want %+v", got, want)
	}
	got.Policies[0] = "changed"
	if p.Policies[0] != "a" {
		t.Fatal("Auth shares its policy list with the params")
	}
	got.BoundCIDRs[0] = "changed"
	if p.BoundCIDRs[0] != "10.0.0.0/8" {
		t.Fatal("Auth shares its bound CIDR list with the params")
	}
}

func TestSanitizePolicies(t *testing.T) {
	got := tokenparams.SanitizePolicies([]string{"B", "a", "b", "A"})
	if want := []string{"a", "b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("SanitizePolicies = %q, want %q", got, want)
	}
	if got := tokenparams.SanitizePolicies(nil); got == nil || len(got) != 0 {
		t.Fatalf("SanitizePolicies(nil) = %#v, want an empty list", got)
	}
}

// FuzzParse: whatever the body, Parse fails with a 400 or leaves params
// that keep the package's invariants.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"token_policies":"a, B ,c,,a","token_ttl":"1h","token_max_ttl":7200}`,
		`{"policies":["x","y"],"ttl":"30m","max_ttl":"1d","bound_cidrs":"10.0.0.0/8,::1"}`,
		`{"token_bound_cidrs":["127.0.0.1","2001:db8::/32"],"token_num_uses":"3","token_type":"batch"}`,
		`{"token_period":"1.5h","token_explicit_max_ttl":"-1","token_no_default_policy":"true"}`,
		`{"token_policies":[1,2],"token_ttl":"9223372036854775807","token_type":"default"}`,
		`{"period":"1h","token_type":"batch","token_num_uses":0}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var data map[string]any
		if json.Unmarshal([]byte(body), &data) != nil {
			return
		}
		var p tokenparams.Params
		if err := parse(&p, data); err != nil {
			if !errors.Is(err, secrets.ErrInvalidRequest) {
				t.Fatalf("Parse err = %v, want kind ErrInvalidRequest", err)
			}
			return
		}
		for i, pol := range p.Policies {
			if pol != strings.ToLower(pol) || pol == "root" || (i > 0 && p.Policies[i-1] >= pol) {
				t.Fatalf("policies %q are not sanitized", p.Policies)
			}
		}
		if p.TTL < 0 || p.MaxTTL < 0 || p.ExplicitMaxTTL < 0 || p.Period < 0 || p.NumUses < 0 {
			t.Fatalf("negative field in %+v", p)
		}
		if p.Type == "batch" && (p.Period != 0 || p.NumUses != 0) {
			t.Fatalf("batch token with a period or uses: %+v", p)
		}
		if p.TTL > 0 && p.MaxTTL > 0 && p.TTL > p.MaxTTL {
			t.Fatalf("ttl over max_ttl: %+v", p)
		}
		switch p.Type {
		case "", "default", "service", "batch":
		default:
			t.Fatalf("token type %q", p.Type)
		}
	})
}
