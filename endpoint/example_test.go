package endpoint_test

import (
	"context"
	"fmt"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage/inmem"
)

// A path with a batch input, as transit's encrypt has: each item of
// batch_input is converted with the same field rules as a single request.
func ExampleNewData_batch() {
	item := map[string]*endpoint.Field{
		"plaintext": {Type: endpoint.TypeString, Required: true},
		"version":   {Type: endpoint.TypeInt},
	}
	fields := map[string]*endpoint.Field{
		"name":        {Type: endpoint.TypeString},
		"batch_input": {Type: endpoint.TypeSlice},
	}
	for k, v := range item {
		fields[k] = &endpoint.Field{Type: v.Type} // single-item form: not required when batching
	}
	b := &endpoint.Backend{Paths: []*endpoint.Path{{
		Pattern: "encrypt/{name}",
		Fields:  fields,
		Operations: map[secrets.Operation]endpoint.Handler{
			secrets.OpUpdate: func(_ context.Context, _ *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
				var results []any
				for _, raw := range d.Slice("batch_input") {
					m, ok := raw.(map[string]any)
					if !ok {
						results = append(results, map[string]any{"error": "batch item is not an object"})
						continue
					}
					one, err := endpoint.NewData(item, m)
					if err != nil {
						results = append(results, map[string]any{"error": err.Error()})
						continue
					}
					results = append(results, map[string]any{"key": d.String("name"), "plaintext": one.String("plaintext"), "version": one.Int("version")})
				}
				return &secrets.Response{Data: map[string]any{"batch_results": results}}, nil
			},
		},
	}}}
	resp, err := b.HandleRequest(context.Background(), &secrets.Request{
		Operation: secrets.OpUpdate, Path: "encrypt/k", Storage: inmem.New(),
		Data: map[string]any{"batch_input": []any{
			map[string]any{"plaintext": "aGk=", "version": "2"},
			map[string]any{"version": 1},
			"oops",
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range resp.Data["batch_results"].([]any) {
		fmt.Println(r)
	}
	// Output:
	// map[key:k plaintext:aGk= version:2]
	// map[error:missing required field "plaintext"]
	// map[error:batch item is not an object]
}
