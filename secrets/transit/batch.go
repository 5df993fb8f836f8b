package transit

import (
	"net/http"

	"github.com/vaultd/vaultd/secrets"
)

// maxBatch bounds batch_input (the HTTP body limit bounds it too).
const maxBatch = 100_000

// batchItems returns the request's items: batch_input's entries, or the
// request data itself as the one item of a single request.
func batchItems(data map[string]any) (items []map[string]any, batch bool, err error) {
	raw, ok := data["batch_input"]
	if !ok || raw == nil {
		return []map[string]any{data}, false, nil
	}
	list, ok := raw.([]any)
	if !ok {
		if ms, isMaps := raw.([]map[string]any); isMaps {
			list = make([]any, len(ms))
			for i := range ms {
				list[i] = ms[i]
			}
		} else {
			return nil, false, invalidf("failed to parse batch input: expected a list of objects")
		}
	}
	if len(list) == 0 {
		return nil, false, invalidf("missing batch input to process")
	}
	if len(list) > maxBatch {
		return nil, false, invalidf("batch input has more than %d items", maxBatch)
	}
	items = make([]map[string]any, len(list))
	for i, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, false, invalidf("failed to parse batch input: item %d is not an object", i)
		}
		items[i] = m
	}
	return items, true, nil
}

// itemFunc processes one item: its result fields, or a user error.
type itemFunc func(item map[string]any) (map[string]any, error)

// runBatch applies fn to every item. A single request answers fn's result
// or error directly; a batch request answers batch_results, with a per-item
// "error" and HTTP 400 when any item failed (or the caller's
// partial_failure_response_code when some succeeded). Errors that are not
// user errors (storage, randomness) fail the whole request.
func runBatch(data map[string]any, fn itemFunc) (*secrets.Response, error) {
	items, batch, err := batchItems(data)
	if err != nil {
		return nil, err
	}
	if !batch {
		out, err := fn(items[0])
		if err != nil {
			return nil, err
		}
		return &secrets.Response{Data: out}, nil
	}
	results := make([]map[string]any, len(items))
	failed, succeeded := false, false
	for i, it := range items {
		out, err := fn(it)
		if err != nil {
			if !isUserError(err) {
				return nil, err
			}
			failed = true
			out = map[string]any{"error": err.Error()}
		} else {
			succeeded = true
		}
		if ref, ok := it["reference"]; ok {
			out["reference"] = ref
		}
		results[i] = out
	}
	resp := &secrets.Response{Data: map[string]any{"batch_results": results}}
	if failed {
		resp.StatusCode = http.StatusBadRequest
		if code, set, err := intField(data, "partial_failure_response_code"); err != nil {
			return nil, err
		} else if set && succeeded {
			if code < 1 || code > 599 {
				return nil, invalidf("partial_failure_response_code must be a valid HTTP status code")
			}
			resp.StatusCode = int(code)
		}
	}
	return resp, nil
}
