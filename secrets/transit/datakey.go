package transit

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/vaultd/vaultd/secrets"
)

// datakey answers datakey/(plaintext|wrapped)/:name: a fresh random key of
// bits (128, 256 default, 512) encrypted under the named key; "plaintext"
// also returns it in the clear.
func (e *engine) datakey(ctx context.Context, req *secrets.Request, pr params) (*secrets.Response, error) {
	var withPlain bool
	switch pr.kind {
	case "plaintext":
		withPlain = true
	case "wrapped":
	default:
		return nil, invalidf("invalid type")
	}
	bits, set, err := intField(req.Data, "bits")
	if err != nil {
		return nil, err
	}
	if !set || bits == 0 {
		bits = 256
	}
	switch bits {
	case 128, 256, 512:
	default:
		return nil, invalidf("invalid bits value")
	}
	p, releaseKey, err := e.encryptionKey(ctx, req, pr.name, "encryption")
	if err != nil {
		return nil, err
	}
	defer releaseKey()
	release, err := rsaCPU(ctx, p)
	if err != nil {
		return nil, err
	}
	defer release()
	dk := make(secretBytes, bits/8)
	defer dk.zero()
	if _, err := io.ReadFull(e.rand, dk); err != nil {
		return nil, fmt.Errorf("transit: generate data key: %w", err)
	}
	out, err := e.encryptItem(p, req.Data, dk)
	if err != nil {
		return nil, err
	}
	if withPlain {
		out["plaintext"] = base64.StdEncoding.EncodeToString(dk)
	}
	return &secrets.Response{Data: out}, nil
}
