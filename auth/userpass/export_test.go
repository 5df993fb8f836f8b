package userpass

import (
	"sync"

	"github.com/vaultd/vaultd/secrets"
)

// NewWithCost is Factory with a chosen bcrypt cost (tests use bcrypt.MinCost).
func NewWithCost(conf secrets.Config, cost int) (secrets.Backend, error) {
	return newEngine(conf, cost)
}

// DummyHash is the hash unknown users are compared against.
func DummyHash(b secrets.Backend) []byte { return b.(*engine).dummyHash }

// CompareSpy records the hashes every password comparison was made against.
type CompareSpy struct {
	mu     sync.Mutex // guards hashes
	hashes [][]byte
}

// Spy wraps b's password comparison. Call it before b serves requests.
func Spy(b secrets.Backend) *CompareSpy {
	e := b.(*engine)
	s := &CompareSpy{}
	inner := e.compare
	e.compare = func(hash, password []byte) error {
		s.mu.Lock()
		s.hashes = append(s.hashes, append([]byte(nil), hash...))
		s.mu.Unlock()
		return inner(hash, password)
	}
	return s
}

// Take returns the hashes recorded since the last Take and forgets them.
func (s *CompareSpy) Take() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hashes
	s.hashes = nil
	return h
}
