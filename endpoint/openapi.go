package endpoint

import (
	"strings"
	"time"

	"github.com/vaultd/vaultd/secrets"
)

// The OpenAPI 3 objects this package renders (the subset Vault's
// sys/internal/specs/openapi uses).
type (
	// OpenAPIDocument is a whole OpenAPI 3 document.
	OpenAPIDocument struct {
		OpenAPI string                      `json:"openapi"`
		Info    OpenAPIInfo                 `json:"info"`
		Paths   map[string]*OpenAPIPathItem `json:"paths"`
	}
	// OpenAPIInfo is the document's info object.
	OpenAPIInfo struct {
		Title       string `json:"title"`
		Description string `json:"description,omitempty"`
		Version     string `json:"version"`
	}
	// OpenAPIPathItem is one entry of "paths".
	OpenAPIPathItem struct {
		Description     string             `json:"description,omitempty"`
		Parameters      []OpenAPIParameter `json:"parameters,omitempty"`
		Unauthenticated bool               `json:"x-vault-unauthenticated,omitempty"`
		Get             *OpenAPIOperation  `json:"get,omitempty"`
		Post            *OpenAPIOperation  `json:"post,omitempty"`
		Patch           *OpenAPIOperation  `json:"patch,omitempty"`
		Delete          *OpenAPIOperation  `json:"delete,omitempty"`
	}
	// OpenAPIOperation is one HTTP method of a path item.
	OpenAPIOperation struct {
		Summary     string                     `json:"summary,omitempty"`
		Description string                     `json:"description,omitempty"`
		Parameters  []OpenAPIParameter         `json:"parameters,omitempty"`
		RequestBody *OpenAPIRequestBody        `json:"requestBody,omitempty"`
		Responses   map[string]OpenAPIResponse `json:"responses"`
	}
	// OpenAPIParameter is a path or query parameter.
	OpenAPIParameter struct {
		Name        string         `json:"name"`
		In          string         `json:"in"`
		Description string         `json:"description,omitempty"`
		Required    bool           `json:"required,omitempty"`
		Deprecated  bool           `json:"deprecated,omitempty"`
		Schema      *OpenAPISchema `json:"schema"`
	}
	// OpenAPIRequestBody is a JSON request body.
	OpenAPIRequestBody struct {
		Required bool                        `json:"required,omitempty"`
		Content  map[string]OpenAPIMediaType `json:"content"`
	}
	// OpenAPIMediaType carries a schema.
	OpenAPIMediaType struct {
		Schema *OpenAPISchema `json:"schema"`
	}
	// OpenAPIResponse is one response.
	OpenAPIResponse struct {
		Description string `json:"description"`
	}
	// OpenAPISchema is a JSON schema.
	OpenAPISchema struct {
		Type                 string                    `json:"type,omitempty"`
		Format               string                    `json:"format,omitempty"`
		Description          string                    `json:"description,omitempty"`
		Items                *OpenAPISchema            `json:"items,omitempty"`
		Properties           map[string]*OpenAPISchema `json:"properties,omitempty"`
		AdditionalProperties any                       `json:"additionalProperties,omitempty"`
		Required             []string                  `json:"required,omitempty"`
		Enum                 []any                     `json:"enum,omitempty"`
		Default              any                       `json:"default,omitempty"`
		Deprecated           bool                      `json:"deprecated,omitempty"`
	}
)

// NewOpenAPIDocument is an OpenAPI 3.0 document over paths (as merged
// from each mount's Backend.OpenAPI).
func NewOpenAPIDocument(title, version, description string, paths map[string]*OpenAPIPathItem) *OpenAPIDocument {
	if paths == nil {
		paths = map[string]*OpenAPIPathItem{}
	}
	return &OpenAPIDocument{
		OpenAPI: "3.0.2",
		Info:    OpenAPIInfo{Title: title, Description: description, Version: version},
		Paths:   paths,
	}
}

