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
	ln, err := net.Listen("tcp", net.JoinHostPort(Addr(92), "0"))
	if err != nil {
		t.Skipf("cannot bind %s: %v", Addr(92), err)
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
	if err := dialFrom(Addr(91), dst); err != nil {
		t.Fatalf("before the cut: %v", err)
	}
	if err := n.Partition([]string{Addr(91)}, []string{Addr(92), Addr(93)}); err != nil {
		t.Fatal(err)
	}
	if n.Cuts() != 2 {
		t.Fatalf("%d links cut, want 2", n.Cuts())
	}
	if err := dialFrom(Addr(91), dst); err == nil {
		t.Fatal("connected across a cut link")
	}
	if err := dialFrom(Addr(93), dst); err != nil {
		t.Fatalf("a link inside one group was cut: %v", err)
	}
	if err := dialFrom(Addr(94), dst); err != nil {
		t.Fatalf("an uncut address was cut too: %v", err)
	}
	if err := n.Heal(); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(Addr(91), dst); err != nil {
		t.Fatalf("after Heal: %v", err)
	}
	if err := n.Cut(Addr(91), Addr(92)); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(Addr(91), dst); err != nil {
		t.Fatalf("after Close: %v", err)
	}
	if err := n.Cut("10.0.0.1", Addr(92)); err == nil {
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
	a, b, br := Addr(95), Addr(96), Addr(97)
	if err := n.Partition([]string{a, br}, []string{b, br}); err != nil {
		t.Fatal(err)
	}
	if n.Cuts() != 1 {
		t.Fatalf("%d links cut, want only a–b", n.Cuts())
	}
}
