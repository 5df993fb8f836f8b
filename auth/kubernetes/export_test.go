package kubernetes

import "github.com/vaultd/vaultd/secrets"

// NewWithLocalFiles is Factory with the in-pod service-account files at
// the given paths.
func NewWithLocalFiles(conf secrets.Config, token, ca string) secrets.Backend {
	return newEngine(conf, token, ca)
}
