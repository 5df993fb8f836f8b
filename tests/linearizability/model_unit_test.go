package linearizability

import (
	"math"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

func op(client int, call, ret int64, in kvInput, out kvOutput) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Call: call, Return: ret, Input: in, Output: out}
}

// TestModel pins the model and proves the checker rejects what it must:
// stale reads, lost acknowledged writes, and a CAS that succeeded against
// the wrong version.
func TestModel(t *testing.T) {
	put := func(k, v string) kvInput { return kvInput{Op: "put", Key: k, Value: v} }
	get := func(k string) kvInput { return kvInput{Op: "get", Key: k} }
	cas := func(k, v string, at int) kvInput { return kvInput{Op: "cas", Key: k, Value: v, CAS: at} }
	ok := kvOutput{OK: true}
	unknown := kvOutput{Unknown: true}
	read := func(v string, ver int) kvOutput { return kvOutput{Value: v, Version: ver} }
	inf := int64(math.MaxInt64)

	tests := []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"sequential put then read", []porcupine.Operation{
			op(0, 0, 10, put("x", "a"), ok),
			op(1, 20, 30, get("x"), read("a", 1)),
		}, porcupine.Ok},
		{"stale read after an acknowledged write (deposed leader)", []porcupine.Operation{
			op(0, 0, 10, put("x", "a"), ok),
			op(0, 20, 30, put("x", "b"), ok),
			op(1, 40, 50, get("x"), read("a", 1)),
		}, porcupine.Illegal},
		{"concurrent read may see either", []porcupine.Operation{
			op(0, 0, 10, put("x", "a"), ok),
			op(0, 20, 60, put("x", "b"), ok),
			op(1, 30, 40, get("x"), read("a", 1)),
		}, porcupine.Ok},
		{"lost acknowledged write", []porcupine.Operation{
			op(0, 0, 10, put("x", "a"), ok),
			op(1, 20, 30, get("x"), read("", 0)),
		}, porcupine.Illegal},
		{"unknown write that never applied", []porcupine.Operation{
			op(0, 0, inf, put("x", "a"), unknown),
			op(1, 20, 30, get("x"), read("", 0)),
		}, porcupine.Ok},
		{"unknown write that applied later", []porcupine.Operation{
			op(0, 0, inf, put("x", "a"), unknown),
			op(1, 20, 30, get("x"), read("", 0)),
			op(1, 40, 50, get("x"), read("a", 1)),
		}, porcupine.Ok},
		{"read goes back in time", []porcupine.Operation{
			op(0, 0, inf, put("x", "a"), unknown),
			op(1, 20, 30, get("x"), read("a", 1)),
			op(2, 40, 50, get("x"), read("", 0)),
		}, porcupine.Illegal},
		{"cas at the right version", []porcupine.Operation{
			op(0, 0, 10, put("x", "a"), ok),
			op(1, 20, 30, cas("x", "b", 1), ok),
			op(1, 40, 50, get("x"), read("b", 2)),
		}, porcupine.Ok},
		{"cas mismatch is a definite failure", []porcupine.Operation{
			op(0, 0, 10, put("x", "a"), ok),
			op(1, 20, 30, cas("x", "b", 0), kvOutput{}),
			op(1, 40, 50, get("x"), read("a", 1)),
		}, porcupine.Ok},
		{"cas accepted at a stale version", []porcupine.Operation{
			op(0, 0, 10, put("x", "a"), ok),
			op(1, 20, 30, cas("x", "b", 0), ok),
		}, porcupine.Illegal},
		{"cas rejected although the version matched", []porcupine.Operation{
			op(0, 0, 10, put("x", "a"), ok),
			op(1, 20, 30, cas("x", "b", 1), kvOutput{}),
		}, porcupine.Illegal},
		{"keys are independent", []porcupine.Operation{
			op(0, 0, 10, put("x", "a"), ok),
			op(1, 20, 30, get("y"), read("", 0)),
		}, porcupine.Ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := porcupine.CheckOperationsVerbose(kvModel, tt.ops, 5*time.Second)
			if res != tt.want {
				t.Fatalf("checker said %s, want %s", res, tt.want)
			}
		})
	}
}
