package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/hcl/ast"
	hclparser "github.com/hashicorp/hcl/hcl/parser"
	hclscanner "github.com/hashicorp/hcl/hcl/scanner"
	hclstrconv "github.com/hashicorp/hcl/hcl/strconv"
	hcltoken "github.com/hashicorp/hcl/hcl/token"
)

// The document is first turned into a small tree of values that both HCL
// and JSON map onto. HCL's multi-key items (`listener "tcp" { ... }`) become
// nested objects (listener: {tcp: {...}}), which is also how JSON writes
// them, so the decoder handles one shape.

type kind uint8

const (
	kindNull kind = iota
	kindString
	kindNumber
	kindBool
	kindList
	kindObject
)

type pos struct{ line, col int }

type value struct {
	kind  kind
	pos   pos
	str   string // kindString: the value; kindNumber: the literal text
	float bool   // kindNumber: has a fraction or an exponent
	hcl   bool   // kindNumber: HCL literal (may be 0x.. or 0..)
	b     bool
	list  []*value
	obj   []*field

	seen map[string]seenKey // kindObject: first occurrence of each key, for addField
}

type seenKey struct {
	pos   pos
	block bool
}

type field struct {
	key string
	pos pos
	val *value
}

// maxDepth bounds nesting (objects, lists and label chains). Real
// configurations nest five or six levels; the bound keeps the recursive
// HCL parser and our own walk far from the stack limit on hostile input.
const maxDepth = 64

// parseTree parses src as JSON when its first non-space character is '{'
// (HCL's own rule), else as HCL.
func parseTree(src []byte, file string) (*value, error) {
	if isJSON(src) {
		return parseJSON(src, file)
	}
	return parseHCL(src, file)
}

func isJSON(src []byte) bool {
	for len(src) > 0 {
		r, w := utf8.DecodeRune(src)
		if !unicode.IsSpace(r) {
			return r == '{'
		}
		src = src[w:]
	}
	return false
}

func syntaxErr(file string, p pos, format string, args ...any) *Error {
	return &Error{File: file, Line: p.line, Column: p.col, Msg: fmt.Sprintf(format, args...), Kind: ErrSyntax}
}

// ---- HCL ----

func parseHCL(src []byte, file string) (root *value, err error) {
	if p, ok := tooDeep(src); ok {
		return nil, syntaxErr(file, p, "nesting deeper than %d levels", maxDepth)
	}
	// The HCL v1 parser is not hardened against every malformed input; a
	// panic in it must not take the server down with a stack trace.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, syntaxErr(file, pos{}, "malformed HCL")
		}
	}()
	f, perr := hclparser.ParseDontErrorOnDuplicateKeys(src)
	if perr != nil {
		return nil, hclSyntaxError(file, perr)
	}
	if p, dangling := danglingAssign(src); dangling {
		return nil, syntaxErr(file, p, "missing value after '='")
	}
	list, ok := f.Node.(*ast.ObjectList)
	if !ok {
		return nil, syntaxErr(file, pos{}, "expected a list of settings at the top level")
	}
	c := hclConv{file: file}
	return c.objectList(list, pos{1, 1}, 0)
}

// hclSyntaxError locates an HCL parser error. Duplicate keys are not
// reported by the parser in this mode: the tree builder finds them.
func hclSyntaxError(file string, err error) *Error {
	var pe *hclparser.PosError
	if errors.As(err, &pe) {
		return syntaxErr(file, pos{pe.Pos.Line, pe.Pos.Column}, "%v", pe.Err)
	}
	return syntaxErr(file, pos{}, "%v", err)
}

// danglingAssign reports a document that ends in `key =`: the HCL v1
// parser takes the end of input for the end of the list and silently drops
// the key, so a truncated file would otherwise load.
func danglingAssign(src []byte) (pos, bool) {
	s := hclscanner.New(bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n")))
	s.Error = func(hcltoken.Pos, string) {} // the parser has accepted src already
	var last hcltoken.Token
	for {
		t := s.Scan()
		if t.Type == hcltoken.EOF {
			break
		}
		if t.Type != hcltoken.COMMENT {
			last = t
		}
	}
	return hclPos(last.Pos), last.Type == hcltoken.ASSIGN
}

// tooDeep reports the first position where brackets nest deeper than
// maxDepth, skipping strings and comments. Heredoc bodies are not skipped,
// which can only make the check stricter for absurd heredocs.
func tooDeep(src []byte) (pos, bool) {
	depth, line, col := 0, 1, 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		col++
		switch c {
		case '\n':
			line, col = line+1, 0
		case '"':
			for i++; i < len(src) && src[i] != '"' && src[i] != '\n'; i++ {
				if src[i] == '\\' {
					i++
				}
			}
			if i < len(src) && src[i] == '\n' {
				line, col = line+1, 0
			}
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			line, col = line+1, 0
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				for i < len(src) && src[i] != '\n' {
					i++
				}
				line, col = line+1, 0
			} else if i+1 < len(src) && src[i+1] == '*' {
				end := bytes.Index(src[i+2:], []byte("*/"))
				if end < 0 {
					return pos{}, false // the parser reports it
				}
				line += bytes.Count(src[i:i+2+end], []byte("\n"))
				i += 2 + end + 1
			}
		case '{', '[':
			depth++
			if depth > maxDepth {
				return pos{line, col}, true
			}
		case '}', ']':
			depth--
		}
	}
	return pos{}, false
}

