package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	vaultapi "github.com/hashicorp/vault/api"
	"gopkg.in/yaml.v3"
)

// Output follows Vault's CLI formats exactly: "table" lays out columns
// with a four-space glue and "n/a" for empty cells; "json" is the response
// indented by two spaces; "yaml" is the same document as YAML.

// maxLineLength is the width Vault wraps its prose at.
const maxLineLength = 78

// columns lays out rows (cells split by delim) in aligned columns: every
// cell but the last is padded to its column's width, cells are joined by
// four spaces, and empty cells read "n/a".
func columns(rows []string, delim string) string {
	var cells [][]string
	var widths []int
	for _, r := range rows {
		parts := strings.Split(r, delim)
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
			if parts[i] == "" {
				parts[i] = "n/a"
			}
			w := utf8.RuneCountInString(parts[i])
			if i >= len(widths) {
				widths = append(widths, w)
			} else if w > widths[i] {
				widths[i] = w
			}
		}
		cells = append(cells, parts)
	}
	var b strings.Builder
	for ri, row := range cells {
		for i, c := range row {
			if i == len(row)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)))
			b.WriteString("    ")
		}
		if ri < len(cells)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// table is columns with a header row underlined by dashes.
func table(rows []string, delim string) string {
	if len(rows) == 0 {
		return ""
	}
	hdr := strings.Split(rows[0], delim)
	under := make([]string, len(hdr))
	for i, h := range hdr {
		under[i] = strings.Repeat("-", len(strings.TrimSpace(h)))
	}
	out := append([]string{rows[0], strings.Join(under, delim)}, rows[1:]...)
	return columns(out, delim)
}

// cellDelim separates cells of rows built from data that may contain "|".
const cellDelim = "\x1f"

// wrap fills s into lines of at most lim runes with minimal raggedness
// (the last line is free), the layout Vault's CLI prints its prose in.
func wrap(s string, lim int) string {
	words := strings.Fields(s)
	n := len(words)
	if n == 0 {
		return ""
	}
	lens := make([]int, n)
	for i, w := range words {
		lens[i] = utf8.RuneCountInString(w)
	}
	// lineLen(i, j): length of words i..j joined by single spaces.
	lineLen := func(i, j int) int {
		l := j - i
		for k := i; k <= j; k++ {
			l += lens[k]
		}
		return l
	}
	const overflow = 100000 // cost of a line that cannot fit at all
	cost := make([]int, n+1)
	next := make([]int, n+1)
	for i := n - 1; i >= 0; i-- {
		if lineLen(i, n-1) <= lim {
			cost[i], next[i] = 0, n
			continue
		}
		cost[i] = -1
		for j := i + 1; j <= n-1; j++ {
			l := lineLen(i, j-1)
			d := lim - l
			c := d*d + cost[j]
			if l > lim {
				c += overflow
			}
			if cost[i] < 0 || c < cost[i] {
				cost[i], next[i] = c, j
			}
		}
	}
	var b strings.Builder
	for i := 0; i < n; i = next[i] {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strings.Join(words[i:next[i]], " "))
	}
	return b.String()
}

// humanDuration prints d like Vault: "768h", "1h30m", "45s", "0s".
func humanDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if i := strings.Index(s, "h0m"); i > 0 {
		s = s[:i+1] + s[i+3:]
	}
	return s
}

// humanSeconds formats a number of seconds as a duration; other values
// are returned as they are.
func humanSeconds(v any) any {
	switch n := v.(type) {
	case int:
		return humanDuration(time.Duration(n) * time.Second)
	case int64:
		return humanDuration(time.Duration(n) * time.Second)
	case float64:
		if n == float64(int64(n)) {
			return humanDuration(time.Duration(n) * time.Second)
		}
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return humanDuration(time.Duration(i) * time.Second)
		}
	}
	return v
}

func looksLikeDuration(k string) bool {
	return k == "period" || strings.HasSuffix(k, "_period") ||
		k == "ttl" || strings.HasSuffix(k, "_ttl") ||
		k == "duration" || strings.HasSuffix(k, "_duration") ||
		k == "lease_max" || k == "ttl_max"
}

