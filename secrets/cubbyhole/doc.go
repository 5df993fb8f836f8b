// Package cubbyhole is the cubbyhole secrets engine: private storage per
// token, mounted once at cubbyhole/ and destroyed with the token.
//
// Contract with core (the router):
//   - core sets secrets.Request.ClientToken to the token's salted hash
//     (64 lowercase hex characters), never to the raw token. The engine
//     refuses anything else with a permission-denied error, so a raw token
//     can never become a storage key.
//   - A token's data lives under "<salted hash>/<path>" in the mount's view;
//     a value is the JSON object that was written (Vault replaces, never
//     merges).
//   - When a token is revoked, core calls DestroyTokenData with the same
//     salted hash, which clears "<salted hash>/".
//   - Response wrapping stores the wrapped response as {"response": "<json>"}
//     at the path "response" of the wrapping token's cubbyhole, through
//     HandleRequest like any client write.
//
// Paths: read, create/update (replace), delete and list at any path below
// the mount; the mount root itself can only be listed. PATCH is not
// supported, as in Vault.
package cubbyhole
