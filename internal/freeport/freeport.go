// Package freeport chooses TCP ports for processes a test (or the bench
// tool) starts later on loopback. The ports lie below the kernel's
// ephemeral range (net.ipv4.ip_local_port_range starts at 32768 by
// default), so between the choice and the child's bind the kernel never
// hands the port to another socket: not to a listener on :0, and not to
// an outgoing connection's local end. The latter includes a TCP
// self-connect: a client that keeps dialing a stopped node's port (a
// standby forwarding to a killed active) is sometimes given that very port
// as its local port, connects to itself, and holds the port, so the node
// cannot be restarted on it. A port from :0 is in the ephemeral range and
// open to both. Only another chooser picking at random from the same range
// at the same moment can take one (about one in ten thousand per port).
package freeport

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
)

// Low and High bound the range ports are chosen from: [Low, High).
const (
	Low  = 20000
	High = 32000
)

// ErrNone is returned when no free port (or run of ports) was found.
var ErrNone = errors.New("freeport: no free port found below the ephemeral range")

// On returns a TCP port free on ip (a loopback address) now.
func On(ip string) (int, error) { return Run(ip, 1) }

// Run returns the first of n consecutive TCP ports free on ip now.
func Run(ip string, n int) (int, error) {
	if n < 1 || n > High-Low {
		return 0, ErrNone
	}
	for try := 0; try < 500; try++ {
		first := Low + rand.IntN(High-Low-n+1)
		ok := true
		for p := first; p < first+n && ok; p++ {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(p)))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return first, nil
		}
	}
	return 0, ErrNone
}