// printer writes command output in the chosen format.
type printer struct {
	out, errw io.Writer
	format    string
	tty       bool
}

func (a *app) printer() *printer {
	return &printer{out: a.stdout, errw: a.stderr, format: a.outFormat(), tty: isTerminal(a.stdout)}
}

func (p *printer) line(s string) { fmt.Fprintln(p.out, s) }

// structured prints v as JSON or YAML; it reports false for "table".
func (p *printer) structured(v any) (bool, error) {
	switch p.format {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return true, fmt.Errorf("Could not parse output: %w", err)
		}
		p.line(string(b))
		return true, nil
	case "yaml":
		b, err := toYAML(v)
		if err != nil {
			return true, fmt.Errorf("Could not parse output: %w", err)
		}
		p.line(strings.TrimSpace(string(b)))
		return true, nil
	}
	return false, nil
}

// toYAML renders v as YAML with JSON's field names (v goes through JSON).
func toYAML(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var doc any
	if err := json.Unmarshal(j, &doc); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// warnings prints a secret's warnings to stderr, as Vault's table output does.
func (p *printer) warnings(s *vaultapi.Secret) {
	if s == nil || len(s.Warnings) == 0 {
		return
	}
	fmt.Fprintln(p.errw, "WARNING! The following warnings were returned from Vault:")
	fmt.Fprintln(p.errw)
	for _, w := range s.Warnings {
		lines := strings.Split(wrap("* "+w, maxLineLength-2), "\n")
		for i := range lines {
			lines[i] = "  " + lines[i]
		}
		fmt.Fprintln(p.errw, strings.Join(lines, "\n"))
		fmt.Fprintln(p.errw)
	}
}

// secret prints a whole response (Vault's OutputSecret).
func (p *printer) secret(s *vaultapi.Secret) error {
	if ok, err := p.structured(s); ok {
		return err
	}
	if s == nil {
		return nil
	}
	p.warnings(s)
	var rows []string
	add := func(k string, v any) { rows = append(rows, fmt.Sprintf("%s%s%v", k, cellDelim, v)) }
	if s.LeaseDuration > 0 {
		if s.LeaseID != "" {
			add("lease_id", s.LeaseID)
			add("lease_duration", humanSeconds(s.LeaseDuration))
			add("lease_renewable", s.Renewable)
		} else {
			add("refresh_interval", humanSeconds(s.LeaseDuration))
		}
	}
	if s.Auth != nil {
		add("token", s.Auth.ClientToken)
		add("token_accessor", s.Auth.Accessor)
		if s.Auth.LeaseDuration == 0 {
			add("token_duration", "∞")
		} else {
			add("token_duration", humanSeconds(s.Auth.LeaseDuration))
		}
		add("token_renewable", s.Auth.Renewable)
		add("token_policies", fmt.Sprintf("%q", s.Auth.TokenPolicies))
		add("identity_policies", fmt.Sprintf("%q", s.Auth.IdentityPolicies))
		add("policies", fmt.Sprintf("%q", s.Auth.Policies))
		for _, k := range sortedKeys(s.Auth.Metadata) {
			add("token_meta_"+k, s.Auth.Metadata[k])
		}
	}
	if s.WrapInfo != nil {
		add("wrapping_token:", s.WrapInfo.Token)
		add("wrapping_accessor:", s.WrapInfo.Accessor)
		add("wrapping_token_ttl:", humanSeconds(s.WrapInfo.TTL))
		add("wrapping_token_creation_time:", s.WrapInfo.CreationTime.String())
		add("wrapping_token_creation_path:", s.WrapInfo.CreationPath)
	}
	for _, k := range sortedKeys(s.Data) {
		v := s.Data[k]
		if looksLikeDuration(k) {
			v = humanSeconds(v)
		}
		add(k, v)
	}
	if len(rows) == 0 {
		return nil
	}
	p.line(table(append([]string{"Key" + cellDelim + "Value"}, rows...), cellDelim))
	return nil
}

// mapTable prints a map as a Key/Value table (Vault's OutputMap).
func (p *printer) mapTable(m map[string]any) {
	var rows []string
	for _, k := range sortedKeys(m) {
		v := m[k]
		if looksLikeDuration(k) {
			v = humanSeconds(v)
		}
		rows = append(rows, fmt.Sprintf("%s%s%v", k, cellDelim, v))
	}
	if len(rows) == 0 {
		return
	}
	p.line(table(append([]string{"Key" + cellDelim + "Value"}, rows...), cellDelim))
}

// data prints a map (table) or any value (json/yaml) (Vault's OutputData).
func (p *printer) data(v any) error {
	if ok, err := p.structured(v); ok {
		return err
	}
	switch d := v.(type) {
	case map[string]any:
		p.mapTable(d)
	case []string:
		p.line(strings.Join(d, "\n"))
	default:
		return fmt.Errorf("cannot use the table formatter for this type")
	}
	return nil
}

// list prints the "keys" of a LIST response (Vault's OutputList).
func (p *printer) list(s *vaultapi.Secret) error {
	keys, _ := s.Data["keys"].([]any)
	if ok, err := p.structured(keys); ok {
		return err
	}
	p.warnings(s)
	ks := make([]string, 0, len(keys))
	for _, k := range keys {
		ks = append(ks, fmt.Sprint(k))
	}
	sort.Strings(ks)
	p.line(table(append([]string{"Keys"}, ks...), cellDelim))
	return nil
}

// rawField prints one field of v (a *vaultapi.Secret or a map): raw in
// table format, without a trailing newline unless stdout is a terminal,
// or as a JSON/YAML value.
func (p *printer) rawField(v any, field string) error {
	val, ok := lookupField(v, field)
	if !ok {
		return &exitError{code: ExitError, err: fmt.Errorf("Field %q not present in secret", field)}
	}
	if p.format != "table" {
		_, err := p.structured(val)
		return err
	}
	s := fmt.Sprint(val)
	if val == nil {
		s = ""
	}
	if p.tty {
		s += "\n"
	}
	_, err := io.WriteString(p.out, s)
	return err
}

func lookupField(v any, field string) (any, bool) {
	switch d := v.(type) {
	case *vaultapi.Secret:
		if d == nil {
			return nil, false
		}
		if d.Auth != nil {
			switch field {
			case "token":
				return d.Auth.ClientToken, true
			case "token_accessor":
				return d.Auth.Accessor, true
			case "token_duration":
				return humanSeconds(d.Auth.LeaseDuration), true
			case "token_renewable":
				return d.Auth.Renewable, true
			case "token_policies":
				return d.Auth.TokenPolicies, true
			case "identity_policies":
				return d.Auth.IdentityPolicies, true
			case "policies":
				return d.Auth.Policies, true
			}
			if m, ok := strings.CutPrefix(field, "token_meta_"); ok {
				val, found := d.Auth.Metadata[m]
				return val, found
			}
		}
		if d.WrapInfo != nil {
			switch field {
			case "wrapping_token":
				return d.WrapInfo.Token, true
			case "wrapping_accessor":
				return d.WrapInfo.Accessor, true
			}
		}
		switch field {
		case "lease_id":
			return d.LeaseID, true
		case "lease_duration", "refresh_interval":
			return humanSeconds(d.LeaseDuration), true
		case "lease_renewable":
			return d.Renewable, true
		}
		val, ok := d.Data[field]
		return val, ok
	case map[string]any:
		val, ok := d[field]
		return val, ok
	}
	return nil, false
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// padEqualSigns centres header in a run of '=' about total runes wide.
func padEqualSigns(header string, total int) string {
	eq := total - (len(header) + 2)
	if eq <= 0 {
		eq = 4
	}
	if eq%2 != 0 {
		eq++
	}
	return fmt.Sprintf("%s %s %s", strings.Repeat("=", eq/2), header, strings.Repeat("=", eq/2))
}

// headerForMap is the "===== Data =====" line above a Key/Value table.
func headerForMap(header string, m map[string]any) string {
	maxKey := 0
	for k := range m {
		maxKey = max(maxKey, len(k))
	}
	return padEqualSigns(header, maxKey+4+5)
}
