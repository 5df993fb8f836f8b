package core

import (
	"errors"

	"github.com/vaultd/vaultd/seal"
	"github.com/vaultd/vaultd/secrets"
)

// Errors core returns. ErrSealed is seal.ErrSealed, so errors.Is matches
// whichever layer returned it and api never has to import seal.
var (
	ErrSealed             = seal.ErrSealed
	ErrNotInitialized     = seal.ErrNotInitialized
	ErrAlreadyInitialized = seal.ErrAlreadyInitialized
	ErrInvalidKey         = seal.ErrInvalidKey
	ErrInvalidShare       = seal.ErrInvalidShare
	// ErrStandby: this node is unsealed but not active; the request must be
	// forwarded to the active node.
	ErrStandby = errors.New("node is in standby mode")
	// ErrNoActiveNode: no active node is known right now.
	ErrNoActiveNode = errors.New("no active node is known")
	// ErrPermissionDenied is secrets.ErrPermissionDenied (403).
	ErrPermissionDenied = secrets.ErrPermissionDenied
	// ErrInvalidRequest is secrets.ErrInvalidRequest (400).
	ErrInvalidRequest = secrets.ErrInvalidRequest
)

func permissionDenied() error {
	return &secrets.Error{Kind: secrets.ErrPermissionDenied, Msg: "permission denied"}
}

func badRequest(format string, args ...any) error {
	return secrets.Errorf(secrets.ErrInvalidRequest, format, args...)
}
