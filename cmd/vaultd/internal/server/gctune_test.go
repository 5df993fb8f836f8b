package server

import "testing"

func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 100},
		{32 << 20, 100},  // small heap: Go's default
		{64 << 20, 100},  // headroom 64 MiB = 100 %
		{128 << 20, 50},  // 64 MiB of 128
		{256 << 20, 25},  // live/4
		{4096 << 20, 25}, // live/4, the floor
	} {
		if got := gcPercentFor(c.live); got != c.want {
			t.Errorf("gcPercentFor(%d MiB) = %d, want %d", c.live>>20, got, c.want)
		}
	}
}
