//go:build !race

package userpass_test

// raceEnabled: see race_test.go.
const raceEnabled = false
