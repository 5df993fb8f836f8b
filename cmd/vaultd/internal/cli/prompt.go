package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// errNoInput: stdin ended before a value was read.
var errNoInput = errors.New("no input: stdin is closed")

// maxSecretInput bounds one secret read from stdin (a share is < 100 bytes,
// a token < 200; leave room for an encrypted share).
const maxSecretInput = 64 << 10

// readSecret reads one secret: from the terminal without echo when stdin
// is a terminal (prompt on stderr), else one line from stdin. The caller
// zeroes the result. Nothing read here is ever logged or echoed.
func (a *app) readSecret(prompt string) ([]byte, error) {
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return nil, fmt.Errorf("reading from the terminal: %w", err)
		}
		return trimSecret(b), nil
	}
	return readLine(a.stdin)
}

// readLine reads bytes up to a newline from r without buffering past it,
// so later reads of r see the rest.
func readLine(r io.Reader) ([]byte, error) {
	var buf []byte
	one := make([]byte, 1)
	for {
		n, err := r.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				return trimSecret(buf), nil
			}
			buf = append(buf, one[0])
			if len(buf) > maxSecretInput {
				clear(buf)
				return nil, fmt.Errorf("input line longer than %d bytes", maxSecretInput)
			}
		}
		if errors.Is(err, io.EOF) {
			if len(buf) == 0 {
				return nil, errNoInput
			}
			return trimSecret(buf), nil
		}
		if err != nil {
			clear(buf)
			return nil, err
		}
	}
}

// readAllSecret reads all of r (bounded) for `-` arguments.
func readAllSecret(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(r), maxSecretInput+1))
	if err != nil {
		clear(b)
		return nil, err
	}
	if len(b) > maxSecretInput {
		clear(b)
		return nil, fmt.Errorf("input longer than %d bytes", maxSecretInput)
	}
	return trimSecret(b), nil
}

// trimSecret trims surrounding whitespace in place (no copy of the secret
// is left behind in a discarded buffer).
func trimSecret(b []byte) []byte {
	t := bytes.TrimSpace(b)
	if len(t) == len(b) {
		return b
	}
	out := make([]byte, len(t))
	copy(out, t)
	clear(b)
	return out
}
