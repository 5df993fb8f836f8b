package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestRunIsFreeAndBelowTheEphemeralRange(t *testing.T) {
	for _, n := range []int{1, 6} {
		p, err := Run("127.0.0.1", n)
		if err != nil {
			t.Fatal(err)
		}
		if p < Low || p+n > High {
			t.Fatalf("Run(%d) = %d, outside [%d, %d)", n, p, Low, High)
		}
		for q := p; q < p+n; q++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(q))
			if err != nil {
				t.Fatalf("port %d of the run is not free: %v", q, err)
			}
			l.Close()
		}
	}
	if _, err := Run("127.0.0.1", 0); err == nil {
		t.Fatal("Run(0) succeeded")
	}
}
