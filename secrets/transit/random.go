package transit

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"

	"github.com/vaultd/vaultd/secrets"
)

// maxRandomBytes is Vault's limit for random/.
const maxRandomBytes = 128 * 1024

// encodeFormat renders b as "hex" or "base64" (def when format is empty).
func encodeFormat(data map[string]any, def string, b []byte) (string, error) {
	f, _, err := stringField(data, "format")
	if err != nil {
		return "", err
	}
	if f == "" {
		f = def
	}
	switch f {
	case "hex":
		return hex.EncodeToString(b), nil
	case "base64":
		return base64.StdEncoding.EncodeToString(b), nil
	default:
		return "", invalidf("unsupported encoding format %s; must be \"hex\" or \"base64\"", f)
	}
}

// random answers random(/:source)(/:bytes): bytes (default 32) from
// crypto/rand, as base64 (default) or hex. Every source ("platform",
// "seal", "all") reads the platform CSPRNG.
func (e *engine) random(_ context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	source, urlBytes := pr.a, pr.b
	if pr.b == "" && pr.a != "" {
		if _, err := strconv.Atoi(pr.a); err == nil {
			source, urlBytes = "", pr.a
		}
	}
	if source == "" {
		s, _, err := stringField(req.Data, "source")
		if err != nil {
			return nil, err
		}
		source = s
	}
	switch source {
	case "", "platform", "seal", "all":
	default:
		return nil, invalidf("unsupported entropy source %q; must be \"platform\", \"seal\", or \"all\"", source)
	}
	n := int64(32)
	if urlBytes != "" {
		v, err := strconv.ParseInt(urlBytes, 10, 64)
		if err != nil {
			return nil, invalidf("error parsing url-set byte count: %s", "not an integer")
		}
		n = v
	} else if v, set, err := intField(req.Data, "bytes"); err != nil {
		return nil, err
	} else if set {
		n = v
	}
	if n < 1 {
		return nil, invalidf("bytes cannot be less than 1")
	}
	if n > maxRandomBytes {
		return nil, invalidf("bytes cannot be greater than %d", maxRandomBytes)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(e.rand, b); err != nil {
		return nil, fmt.Errorf("transit: random: %w", err)
	}
	out, err := encodeFormat(req.Data, "base64", b)
	if err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{"random_bytes": out}}, nil
}

// hash answers hash(/:algorithm): {input (base64), format hex|base64}.
func (e *engine) hash(_ context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	in, err := itemInput(req.Data)
	if err != nil {
		return nil, err
	}
	h, alg, err := hashFrom(pr.a, req.Data, "algorithm")
	if err != nil {
		if alg == "" {
			return nil, err
		}
		return nil, invalidf("unsupported algorithm %s", alg)
	}
	hh := h.New()
	hh.Write(in)
	sum, err := encodeFormat(req.Data, "hex", hh.Sum(nil))
	if err != nil {
		return nil, err
	}
	return &secrets.Response{Data: map[string]any{"sum": sum}}, nil
}
