package seal

import (
	"fmt"
	"io"
	"log/slog"
)

const redacted = "[redacted]"

// Secret is key material: an unseal key, a share, the root key or a data
// key. Every way of printing, logging or marshalling it yields
// "[redacted]"; convert to []byte explicitly where the bytes must leave the
// process (for example the shares returned by init). Zero wipes it.
type Secret []byte

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return redacted }

// Format implements fmt.Formatter, so no verb (%x, %d, %v, %#v …) prints
// the bytes.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON implements json.Marshaler: it writes "[redacted]".
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler: it writes [redacted].
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Zero overwrites the bytes with zeros.
func (s Secret) Zero() { clear(s) }

// clone returns a copy of b as a Secret that does not alias b.
func clone(b []byte) Secret {
	if b == nil {
		return nil
	}
	return Secret(append(make([]byte, 0, len(b)), b...))
}
