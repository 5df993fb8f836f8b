package core

import "github.com/vaultd/vaultd/core/tokens"

// TokenEntry is a token as the token store keeps it (core/tokens).
type TokenEntry = tokens.Entry
