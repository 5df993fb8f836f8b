package transit_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

// TestConcurrency runs encrypt/decrypt, rotations and config changes of
// one key, plus upserts of shared new keys, from many goroutines (run
// with -race). Every ciphertext must decrypt, and rotations must not be
// lost.
func TestConcurrency(t *testing.T) {
	f := newTransit(t)
	f.must(secrets.OpUpdate, "keys/shared", nil)
	const workers, iters, rotations = 8, 25, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*iters+rotations+workers)
	for w := range workers {
		wg.Go(func() {
			for i := range iters {
				pt := b64(fmt.Sprintf("w%d-i%d", w, i))
				resp, err := f.Do(secrets.OpUpdate, "encrypt/shared", map[string]any{"plaintext": pt})
				if err != nil {
					errs <- err
					return
				}
				ct := resp.Data["ciphertext"].(string)
				resp, err = f.Do(secrets.OpUpdate, "decrypt/shared", map[string]any{"ciphertext": ct})
				if err != nil {
					errs <- err
					return
				}
				if resp.Data["plaintext"] != pt {
					errs <- fmt.Errorf("worker %d: round trip mismatch", w)
					return
				}
			}
			// Upsert races on fresh keys: exactly one creation wins.
			if _, err := f.Do(secrets.OpUpdate, fmt.Sprintf("encrypt/upsert-%d", w%2), map[string]any{"plaintext": b64("x")}); err != nil {
				errs <- err
			}
		})
	}
	wg.Go(func() {
		for range rotations {
			if _, err := f.Do(secrets.OpUpdate, "keys/shared/rotate", nil); err != nil {
				errs <- err
				return
			}
			if _, err := f.Do(secrets.OpUpdate, "keys/shared/config", map[string]any{"deletion_allowed": true}); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	info := f.must(secrets.OpRead, "keys/shared", nil)
	if info["latest_version"] != float64(1+rotations) || info["deletion_allowed"] != true {
		t.Fatalf("after concurrent rotations: %v", info)
	}
	for i := range 2 {
		if v := f.must(secrets.OpRead, fmt.Sprintf("keys/upsert-%d", i), nil)["latest_version"]; v != float64(1) {
			t.Fatalf("upsert-%d latest_version = %v", i, v)
		}
	}
	if keys := f.must(secrets.OpList, "keys", nil)["keys"].([]any); len(keys) != 3 {
		t.Fatalf("keys = %v", keys)
	}
}
