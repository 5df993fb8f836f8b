package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/vaultd/vaultd/endpoint"
)

// GET /v1/<path>?help=1 answers, instead of the request, the help of the
// endpoint that serves <path>, as Vault does for `vault path-help`:
//
//	{"help": "<text>", "openapi": {<an OpenAPI 3 document of that path>}}
//
// The help comes from GET sys/internal/specs/openapi, the document core
// generates from the endpoint declarations, fetched with the caller's
// token through the ordinary handler chain (forwarded from a standby,
// audited, and limited to the mounts the token can reach). So there is one
// source of endpoint documentation, and help needs a valid token as the
// document does. A path no declaration serves is a 404.

// isHelp reports whether r asks for help (help=1, or any true value
// strconv.ParseBool accepts).
func isHelp(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	v := r.URL.Query().Get("help")
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

// helpWrap answers help requests and passes every other request on.
func (s *Server) helpWrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isHelp(r) {
			next.ServeHTTP(w, r)
			return
		}
		s.serveHelp(w, r)
	})
}

func (s *Server) serveHelp(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	rec := s.internal(r, http.MethodGet, "sys/internal/specs/openapi", nil)
	if rec.Code == http.StatusNotFound {
		writeJSON(w, r, http.StatusNotFound, map[string]any{"errors": []string{"no help available: the server serves no OpenAPI document (sys/internal/specs/openapi)"}})
		return
	}
	if rec.Code != http.StatusOK {
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	var doc endpoint.OpenAPIDocument // served raw, not in the envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		s.respondError(w, r, fmt.Errorf("reading the OpenAPI document: %w", err))
		return
	}
	key, item := matchOpenAPIPath(doc.Paths, path)
	if item == nil {
		writeJSON(w, r, http.StatusNotFound, map[string]any{"errors": []string{fmt.Sprintf("no help available: no documented endpoint serves %q (or the token cannot reach its mount)", path)}})
		return
	}
	found := map[string]*endpoint.OpenAPIPathItem{key: item}
	items := []*endpoint.OpenAPIPathItem{item}
	// A route with both a read and a list documents the list on the key
	// with a trailing slash: one help covers both.
	sib := key + "/"
	if strings.HasSuffix(key, "/") {
		sib = strings.TrimSuffix(key, "/")
	}
	if si := doc.Paths[sib]; si != nil {
		found[sib] = si
		items = append(items, si)
	}
	one := endpoint.NewOpenAPIDocument(doc.Info.Title, doc.Info.Version, doc.Info.Description, found)
	writeJSON(w, r, http.StatusOK, map[string]any{"help": helpText(path, key, items...), "see_also": nil, "openapi": one})
}

