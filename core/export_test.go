package core

import "time"

// Test hooks for the external test package (compiled into tests only).

// AddEncryptionsForTest adds n to the active term's encryption count, as
// n barrier writes would.
func (c *Core) AddEncryptionsForTest(n uint64) error {
	ki, err := c.barrier.KeyStatus()
	if err != nil {
		return err
	}
	return c.barrier.AddEncryptions(ki.Term, n)
}

// SetRotationCheckEvery shortens the automatic rotation check period.
func SetRotationCheckEvery(d time.Duration) { rotationCheckEvery = d }

// ParseActivationForTest parses an unwrapped activation payload.
func ParseActivationForTest(d map[string]any) error {
	_, err := secondaryConfigFrom(d)
	return err
}
