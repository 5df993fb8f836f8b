package replication

import (
	"bytes"
	"testing"
)

// FuzzReadFrame: any bytes from the network give a frame or an error,
// never a panic or an allocation beyond the length cap.
func FuzzReadFrame(f *testing.F) {
	var good bytes.Buffer
	_ = writeFrame(&good, batch{Epoch: 1, Next: 3, Changes: []change{{Index: 2}}})
	f.Add(good.Bytes())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			var v batch
			if err := readFrame(r, &v); err != nil {
				return
			}
		}
	})
}
