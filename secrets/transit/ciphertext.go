package transit

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// vaultPrefix starts every ciphertext, signature and HMAC.
const vaultPrefix = "vault:v"

// maxVersion bounds the version number a parser accepts.
const maxVersion = 1<<31 - 1

// formatVersioned renders "vault:v<ver>:<base64 payload>".
func formatVersioned(ver int, payload []byte) string {
	return formatVersionedEnc(ver, payload, base64.StdEncoding)
}

// formatVersionedEnc is formatVersioned with another base64 alphabet (JWS
// signatures use unpadded base64url).
func formatVersionedEnc(ver int, payload []byte, enc *base64.Encoding) string {
	return vaultPrefix + strconv.Itoa(ver) + ":" + enc.EncodeToString(payload)
}

// parseVersioned splits "vault:v<ver>:<base64>" into the key version and
// the decoded payload. what names the value in errors ("ciphertext",
// "signature", "hmac"), as Vault's messages do.
func parseVersioned(what, s string) (int, []byte, error) {
	return parseVersionedEnc(what, s, base64.StdEncoding)
}

// parseVersionedEnc is parseVersioned with another base64 alphabet.
func parseVersionedEnc(what, s string, enc *base64.Encoding) (int, []byte, error) {
	rest, ok := strings.CutPrefix(s, vaultPrefix)
	if !ok {
		return 0, nil, invalidf("invalid %s: no prefix", what)
	}
	verStr, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, nil, invalidf("invalid %s: wrong number of fields", what)
	}
	ver, err := strconv.Atoi(verStr)
	if err != nil || ver < 0 || ver > maxVersion || verStr == "" || verStr[0] == '+' || verStr[0] == '-' {
		return 0, nil, invalidf("invalid %s: version number could not be decoded", what)
	}
	payload, err := enc.DecodeString(b64)
	if err != nil {
		return 0, nil, invalidf("invalid %s: could not decode base64", what)
	}
	return ver, payload, nil
}
