package transit

// ParseVersioned exposes the "vault:vN:<base64>" parser to the black-box
// tests (fuzzing).
var ParseVersioned = parseVersioned

// SecretBytes exposes the key material type (redaction tests).
type SecretBytes = secretBytes
