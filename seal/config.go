package seal

import (
	"encoding/json"
	"fmt"
)

// Config is the seal configuration, stored in plaintext at
// core/seal-config because it must be readable while sealed.
//
// Type is "" (or "shamir") for a vault unsealed with Shamir shares of the
// unseal key, or the type of an auto seal ("transit"): the unseal key is
// then stored wrapped by that seal, and Shares and Threshold describe the
// recovery key, whose shares authorise ceremonies but decrypt nothing.
type Config struct {
	Type      string `json:"type,omitempty"`
	Shares    int    `json:"secret_shares"`
	Threshold int    `json:"secret_threshold"`
}

// TypeShamir is the Type name sys/seal-status shows for a Shamir seal.
const TypeShamir = "shamir"

// Auto reports whether c is the configuration of an auto seal.
func (c Config) Auto() bool { return c.Type != "" && c.Type != TypeShamir }

// TypeName is the seal type as sys/seal-status reports it.
func (c Config) TypeName() string {
	if c.Auto() {
		return c.Type
	}
	return TypeShamir
}

// Validate checks 1 ≤ Threshold ≤ Shares ≤ 255 and that a threshold of 1
// goes with exactly one share. Errors wrap ErrInvalidConfig and carry
// Vault's wording.
func (c Config) Validate() error {
	switch {
	case c.Type != "" && c.Type != TypeShamir && c.Type != "transit":
		return fmt.Errorf("%w: unknown seal type %q", ErrInvalidConfig, c.Type)
	case c.Shares < 1:
		return fmt.Errorf("%w: shares must be at least one", ErrInvalidConfig)
	case c.Threshold < 1:
		return fmt.Errorf("%w: threshold must be at least one", ErrInvalidConfig)
	case c.Shares > 255:
		return fmt.Errorf("%w: shares must be less than 256", ErrInvalidConfig)
	case c.Threshold > c.Shares:
		return fmt.Errorf("%w: threshold cannot be larger than shares", ErrInvalidConfig)
	case c.Threshold == 1 && c.Shares > 1:
		return fmt.Errorf("%w: threshold must be greater than one for multiple shares", ErrInvalidConfig)
	}
	return nil
}

// shareLen is the length of one share under c: the raw key for 1-of-1,
// else the key's Y bytes plus the X byte.
func (c Config) shareLen() int {
	if c.Threshold == 1 {
		return keySize
	}
	return keySize + 1
}

// decodeConfig parses and validates a stored seal configuration.
func decodeConfig(b []byte) (*Config, error) {
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: decoding %s: %w", ErrInvalidConfig, sealConfigPath, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%w (stored at %s)", err, sealConfigPath)
	}
	return &c, nil
}
