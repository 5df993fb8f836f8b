package transit

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// params are the path segments a route captured (named as Vault names
// them in its patterns).
type params struct {
	name string // key name
	a    string // first optional segment: urlalgorithm, random's source (or bytes), export's version
	b    string // second optional segment: random's urlbytes
	kind string // the non-name selector: datakey's plaintext|wrapped, export's type
}

// handler serves one operation on one path family.
type handler func(ctx context.Context, req *secrets.Request, p params) (*secrets.Response, error)

// Fields are declared TypeRaw: transit's handlers convert them (and the
// same names inside batch_input items) with their own weak decoding, so
// declaring them documents the endpoint and keeps the unknown-field
// warning for everything else, without a second conversion.
func raw(desc string) *endpoint.Field {
	return &endpoint.Field{Type: endpoint.TypeRaw, Description: desc}
}

type fields = map[string]*endpoint.Field

func with(base fields, more fields) fields {
	out := maps.Clone(base)
	maps.Copy(out, more)
	return out
}

var (
	batchFields = fields{
		"batch_input":                   raw("Items to process, each with the single-item fields."),
		"partial_failure_response_code": raw("HTTP status when some batch items fail (default 400)."),
	}
	aeadFields = fields{
		"context":         raw("Base64 derivation context (validated; keys are not derived)."),
		"nonce":           raw("Refused: nonces are never caller-chosen."),
		"associated_data": raw("Base64 associated data (AEAD keys)."),
		"padding_scheme":  raw("RSA keys: oaep (default) or pkcs1v15."),
	}
	signFields = fields{
		"input":                raw("Base64 input."),
		"key_version":          raw("Key version to use (default latest)."),
		"hash_algorithm":       raw("sha2-256 (default), sha2-224/384/512, sha3-*, sha1; none (RSA PKCS #1 v1.5)."),
		"algorithm":            raw("Deprecated name of hash_algorithm."),
		"prehashed":            raw("The input is already a digest."),
		"signature_algorithm":  raw("RSA: pss (default) or pkcs1v15."),
		"marshaling_algorithm": raw("asn1 (default) or jws."),
		"salt_length":          raw("RSA PSS: auto (default), hash, or a number of bytes."),
		"context":              raw("Base64 context (validated)."),
	}
	keyConfigFields = fields{
		"min_decryption_version": raw("Oldest version that may decrypt, verify or HMAC."),
		"min_encryption_version": raw("Oldest version that may encrypt or sign (0: latest)."),
		"deletion_allowed":       raw("Allow DELETE keys/:name."),
		"exportable":             raw("Allow export and backup (cannot be undone)."),
		"allow_plaintext_backup": raw("Allow backup/:name (cannot be undone)."),
		"auto_rotate_period":     raw("Rotate after this long (0 disables; at least 1h)."),
	}
)