// schema is a field's JSON schema.
func (f *Field) schema(name string) *OpenAPISchema {
	s := &OpenAPISchema{Description: f.Description, Deprecated: f.Deprecated}
	switch f.Type {
	case TypeString, TypeLowerCaseString:
		s.Type = "string"
	case TypeInt:
		s.Type, s.Format = "integer", "int32"
	case TypeInt64:
		s.Type, s.Format = "integer", "int64"
	case TypeFloat:
		s.Type = "number"
	case TypeBool:
		s.Type = "boolean"
	case TypeDurationSecond:
		s.Type, s.Format = "string", "duration"
	case TypeCommaStringSlice, TypeStringSlice:
		s.Type, s.Items = "array", &OpenAPISchema{Type: "string"}
	case TypeCommaIntSlice:
		s.Type, s.Items = "array", &OpenAPISchema{Type: "integer", Format: "int64"}
	case TypeMap:
		s.Type = "object"
	case TypeKVPairs:
		s.Type, s.AdditionalProperties = "object", &OpenAPISchema{Type: "string"}
	case TypeRaw:
		s.Type = "object"
	case TypeSlice:
		s.Type, s.Items = "array", &OpenAPISchema{}
	}
	for _, a := range f.AllowedValues {
		if v, err := Convert(name, f.Type, a); err == nil {
			if d, isDur := v.(time.Duration); isDur {
				v = int64(d / time.Second)
			}
			s.Enum = append(s.Enum, v)
		}
	}
	if f.Default != nil {
		if v, err := Convert(name, f.Type, f.Default); err == nil {
			if d, isDur := v.(time.Duration); isDur {
				v = int64(d / time.Second)
			}
			s.Default = v
		}
	}
	return s
}

// opKey is an OpenAPI path key with its operations.
type opKey struct {
	key string
	ops []secrets.Operation
}

// openAPIKeys expands a pattern into the OpenAPI keys it documents (one
// per number of optional segments present) under mount.
func (cp *compiledPath) openAPIKeys(mount string) []string {
	prefix := "/" + strings.Trim(mount, "/")
	if prefix != "/" {
		prefix += "/"
	}
	var parts []string
	var keys []string
	for _, seg := range cp.pat.segs {
		if seg.kind == segOptional {
			keys = append(keys, prefix+strings.Join(parts, "/"))
		}
		switch seg.kind {
		case segLiteral:
			parts = append(parts, seg.text)
		default:
			parts = append(parts, "{"+seg.text+"}")
		}
	}
	return append(keys, prefix+strings.Join(parts, "/"))
}

// pathParams are the captures present in key, as OpenAPI parameters.
func (cp *compiledPath) pathParams(key string) []OpenAPIParameter {
	var out []OpenAPIParameter
	for _, name := range cp.pat.captures() {
		if !strings.Contains(key, "{"+name+"}") {
			continue
		}
		f := cp.fields[name]
		s := f.schema(name)
		s.Description = ""
		out = append(out, OpenAPIParameter{Name: name, In: "path", Description: f.Description, Required: true, Schema: s})
	}
	return out
}

// bodyFields are the declared fields that are not captures.
func (cp *compiledPath) bodyFields() []string {
	caps := map[string]bool{}
	for _, c := range cp.pat.captures() {
		caps[c] = true
	}
	var out []string
	for _, name := range sortedKeys(cp.Path.Fields) {
		if !caps[name] {
			out = append(out, name)
		}
	}
	return out
}

// operationOrder is the order operations are documented in.
var operationOrder = []secrets.Operation{
	secrets.OpRead, secrets.OpList, secrets.OpCreate, secrets.OpUpdate, secrets.OpPatch, secrets.OpDelete,
}

// ops lists the path's operations in a fixed order.
func (cp *compiledPath) ops() []secrets.Operation {
	var out []secrets.Operation
	for _, op := range operationOrder {
		if cp.Operations[op] != nil {
			out = append(out, op)
		}
	}
	return out
}

