// Package transit is vaultd's transit secrets engine: encryption as a
// service, compatible with HashiCorp Vault's transit HTTP API.
//
// Named keys live in the mount's storage view (behind the barrier) under
// "policy/<name>", one JSON record per key holding every version. Key
// material is generated with crypto/rand, typed secretBytes so it never
// prints or logs, and never returned unless the key is exportable
// (export/:key_type/:name). Parsed keys are cached between requests
// (cache.go: checked against the stored record on every use, zeroed when
// replaced, evicted, or when the mount is dropped, see Cleanup); private
// copies made to change a key are zeroed after the request.
//
// Paths (relative to the mount), one file per family:
//
//	keys/                      LIST                       keys.go
//	keys/:name                 create, read, delete
//	keys/:name/config          update
//	keys/:name/rotate          update
//	encrypt/:name              {plaintext|batch_input}    encrypt.go
//	decrypt/:name              {ciphertext|batch_input}
//	rewrap/:name               {ciphertext|batch_input}
//	datakey/(plaintext|wrapped)/:name {bits}              datakey.go
//	sign/:name(/:hash)         ed25519, ecdsa-p256/384/521 sign.go
//	verify/:name(/:hash)       {signature|hmac}
//	hmac/:name(/:algorithm)    every key type             hmac.go
//	random(/:source)(/:bytes)  {bytes, format}            random.go
//	hash(/:algorithm)          {input, format}
//	export/:key_type/:name(/:version)                     export.go
//
// Key types: aes128-gcm96, aes256-gcm96 (default), chacha20-poly1305,
// ed25519, ecdsa-p256, ecdsa-p384, ecdsa-p521. Derived keys and convergent
// encryption are not supported (creation with derived=true is a 400).
//
// Ciphertexts, signatures and HMACs are "vault:v<N>:<base64>" as in Vault;
// for the AEAD types the payload is nonce (12 bytes) || sealed box.
// Errors are *secrets.Error values carrying Vault's messages; batch
// requests report per-item errors in batch_results and answer 400 (or
// partial_failure_response_code when some items succeeded).
//
// auto_rotate_period is enforced lazily: a key whose latest version is
// older than the period is rotated when it is next used or read.
package transit