// matchOpenAPIPath finds the document key that serves path: literal
// segments must be equal, a {param} takes one segment, and a {param} in
// the last place may take the rest of the path (a rest capture such as
// KV's data/{path}) or be absent (the folder: "secret/metadata/" is
// documented by /secret/metadata/{path}). The key with the most literal
// segments wins; then an exact segment count; then the same trailing
// slash (LIST forms).
func matchOpenAPIPath(paths map[string]*endpoint.OpenAPIPathItem, path string) (string, *endpoint.OpenAPIPathItem) {
	pslash := strings.HasSuffix(path, "/")
	psegs := strings.Split(strings.Trim(path, "/"), "/")
	best, bestScore := "", -1
	for key := range paths {
		ksegs := strings.Split(strings.Trim(key, "/"), "/")
		short := false // the path lacks the key's final {param}: a folder of it
		if len(ksegs) == len(psegs)+1 && isParam(ksegs[len(ksegs)-1]) {
			ksegs, short = ksegs[:len(psegs)], true
		}
		if len(ksegs) > len(psegs) {
			continue
		}
		score, ok := 0, true
		for i, k := range ksegs {
			param := isParam(k)
			switch {
			case param && psegs[i] == "":
				ok = false
			case !param && k != psegs[i]:
				ok = false
			case !param:
				score += 1000
			}
			if !ok {
				break
			}
		}
		if !ok {
			continue
		}
		switch {
		case len(ksegs) < len(psegs):
			if !isParam(ksegs[len(ksegs)-1]) {
				continue // only a trailing parameter takes the rest
			}
		case !short:
			score += 100
		}
		if strings.HasSuffix(key, "/") == pslash {
			score++
		}
		if score > bestScore || (score == bestScore && key < best) {
			best, bestScore = key, score
		}
	}
	if bestScore < 0 {
		return "", nil
	}
	return best, paths[best]
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

// helpText renders an endpoint's documentation as `vault path-help`
// prints it: the route, the summary, the parameters and the operations.
func helpText(path, key string, items ...*endpoint.OpenAPIPathItem) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Request:        %s\nMatching Route: %s\n", strings.TrimPrefix(path, "/"), key)
	item := items[0]
	type methodOp struct {
		method string
		op     *endpoint.OpenAPIOperation
	}
	var ops []methodOp
	for _, it := range items {
		for _, o := range []methodOp{{"GET", it.Get}, {"POST", it.Post}, {"PATCH", it.Patch}, {"DELETE", it.Delete}} {
			if o.op == nil {
				continue
			}
			if o.method == "GET" && hasListParam(o.op) {
				o.method = "LIST"
			}
			dup := false
			for _, have := range ops {
				dup = dup || have.method == o.method
			}
			if !dup {
				ops = append(ops, o)
			}
		}
	}
	order := map[string]int{"GET": 0, "LIST": 1, "POST": 2, "PATCH": 3, "DELETE": 4}
	sort.SliceStable(ops, func(i, j int) bool { return order[ops[i].method] < order[ops[j].method] })
	summary, description := item.Description, ""
	for _, o := range ops {
		if o.op == nil {
			continue
		}
		if summary == "" {
			summary = o.op.Summary
		}
		if description == "" && o.op.Description != "" && o.op.Description != summary {
			description = o.op.Description
		}
	}
	if summary != "" {
		fmt.Fprintf(&b, "\n%s\n", summary)
	}
	type param struct{ name, typ, desc, where string }
	seen := map[string]bool{}
	var params []param
	add := func(name string, s *endpoint.OpenAPISchema, desc, where string) {
		if seen[name] || name == "list" {
			return
		}
		seen[name] = true
		typ := ""
		if s != nil {
			typ = s.Type
			if desc == "" {
				desc = s.Description
			}
		}
		params = append(params, param{name, typ, desc, where})
	}
	for _, it := range items {
		for _, p := range it.Parameters {
			add(p.Name, p.Schema, p.Description, "path")
		}
	}
	var rest []param
	n := len(params)
	for _, o := range ops {
		if o.op == nil {
			continue
		}
		for _, p := range o.op.Parameters {
			add(p.Name, p.Schema, p.Description, "query")
		}
		if o.op.RequestBody != nil {
			for _, mt := range o.op.RequestBody.Content {
				if mt.Schema == nil {
					continue
				}
				names := make([]string, 0, len(mt.Schema.Properties))
				for name := range mt.Schema.Properties {
					names = append(names, name)
				}
				sort.Strings(names)
				for _, name := range names {
					add(name, mt.Schema.Properties[name], "", "body")
				}
			}
		}
	}
	rest = params[n:]
	sort.Slice(rest, func(i, j int) bool { return rest[i].name < rest[j].name })
	if len(params) > 0 {
		b.WriteString("\n## PARAMETERS\n")
		for _, p := range params {
			if p.typ != "" {
				fmt.Fprintf(&b, "\n%s (%s, %s)\n", p.name, p.typ, p.where)
			} else {
				fmt.Fprintf(&b, "\n%s (%s)\n", p.name, p.where)
			}
			if p.desc != "" {
				fmt.Fprintf(&b, "\n    %s\n", strings.ReplaceAll(p.desc, "\n", "\n    "))
			}
		}
	}
	b.WriteString("\n## OPERATIONS\n\n")
	for _, o := range ops {
		if o.op == nil {
			continue
		}
		fmt.Fprintf(&b, "%-7s %s\n", o.method, o.op.Summary)
	}
	if description != "" {
		fmt.Fprintf(&b, "\n## DESCRIPTION\n\n%s\n", description)
	}
	return b.String()
}

func hasListParam(o *endpoint.OpenAPIOperation) bool {
	for _, p := range o.Parameters {
		if p.Name == "list" && p.In == "query" && p.Required {
			return true
		}
	}
	return false
}
