// Package netfault cuts network links between loopback addresses with
// iptables, for the fault tests (tests/faults, tests/linearizability).
//
// Every vaultd node under test listens on its own loopback address
// (Addr: 127.77.<b>.x; all of 127.0.0.0/8 is loopback on Linux) and, because its
// cluster listener is bound to that address, dials its peers from it too
// (raft, forwarding, join). A DROP rule on a pair of addresses therefore
// cuts raft and request forwarding between two nodes while the test's own
// clients (which connect from 127.0.0.1) still reach every node.
//
// Rules live in a chain of their own (VDFAULT-<pid>) jumped to from OUTPUT,
// so Heal and Close never touch anything else. Close removes the chain;
// New also removes chains left behind by test processes that died.
// Available reports why partitions cannot be made here (not root, no
// iptables, no netfilter in this kernel or container): callers skip with
// that message.
package netfault

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

const chainPrefix = "VDFAULT-"

// ErrUnavailable: partitions cannot be made on this machine.
var ErrUnavailable = errors.New("netfault: iptables partitions unavailable")

// Net manages the DROP rules of one test process.
type Net struct {
	chain string
	mu    sync.Mutex
	cut   map[[2]string]bool // unordered address pairs currently cut
}

func iptables(args ...string) error {
	var out bytes.Buffer
	cmd := exec.Command("iptables", append([]string{"-w", "5"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// New creates the process's chain. It returns an error wrapping
// ErrUnavailable, with the reason, when partitions cannot be made here.
func New() (*Net, error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("%w: needs Linux (127.0.0.0/8 on loopback, iptables)", ErrUnavailable)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: needs root for iptables (run the fault tests as root, e.g. in CI's container)", ErrUnavailable)
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil, fmt.Errorf("%w: iptables is not installed (apt-get install -y iptables)", ErrUnavailable)
	}
	removeStale()
	n := &Net{chain: chainPrefix + strconv.Itoa(os.Getpid()), cut: map[[2]string]bool{}}
	_ = iptables("-D", "OUTPUT", "-j", n.chain) // a recycled pid
	_ = iptables("-F", n.chain)
	_ = iptables("-X", n.chain)
	if err := iptables("-N", n.chain); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err := iptables("-I", "OUTPUT", "-j", n.chain); err != nil {
		_ = iptables("-X", n.chain)
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return n, nil
}

// removeStale deletes chains of test processes that no longer exist.
func removeStale() {
	out, err := exec.Command("iptables", "-w", "5", "-S").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, ok := strings.CutPrefix(line, "-N "+chainPrefix)
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(name))
		if err != nil || processAlive(pid) {
			continue
		}
		chain := chainPrefix + strconv.Itoa(pid)
		_ = iptables("-D", "OUTPUT", "-j", chain)
		_ = iptables("-F", chain)
		_ = iptables("-X", chain)
	}
}

func processAlive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

func pair(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

func checkIP(s string) error {
	if ip := net.ParseIP(s); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("netfault: %q is not a loopback address; this package only cuts loopback links", s)
	}
	return nil
}

// Cut drops all traffic between a and b (both directions). Cutting a cut
// link is a no-op.
func (n *Net) Cut(a, b string) error {
	if err := checkIP(a); err != nil {
		return err
	}
	if err := checkIP(b); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	p := pair(a, b)
	if n.cut[p] {
		return nil
	}
	for _, d := range [][2]string{{a, b}, {b, a}} {
		if err := iptables("-A", n.chain, "-s", d[0], "-d", d[1], "-j", "DROP"); err != nil {
			return err
		}
	}
	n.cut[p] = true
	return nil
}

// Restore lets traffic between a and b through again.
func (n *Net) Restore(a, b string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := pair(a, b)
	if !n.cut[p] {
		return nil
	}
	for _, d := range [][2]string{{a, b}, {b, a}} {
		if err := iptables("-D", n.chain, "-s", d[0], "-d", d[1], "-j", "DROP"); err != nil {
			return err
		}
	}
	delete(n.cut, p)
	return nil
}

// Partition cuts every link between the groups (each group keeps its
// internal links). An address may appear in several groups: a bridge
// node that sees both halves.
func (n *Net) Partition(groups ...[]string) error {
	in := func(g []string, a string) bool {
		for _, x := range g {
			if x == a {
				return true
			}
		}
		return false
	}
	for i, g := range groups {
		for _, h := range groups[i+1:] {
			for _, a := range g {
				for _, b := range h {
					if a == b || in(g, b) || in(h, a) {
						continue // a bridge: a member of both sides
					}
					if err := n.Cut(a, b); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// Isolate cuts a from every address in others.
func (n *Net) Isolate(a string, others ...string) error {
	for _, b := range others {
		if b == a {
			continue
		}
		if err := n.Cut(a, b); err != nil {
			return err
		}
	}
	return nil
}

// Heal restores every cut link.
func (n *Net) Heal() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := iptables("-F", n.chain); err != nil {
		return err
	}
	n.cut = map[[2]string]bool{}
	return nil
}

// Cuts is how many links are cut now.
func (n *Net) Cuts() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.cut)
}

// Close heals and removes the chain; it is safe to call more than once.
func (n *Net) Close() error {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	_ = iptables("-D", "OUTPUT", "-j", n.chain)
	_ = iptables("-F", n.chain)
	err := iptables("-X", n.chain)
	n.cut = map[[2]string]bool{}
	if err != nil && strings.Contains(err.Error(), "No chain") {
		return nil
	}
	return err
}

// Addr is host h (1–254) of this process's own block of loopback
// addresses, 127.77.<b>.<h> with b derived from the process id: test runs
// in parallel (several packages, or several checkouts on one machine)
// then partition disjoint addresses and never cut each other's links.
func Addr(h int) string {
	return fmt.Sprintf("127.77.%d.%d", os.Getpid()%250+1, h)
}
