package transit

import (
	"fmt"
	"log/slog"
)

// redacted is what key material shows when printed or logged.
const redacted = "[redacted]"

// secretBytes is key material. It encodes to JSON (storage only, behind the
// barrier) as base64 but never prints or logs its contents.
type secretBytes []byte

// String implements fmt.Stringer.
func (secretBytes) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (secretBytes) GoString() string { return redacted }

// LogValue implements slog.LogValuer.
func (secretBytes) LogValue() slog.Value { return slog.StringValue(redacted) }

// Format implements fmt.Formatter for every verb (%x, %v, %s, %q ...).
func (secretBytes) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// zero overwrites the bytes.
func (s secretBytes) zero() { clear(s) }