type hclConv struct{ file string }

func hclPos(p hcltoken.Pos) pos { return pos{p.Line, p.Column} }

func (c hclConv) objectList(list *ast.ObjectList, at pos, depth int) (*value, error) {
	if depth > maxDepth {
		return nil, syntaxErr(c.file, at, "nesting deeper than %d levels", maxDepth)
	}
	obj := &value{kind: kindObject, pos: at}
	if list == nil {
		return obj, nil
	}
	for _, item := range list.Items {
		if item == nil || len(item.Keys) == 0 {
			return nil, syntaxErr(c.file, at, "object item without a key")
		}
		if len(item.Keys) > maxDepth {
			return nil, syntaxErr(c.file, hclPos(item.Keys[0].Pos()), "too many labels")
		}
		keys := make([]string, len(item.Keys))
		for i, k := range item.Keys {
			s, err := c.key(k)
			if err != nil {
				return nil, err
			}
			keys[i] = s
		}
		val, err := c.node(item.Val, depth+len(keys))
		if err != nil {
			return nil, err
		}
		// listener "tcp" { ... }  →  listener: { tcp: { ... } }
		for i := len(keys) - 1; i >= 1; i-- {
			kp := hclPos(item.Keys[i].Pos())
			val = &value{kind: kindObject, pos: kp, obj: []*field{{key: keys[i], pos: kp, val: val}}}
		}
		f := &field{key: keys[0], pos: hclPos(item.Keys[0].Pos()), val: val}
		if err := addField(c.file, obj, f); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

func (c hclConv) key(k *ast.ObjectKey) (string, error) {
	t := k.Token
	switch t.Type {
	case hcltoken.IDENT:
		return t.Text, nil
	case hcltoken.STRING:
		s, err := hclstrconv.Unquote(t.Text)
		if err != nil {
			return "", syntaxErr(c.file, hclPos(t.Pos), "malformed quoted key")
		}
		return s, nil
	default:
		return "", syntaxErr(c.file, hclPos(t.Pos), "unexpected key token %s", t.Type)
	}
}

func (c hclConv) node(n ast.Node, depth int) (*value, error) {
	if depth > maxDepth {
		var at pos
		if n != nil {
			at = hclPos(n.Pos())
		}
		return nil, syntaxErr(c.file, at, "nesting deeper than %d levels", maxDepth)
	}
	switch n := n.(type) {
	case *ast.ObjectType:
		return c.objectList(n.List, hclPos(n.Lbrace), depth+1)
	case *ast.ListType:
		l := &value{kind: kindList, pos: hclPos(n.Lbrack)}
		for _, e := range n.List {
			v, err := c.node(e, depth+1)
			if err != nil {
				return nil, err
			}
			l.list = append(l.list, v)
		}
		return l, nil
	case *ast.LiteralType:
		return c.literal(n.Token)
	default:
		return nil, syntaxErr(c.file, pos{}, "unexpected HCL node %T", n)
	}
}

func (c hclConv) literal(t hcltoken.Token) (*value, error) {
	at := hclPos(t.Pos)
	switch t.Type {
	case hcltoken.BOOL:
		return &value{kind: kindBool, pos: at, b: t.Text == "true"}, nil
	case hcltoken.NUMBER:
		return &value{kind: kindNumber, pos: at, str: t.Text, hcl: true}, nil
	case hcltoken.FLOAT:
		return &value{kind: kindNumber, pos: at, str: t.Text, float: true, hcl: true}, nil
	case hcltoken.STRING:
		s, err := hclstrconv.Unquote(t.Text)
		if err != nil {
			return nil, syntaxErr(c.file, at, "malformed string literal")
		}
		return &value{kind: kindString, pos: at, str: s}, nil
	case hcltoken.HEREDOC:
		s, err := heredoc(t)
		if err != nil {
			return nil, syntaxErr(c.file, at, "malformed heredoc")
		}
		return &value{kind: kindString, pos: at, str: s}, nil
	default:
		return nil, syntaxErr(c.file, at, "unexpected literal %s", t.Type)
	}
}

// heredoc decodes a heredoc token with HCL's own rules; Token.Value panics
// on malformed input, so the panic is turned into an error here.
func heredoc(t hcltoken.Token) (s string, err error) {
	defer func() {
		if recover() != nil {
			s, err = "", errors.New("malformed heredoc")
		}
	}()
	v, ok := t.Value().(string)
	if !ok {
		return "", errors.New("malformed heredoc")
	}
	return v, nil
}

// addField appends f to obj, refusing a second assignment of the same key
// (case-insensitively, as HCL matches keys). A key may repeat only when
// every occurrence is a block (an object, or a list of objects), which is
// how repeated stanzas such as listener and retry_join are written.
func addField(file string, obj *value, f *field) error {
	k := strings.ToLower(f.key)
	block := isBlock(f.val)
	if prev, ok := obj.seen[k]; ok && !(prev.block && block) {
		return &Error{
			File: file, Line: f.pos.line, Column: f.pos.col, Kind: ErrInvalid,
			Msg: fmt.Sprintf("duplicate attribute %q (already set at line %d)", f.key, prev.pos.line),
		}
	}
	if obj.seen == nil {
		obj.seen = make(map[string]seenKey)
	}
	if _, ok := obj.seen[k]; !ok {
		obj.seen[k] = seenKey{pos: f.pos, block: block}
	}
	obj.obj = append(obj.obj, f)
	return nil
}

func isBlock(v *value) bool {
	switch v.kind {
	case kindObject:
		return true
	case kindList:
		if len(v.list) == 0 {
			return false
		}
		for _, e := range v.list {
			if e.kind != kindObject {
				return false
			}
		}
		return true
	}
	return false
}

// ---- JSON ----

type jsonConv struct {
	file string
	src  []byte
	dec  *json.Decoder

	// posAt's progress: src[:scanned] has been searched for newlines,
	// the last one ending at lineStart, giving line.
	scanned, line, lineStart int
}

func parseJSON(src []byte, file string) (*value, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	c := &jsonConv{file: file, src: src, dec: dec, line: 1}
	root, err := c.value(0)
	if err != nil {
		return nil, err
	}
	if root.kind != kindObject {
		return nil, syntaxErr(file, root.pos, "a JSON config must be an object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, syntaxErr(file, c.posAt(int(dec.InputOffset())), "unexpected data after the top-level object")
	}
	return root, nil
}

// posAt converts a byte offset into a line and column. Offsets arrive in
// increasing order, so lines are counted once, from where the last call
// stopped; an earlier offset restarts the count.
func (c *jsonConv) posAt(off int) pos {
	off = min(max(off, 0), len(c.src))
	if off < c.scanned {
		c.scanned, c.line, c.lineStart = 0, 1, 0
	}
	for {
		i := bytes.IndexByte(c.src[c.scanned:off], '\n')
		if i < 0 {
			break
		}
		c.line++
		c.lineStart = c.scanned + i + 1
		c.scanned = c.lineStart
	}
	c.scanned = off
	return pos{c.line, off - c.lineStart + 1}
}

// next reads a token and returns it with the position where it starts.
func (c *jsonConv) next() (json.Token, pos, error) {
	start := int(c.dec.InputOffset())
	for start < len(c.src) {
		switch c.src[start] {
		case ' ', '\t', '\r', '\n', ':', ',':
			start++
			continue
		}
		break
	}
	tok, err := c.dec.Token()
	if err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return nil, pos{}, syntaxErr(c.file, c.posAt(int(se.Offset)), "%v", se)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, pos{}, syntaxErr(c.file, c.posAt(len(c.src)), "unexpected end of JSON input")
		default:
			return nil, pos{}, syntaxErr(c.file, c.posAt(start), "%v", err)
		}
	}
	return tok, c.posAt(start), nil
}

func (c *jsonConv) value(depth int) (*value, error) {
	tok, at, err := c.next()
	if err != nil {
		return nil, err
	}
	return c.fromToken(tok, at, depth)
}

func (c *jsonConv) fromToken(tok json.Token, at pos, depth int) (*value, error) {
	if depth > maxDepth {
		return nil, syntaxErr(c.file, at, "nesting deeper than %d levels", maxDepth)
	}
	switch t := tok.(type) {
	case nil:
		return &value{kind: kindNull, pos: at}, nil
	case bool:
		return &value{kind: kindBool, pos: at, b: t}, nil
	case string:
		return &value{kind: kindString, pos: at, str: t}, nil
	case json.Number:
		s := string(t)
		return &value{kind: kindNumber, pos: at, str: s, float: strings.ContainsAny(s, ".eE")}, nil
	case json.Delim:
		switch t {
		case '{':
			obj := &value{kind: kindObject, pos: at}
			for {
				tok, kp, err := c.next()
				if err != nil {
					return nil, err
				}
				if d, ok := tok.(json.Delim); ok && d == '}' {
					return obj, nil
				}
				key, ok := tok.(string)
				if !ok {
					return nil, syntaxErr(c.file, kp, "expected an object key")
				}
				v, err := c.value(depth + 1)
				if err != nil {
					return nil, err
				}
				if err := addField(c.file, obj, &field{key: key, pos: kp, val: v}); err != nil {
					return nil, err
				}
			}
		case '[':
			l := &value{kind: kindList, pos: at}
			for {
				tok, ep, err := c.next()
				if err != nil {
					return nil, err
				}
				if d, ok := tok.(json.Delim); ok && d == ']' {
					return l, nil
				}
				v, err := c.fromToken(tok, ep, depth+1)
				if err != nil {
					return nil, err
				}
				l.list = append(l.list, v)
			}
		}
	}
	return nil, syntaxErr(c.file, at, "unexpected JSON token %v", tok)
}
