// Package api is vaultd's HTTP layer: it speaks HashiCorp Vault's wire
// format (paths under /v1/, the response envelope, {"errors":[...]},
// status codes, X-Vault-Token / Authorization: Bearer) on top of core.
//
// Node-local endpoints (sys/init, sys/seal-status, sys/unseal, sys/health,
// sys/leader) are answered by this node; everything else goes through
// core.HandleRequest, behind the optional forwarding middleware that sends
// a standby's requests to the active node. No other package imports echo.
package api