// paths declares transit's endpoints through the endpoint package; the
// handlers keep their (ctx, req, params) shape.
func (e *engine) paths() []*endpoint.Path {
	type ops = map[secrets.Operation]endpoint.Handler
	w := e.wrap
	upd := func(h handler) ops { return ops{secrets.OpUpdate: w(h)} }
	p := func(pattern, summary string, f fields, o ops) *endpoint.Path {
		return &endpoint.Path{Pattern: pattern, Summary: summary, Fields: f, Operations: o}
	}
	keyExists := func(ctx context.Context, req *secrets.Request, d *endpoint.Data) (bool, error) {
		name := d.String("name")
		if !validName(name) {
			return false, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
		}
		// Whether the record exists is all that is asked: it is not
		// parsed here (the handler does, through the cache).
		ent, err := req.Storage.Get(ctx, policyKey(name))
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("transit: load key: %w", err)
		}
		clear(ent.Value)
		return true, nil
	}
	keys := p("keys/{name}", "Create, read or delete a named key.", fields{
		"type":                   raw("Key type (default aes256-gcm96)."),
		"derived":                raw("Refused when true: keys are not derived."),
		"convergent_encryption":  raw("Requires derived."),
		"exportable":             raw("Allow export and backup."),
		"allow_plaintext_backup": raw("Allow backup/:name."),
		"auto_rotate_period":     raw("Rotate after this long (0 disables)."),
	}, ops{secrets.OpRead: w(e.keyRead), secrets.OpUpdate: w(cpuHeavy(e.keyCreate)), secrets.OpCreate: w(cpuHeavy(e.keyCreate)), secrets.OpDelete: w(e.keyDelete)})
	keys.Exists = keyExists
	enc := p("encrypt/{name}", "Encrypt (creating an AEAD key on first use).", with(with(aeadFields, batchFields), fields{
		"plaintext": raw("Base64 plaintext."), "key_version": raw("Key version to use (default latest)."), "type": raw("Type of a key created by this call."),
	}), ops{secrets.OpUpdate: w(e.encrypt), secrets.OpCreate: w(e.encrypt)})
	enc.Exists = keyExists
	return []*endpoint.Path{
		p("keys", "List keys.", nil, ops{secrets.OpList: w(e.keyList)}),
		keys,
		p("keys/{name}/config", "Tune a key.", keyConfigFields, upd(e.keyConfig)),
		p("keys/{name}/rotate", "Add a new key version.", nil, upd(cpuHeavy(e.keyRotate))),
		p("keys/{name}/trim", "Delete versions below min_available_version.", fields{"min_available_version": raw("New oldest version kept.")}, upd(e.keyTrim)),
		p("backup/{name}", "Plaintext backup of a key (exportable and allow_plaintext_backup).", nil, ops{secrets.OpRead: w(e.backup)}),
		p("restore", "Restore a backup.", fields{"backup": raw("The backup."), "name": raw("Name to restore under."), "force": raw("Replace an existing key.")}, upd(e.restore)),
		p("restore/{name}", "Restore a backup under this name.", fields{"backup": raw("The backup."), "force": raw("Replace an existing key.")}, upd(e.restore)),
		enc,
		p("decrypt/{name}", "Decrypt.", with(with(aeadFields, batchFields), fields{"ciphertext": raw("vault:vN:... ciphertext.")}), upd(e.decrypt)),
		p("rewrap/{name}", "Re-encrypt under the latest (or given) version.", with(with(aeadFields, batchFields), fields{
			"ciphertext": raw("vault:vN:... ciphertext."), "key_version": raw("Key version to use (default latest)."),
		}), upd(e.rewrap)),
		p("datakey/{plaintext}/{name}", "A new data key, wrapped (plaintext: also returned in the clear).", with(aeadFields, fields{
			"bits": raw("128, 256 (default) or 512."), "key_version": raw("Key version to use (default latest)."),
		}), upd(e.datakey)),
		p("sign/{name}/{urlalgorithm?}", "Sign input.", with(signFields, batchFields), upd(cpuHeavy(e.sign))),
		p("verify/{name}/{urlalgorithm?}", "Verify a signature or an HMAC.", with(with(signFields, batchFields), fields{
			"signature": raw("vault:vN:... signature."), "hmac": raw("vault:vN:... HMAC."),
		}), upd(e.verify)),
		p("hmac/{name}/{urlalgorithm?}", "HMAC input.", with(batchFields, fields{
			"input": raw("Base64 input."), "key_version": raw("Key version to use (default latest)."),
			"algorithm": raw("Hash algorithm (default sha2-256)."), "hash_algorithm": raw("Hash algorithm (default sha2-256)."),
		}), upd(e.hmac)),
		p("random/{source?}/{urlbytes?}", "Random bytes.", fields{"bytes": raw("How many (default 32)."), "format": raw("base64 (default) or hex."), "source": raw("platform (default), seal or all.")}, upd(e.random)),
		p("hash/{urlalgorithm?}", "Hash input.", fields{"input": raw("Base64 input."), "algorithm": raw("Hash algorithm (default sha2-256)."), "format": raw("hex (default) or base64.")}, upd(e.hash)),
		p("export/{type}/{name}/{version?}", "Export key material (exportable keys) or public keys.", nil, ops{secrets.OpRead: w(e.export)}),
	}
}

// wrap adapts a transit handler: params come from the captures of the
// path that matched (never from body or query fields of the same name),
// and a captured key name or selector that is not a valid name is an
// unknown path, as it always was for transit.
func (e *engine) wrap(h handler) endpoint.Handler {
	return func(ctx context.Context, req *secrets.Request, _ *endpoint.Data) (*secrets.Response, error) {
		_, caps, ok := e.be.Match(req.Operation, req.Path)
		if !ok {
			return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
		}
		var pr params
		for name, v := range caps {
			if v == "" {
				continue
			}
			if !validName(v) {
				return nil, secrets.Errorf(secrets.ErrUnsupportedPath, "unsupported path")
			}
			switch name {
			case "name":
				pr.name = v
			case "plaintext", "type":
				pr.kind = v
			case "urlbytes":
				pr.b = v
			default: // urlalgorithm, source, version
				pr.a = v
			}
		}
		return h(ctx, req, pr)
	}
}

// validName is Vault's GenericNameRegex: word characters, '-' and '.',
// starting and ending with a word character.
func validName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	word := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	if !word(s[0]) || !word(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !word(c) && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// cpuHeavy runs h in a slot of the node's CPU pool (secrets.AcquireCPU):
// key generation and signing can cost milliseconds of CPU each (RSA), and
// a storm of them must not starve raft (issue 11).
func cpuHeavy(h handler) handler {
	return func(ctx context.Context, req *secrets.Request, p params) (*secrets.Response, error) {
		release, err := secrets.AcquireCPU(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
		return h(ctx, req, p)
	}
}

// rsaCPU takes a slot of the node's CPU pool when p is an RSA key, for
// encrypt, decrypt, rewrap and datakey: an RSA private-key operation costs
// milliseconds of CPU (a batch many times that), the AEAD types
// microseconds, so only RSA keys queue (issue 11). The slot is held for
// the whole request, batch included, so a refusal is the request's 429,
// never a half-processed batch.
func rsaCPU(ctx context.Context, p *policy) (release func(), err error) {
	if p.spec.rsa == 0 {
		return func() {}, nil
	}
	return secrets.AcquireCPU(ctx)
}
