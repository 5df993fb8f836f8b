package netfault

import (
	"errors"
	"net"
	"testing"
	"time"
)

func dialFrom(src, dst string) error {
	d := net.Dialer{Timeout: 700 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", dst)
	if err == nil {
		c.Close()
	}
	return err
}

// A cut link drops traffic between two loopback addresses in both
// directions and nothing else; Heal and Close restore it.
func TestCutHealClose(t *testing.T) {
	n, err := New()
	if errors.Is(err, ErrUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ln, err := net.Listen("tcp", "127.0.77.92:0")
	if err != nil {
		t.Skipf("cannot bind 127.0.77.92: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dst := ln.Addr().String()
	if err := dialFrom("127.0.77.91", dst); err != nil {
		t.Fatalf("before the cut: %v", err)
	}
	if err := n.Partition([]string{"127.0.77.91"}, []string{"127.0.77.92", "127.0.77.93"}); err != nil {
		t.Fatal(err)
	}
	if n.Cuts() != 2 {
		t.Fatalf("%d links cut, want 2", n.Cuts())
	}
	if err := dialFrom("127.0.77.91", dst); err == nil {
		t.Fatal("connected across a cut link")
	}
	if err := dialFrom("127.0.77.93", dst); err != nil {
		t.Fatalf("a link inside one group was cut: %v", err)
	}
	if err := dialFrom("127.0.77.94", dst); err != nil {
		t.Fatalf("an uncut address was cut too: %v", err)
	}
	if err := n.Heal(); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom("127.0.77.91", dst); err != nil {
		t.Fatalf("after Heal: %v", err)
	}
	if err := n.Cut("127.0.77.91", "127.0.77.92"); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom("127.0.77.91", dst); err != nil {
		t.Fatalf("after Close: %v", err)
	}
	if err := n.Cut("10.0.0.1", "127.0.77.92"); err == nil {
		t.Fatal("cut a non-loopback address")
	}
}

// A bridge node (in both groups) keeps its links to both halves.
func TestPartitionBridge(t *testing.T) {
	n, err := New()
	if errors.Is(err, ErrUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	a, b, br := "127.0.77.95", "127.0.77.96", "127.0.77.97"
	if err := n.Partition([]string{a, br}, []string{b, br}); err != nil {
		t.Fatal(err)
	}
	if n.Cuts() != 1 {
		t.Fatalf("%d links cut, want only a–b", n.Cuts())
	}
}
