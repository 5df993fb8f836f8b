package kv_test

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/vaultd/vaultd/secrets"
)

// run starts n goroutines running fn(i) and waits for all of them.
func run(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { fn(i) })
	}
	wg.Wait()
}

func TestV2_Concurrent_SameCASOneWinner(t *testing.T) {
	const writers = 32
	f := newKV(t, "2")
	for round, cas := range []int{0, 1, 2} {
		var mu sync.Mutex
		var wins, mismatches int
		var other []error
		run(writers, func(i int) {
			_, err := f.eng.HandleRequest(t.Context(), &secrets.Request{
				Operation: secrets.OpUpdate, Path: "data/race", Storage: f.view,
				Data: map[string]any{"data": map[string]any{"w": i}, "options": map[string]any{"cas": cas}},
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, secrets.ErrCASMismatch):
				mismatches++
			default:
				other = append(other, err)
			}
		})
		if wins != 1 || mismatches != writers-1 || len(other) != 0 {
			t.Fatalf("round %d (cas=%d): %d wins, %d mismatches, other errors %v; want 1, %d, none",
				round, cas, wins, mismatches, other, writers-1)
		}
	}
	if v := f.mustJSON(secrets.OpRead, "metadata/race", nil)["current_version"]; v != float64(3) {
		t.Fatalf("current_version = %v, want 3", v)
	}
}

func TestV2_Concurrent_WritersGetConsecutiveVersions(t *testing.T) {
	const writers = 24
	f := newKV(t, "2")
	f.must(secrets.OpUpdate, "config", map[string]any{"max_versions": writers})
	versions := make([]int, writers)
	errs := make([]error, writers)
	run(writers, func(i int) {
		resp, err := f.eng.HandleRequest(t.Context(), &secrets.Request{
			Operation: secrets.OpUpdate, Path: "data/seq", Storage: f.view,
			Data: map[string]any{"data": map[string]any{"writer": i}},
		})
		if err != nil {
			errs[i] = err
			return
		}
		versions[i], errs[i] = strconv.Atoi(fmt.Sprint(resp.Data["version"]))
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	sort.Ints(versions)
	for i, v := range versions {
		if v != i+1 {
			t.Fatalf("versions = %v, want 1..%d each once", versions, writers)
		}
	}
	// Each version holds the data of the writer that got it.
	run(writers, func(i int) {
		resp, err := f.eng.HandleRequest(t.Context(), &secrets.Request{
			Operation: secrets.OpRead, Path: "data/seq", Storage: f.view,
			Data: map[string]any{"version": fmt.Sprint(i + 1)},
		})
		if err != nil || resp.Data["data"] == nil {
			errs[i] = fmt.Errorf("read version %d: %v", i+1, err)
		}
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func TestV2_Concurrent_MixedOperations(t *testing.T) {
	// Writers, patchers, deleters, destroyers and readers on a few keys at
	// once: no errors other than the expected 404s, and the metadata stays
	// consistent with the version records in storage.
	f := newKV(t, "2")
	keys := []string{"a", "b", "c/d"}
	for _, k := range keys {
		f.write(k, map[string]any{"init": true})
	}
	errs := make(chan error, 512)
	run(48, func(i int) {
		k := keys[i%len(keys)]
		var req *secrets.Request
		switch i % 6 {
		case 0, 1:
			req = &secrets.Request{Operation: secrets.OpUpdate, Path: "data/" + k, Data: map[string]any{"data": map[string]any{"i": i}}}
		case 2:
			req = &secrets.Request{Operation: secrets.OpPatch, Path: "data/" + k, Data: map[string]any{"data": map[string]any{"p": i}}}
		case 3:
			req = &secrets.Request{Operation: secrets.OpUpdate, Path: "delete/" + k, Data: map[string]any{"versions": []any{1, 2}}}
		case 4:
			req = &secrets.Request{Operation: secrets.OpUpdate, Path: "destroy/" + k, Data: map[string]any{"versions": []any{3}}}
		default:
			req = &secrets.Request{Operation: secrets.OpRead, Path: "data/" + k, Data: map[string]any{}}
		}
		req.Storage = f.view
		if _, err := f.eng.HandleRequest(t.Context(), req); err != nil && !errors.Is(err, secrets.ErrNotFound) {
			errs <- fmt.Errorf("%s %s: %w", req.Operation, req.Path, err)
		}
	})
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Every live (non-destroyed) version has data; nothing else does.
	want := 0
	for _, k := range keys {
		md := f.mustJSON(secrets.OpRead, "metadata/"+k, nil)
		for v, vm := range md["versions"].(map[string]any) {
			if vm.(map[string]any)["destroyed"] == true {
				continue
			}
			want++
			resp, err := f.do(secrets.OpRead, "data/"+k, map[string]any{"version": v})
			if err != nil {
				t.Fatalf("read %s version %s: %v", k, v, err)
			}
			if vm.(map[string]any)["deletion_time"] == "" && resp.Data["data"] == nil {
				t.Fatalf("%s version %s: live without data", k, v)
			}
		}
	}
	if got := len(f.viewKeys("versions/")); got != want {
		t.Fatalf("%d version records in storage, metadata lists %d non-destroyed versions", got, want)
	}
}
