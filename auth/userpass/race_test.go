//go:build race

package userpass_test

// raceEnabled: bcrypt at its default cost takes seconds under the race
// detector, so the tests that need it shrink.
const raceEnabled = true