// OpenAPI returns the OpenAPI 3 "paths" entries of b mounted at mount
// ("secret/", "auth/userpass/"): read is GET, create and update are POST,
// patch is PATCH, delete is DELETE, and list is GET with the required
// query parameter list=true (on the same key, or on the key with a
// trailing slash when the path also has a read). Captures are path
// parameters ({path*} is {path}), an optional segment adds a key without
// it, and the fields of a POST or PATCH are its JSON body; fields marked
// Query are query parameters of GET and DELETE.
func (b *Backend) OpenAPI(mount string) map[string]*OpenAPIPathItem {
	out := map[string]*OpenAPIPathItem{}
	for _, cp := range b.compiled() {
		ops := cp.ops()
		for _, key := range cp.openAPIKeys(mount) {
			for _, op := range ops {
				k := key
				if op == secrets.OpList && cp.Operations[secrets.OpRead] != nil && !strings.HasSuffix(k, "/") {
					k += "/"
				}
				item := out[k]
				if item == nil {
					item = &OpenAPIPathItem{
						Description:     firstNonEmpty(cp.Summary, cp.Description),
						Parameters:      cp.pathParams(k),
						Unauthenticated: cp.Unauthenticated,
					}
					out[k] = item
				}
				cp.addOperation(item, op)
			}
		}
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// addOperation documents op on item.
func (cp *compiledPath) addOperation(item *OpenAPIPathItem, op secrets.Operation) {
	o := &OpenAPIOperation{
		Summary:     cp.Summary,
		Description: cp.Description,
		Responses:   map[string]OpenAPIResponse{"200": {Description: "OK"}, "204": {Description: "empty body"}},
	}
	query := func() {
		for _, name := range cp.bodyFields() {
			if f := cp.fields[name]; f.Query {
				o.Parameters = append(o.Parameters, OpenAPIParameter{
					Name: name, In: "query", Description: f.Description,
					Required: f.Required, Deprecated: f.Deprecated, Schema: f.schema(name),
				})
			}
		}
	}
	switch op {
	case secrets.OpRead:
		query()
		item.Get = o
	case secrets.OpList:
		o.Parameters = append(o.Parameters, OpenAPIParameter{
			Name: "list", In: "query", Description: "Must be set to `true`", Required: true,
			Schema: &OpenAPISchema{Type: "string", Enum: []any{"true"}},
		})
		item.Get = o
	case secrets.OpDelete:
		query()
		item.Delete = o
	case secrets.OpCreate, secrets.OpUpdate, secrets.OpPatch:
		if names := cp.bodyFields(); len(names) > 0 || cp.TakesArbitraryInput {
			s := &OpenAPISchema{Type: "object"}
			for _, name := range names {
				f := cp.fields[name]
				if s.Properties == nil {
					s.Properties = map[string]*OpenAPISchema{}
				}
				s.Properties[name] = f.schema(name)
				if f.Required {
					s.Required = append(s.Required, name)
				}
			}
			mt := "application/json"
			if op == secrets.OpPatch {
				mt = "application/merge-patch+json"
			}
			o.RequestBody = &OpenAPIRequestBody{Required: len(s.Required) > 0, Content: map[string]OpenAPIMediaType{mt: {Schema: s}}}
		}
		if op == secrets.OpPatch {
			item.Patch = o
		} else if item.Post == nil {
			item.Post = o
		}
	}
}

// EndpointRow is one row of docs/api.md's endpoint table: a path under
// its mount (":name" for captures, "[/:name]" for optional segments) and
// the HTTP methods that serve it.
type EndpointRow struct {
	Path    string
	Methods []string
	Summary string
}

// Endpoints lists b's endpoints under mount ("secret/"), in declaration
// order, as docs/api.md shows them.
func (b *Backend) Endpoints(mount string) []EndpointRow {
	var rows []EndpointRow
	for _, cp := range b.compiled() {
		var sb strings.Builder
		sb.WriteString(strings.TrimSuffix(mount, "/"))
		for _, seg := range cp.pat.segs {
			switch seg.kind {
			case segLiteral:
				sb.WriteString("/" + seg.text)
			case segOne:
				sb.WriteString("/:" + seg.text)
			case segOptional:
				sb.WriteString("[/:" + seg.text + "]")
			case segRest:
				sb.WriteString("/:" + seg.text + "*")
			case segLeaf:
				sb.WriteString("/:" + seg.text + "+")
			}
		}
		methods := map[string]bool{}
		for _, op := range cp.ops() {
			methods[httpMethod(op)] = true
		}
		row := EndpointRow{Path: sb.String(), Summary: cp.Summary}
		for _, m := range []string{"GET", "LIST", "POST", "PATCH", "DELETE"} {
			if methods[m] {
				row.Methods = append(row.Methods, m)
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func httpMethod(op secrets.Operation) string {
	switch op {
	case secrets.OpRead:
		return "GET"
	case secrets.OpList:
		return "LIST"
	case secrets.OpPatch:
		return "PATCH"
	case secrets.OpDelete:
		return "DELETE"
	default:
		return "POST"
	}
}

// MarkdownTable renders rows as docs/api.md's endpoint table: one row
// per path, its HTTP methods and its summary.
func MarkdownTable(rows []EndpointRow) string {
	var sb strings.Builder
	sb.WriteString("| path | methods | what |\n|---|---|---|\n")
	for _, r := range rows {
		summary := strings.ReplaceAll(r.Summary, "|", "\\|")
		sb.WriteString("| `" + r.Path + "` | " + strings.Join(r.Methods, ", ") + " | " + summary + " |\n")
	}
	return sb.String()
}
