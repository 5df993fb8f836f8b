package linearizability

import (
	"fmt"
	"sort"

	"github.com/anishathalye/porcupine"
)

// kvInput is one client call. Op is "get", "put" (a write without cas) or
// "cas" (a write with options.cas = CAS).
type kvInput struct {
	Op, Key, Value string
	CAS            int
}

// kvOutput is what the client saw. Unknown: a write whose outcome is not
// known (timeout, reset, 5xx); its Return is math.MaxInt64.
type kvOutput struct {
	Value   string
	Version int
	OK      bool
	Unknown bool
}

// kvState is one key's state: its latest value and KV v2 version (0: never
// written).
type kvState struct {
	Value   string
	Version int
}

// kvModel is KV v2 get/put/cas, partitioned by key.
var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(kvInput).Key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return kvState{} },
	Step: func(s, in, out any) (bool, any) {
		st, i, o := s.(kvState), in.(kvInput), out.(kvOutput)
		switch i.Op {
		case "get":
			return o.Value == st.Value && o.Version == st.Version, st
		case "put":
			// A put always applies if it is linearized at all; an unknown
			// one that never applied is placed after everything else.
			return true, kvState{i.Value, st.Version + 1}
		default: // "cas"
			if i.CAS != st.Version {
				return !o.OK, st // must have been rejected; an unknown has no effect here
			}
			return o.OK || o.Unknown, kvState{i.Value, st.Version + 1}
		}
	},
	DescribeOperation: func(in, out any) string {
		i, o := in.(kvInput), out.(kvOutput)
		res := fmt.Sprintf("v%d %q", o.Version, o.Value)
		if i.Op != "get" {
			res = fmt.Sprint(o.OK)
			if o.Unknown {
				res = "unknown"
			}
		}
		switch i.Op {
		case "get":
			return fmt.Sprintf("get(%s) → %s", i.Key, res)
		case "put":
			return fmt.Sprintf("put(%s, %s) → %s", i.Key, i.Value, res)
		}
		return fmt.Sprintf("cas(%s, %s, @%d) → %s", i.Key, i.Value, i.CAS, res)
	},
	DescribeState: func(s any) string {
		st := s.(kvState)
		return fmt.Sprintf("v%d %q", st.Version, st.Value)
	},
}
