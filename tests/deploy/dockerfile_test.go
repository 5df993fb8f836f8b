package deploy

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case: FROM, RUN, USER ...
	Args string // the rest of the line, trimmed
	Line int    // 1-based line of the instruction's first line
}

type dockerfile struct {
	Instrs []instruction
}

func readDockerfile(path string) (*dockerfile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseDockerfile(b)
}

// parseDockerfile splits a Dockerfile into instructions: comments and blank
// lines dropped, backslash continuations joined (comment lines inside a
// continuation are skipped, as Docker does).
func parseDockerfile(src []byte) (*dockerfile, error) {
	df := &dockerfile{}
	sc := bufio.NewScanner(bytes.NewReader(src))
	var cur strings.Builder
	start, n := 0, 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		cont := strings.HasSuffix(line, "\\")
		cur.WriteString(strings.TrimSuffix(line, "\\"))
		cur.WriteByte(' ')
		if cont {
			continue
		}
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		cmd, args, _ := strings.Cut(text, " ")
		df.Instrs = append(df.Instrs, instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur.Len() > 0 {
		return nil, errors.New("the last instruction ends in a line continuation")
	}
	if len(df.Instrs) == 0 {
		return nil, errors.New("no instructions")
	}
	return df, nil
}

// stages returns the instructions of each build stage (from its FROM on).
func (df *dockerfile) stages() [][]instruction {
	var out [][]instruction
	for _, in := range df.Instrs {
		if in.Cmd == "FROM" {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], in)
		}
	}
	return out
}

// goBuild returns the `go build` command of the Dockerfile: the environment
// assignments before it and its arguments, shell words already split.
func (df *dockerfile) goBuild() (env, args []string, err error) {
	for _, in := range df.Instrs {
		if in.Cmd != "RUN" || !strings.Contains(in.Args, "go build") {
			continue
		}
		for _, part := range strings.Split(in.Args, "&&") {
			if !strings.Contains(part, "go build") {
				continue
			}
			words, err := shellWords(part)
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: %w", in.Line, err)
			}
			i := 0
			for i < len(words) && regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`).MatchString(words[i]) {
				env = append(env, words[i])
				i++
			}
			if i+1 >= len(words) || words[i] != "go" || words[i+1] != "build" {
				return nil, nil, fmt.Errorf("line %d: cannot read the go build command %q", in.Line, part)
			}
			return env, words[i+2:], nil
		}
	}
	return nil, nil, errors.New("no RUN instruction with `go build`")
}

// shellWords splits a simple POSIX shell command line into words: single
// and double quotes and backslash escapes; no expansions.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				cur.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			i = j
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// buildLikeDockerfile runs the Dockerfile's `go build` line in the module
// root, with its environment assignments and flags, writing to out. Build
// arguments (${TARGETOS}, ...) expand to nothing, as in a plain `docker
// build` on the builder's own platform.
func buildLikeDockerfile(df *dockerfile, root, out string) error {
	env, args, err := df.goBuild()
	if err != nil {
		return err
	}
	expand := func(s string) string { return os.Expand(s, func(string) string { return "" }) }
	var cmdEnv []string
	for _, e := range env {
		k, v, _ := strings.Cut(expand(e), "=")
		if v != "" {
			cmdEnv = append(cmdEnv, k+"="+v)
		}
	}
	var cmdArgs []string
	for i := 0; i < len(args); i++ {
		a := expand(args[i])
		if a == "-o" && i+1 < len(args) {
			cmdArgs = append(cmdArgs, "-o", out)
			i++
			continue
		}
		cmdArgs = append(cmdArgs, a)
	}
	if !slices.Contains(cmdArgs, out) {
		return fmt.Errorf("the go build line %q has no -o", strings.Join(args, " "))
	}
	cmd := exec.Command("go", append([]string{"build"}, cmdArgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), cmdEnv...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

var (
	exactVersionTag = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+([-.][A-Za-z0-9.-]+)?$`)
	numericUser     = regexp.MustCompile(`^([0-9]+)(:[0-9]+)?$`)
	secretName      = regexp.MustCompile(`(?i)(token|secret|passw|private|credential|api_?key|unseal)`)
)

// lintDockerfile returns every rule the Dockerfile breaks.
func lintDockerfile(df *dockerfile) []string {
	var problems []string
	bad := func(in instruction, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("line %d (%s): %s", in.Line, in.Cmd, fmt.Sprintf(format, args...)))
	}
	stages := df.stages()
	if len(stages) < 2 {
		problems = append(problems, "want a multi-stage build (a Go builder and a minimal runtime stage)")
	}
	stageNames := map[string]bool{}
	for _, st := range stages {
		from := st[0]
		words := strings.Fields(from.Args)
		var ref string
		for _, w := range words {
			if !strings.HasPrefix(w, "--") { // skip --platform=...
				ref = w
				break
			}
		}
		switch {
		case ref == "":
			bad(from, "no base image")
		case ref == "scratch" || stageNames[strings.ToLower(ref)]:
		default:
			name, _, _ := strings.Cut(ref, "@")
			slash := strings.LastIndex(name, "/")
			colon := strings.LastIndex(name, ":")
			if colon <= slash {
				bad(from, "base image %q has no tag: pin an exact version", ref)
				break
			}
			if tag := name[colon+1:]; tag == "latest" || !exactVersionTag.MatchString(tag) {
				bad(from, "base image %q is not pinned to an exact version tag (major.minor.patch)", ref)
			}
		}
		// Stage names become usable only after their FROM line.
		for i, w := range words {
			if strings.EqualFold(w, "AS") && i+1 < len(words) {
				stageNames[strings.ToLower(words[i+1])] = true
			}
		}
	}
	for _, in := range df.Instrs {
		switch in.Cmd {
		case "ENV", "ARG":
			words, err := shellWords(in.Args)
			if err != nil {
				bad(in, "%v", err)
			}
			for _, kv := range words {
				k, v, _ := strings.Cut(kv, "=")
				if secretName.MatchString(k) {
					bad(in, "%q looks like a secret; images must not carry secrets", k)
				}
				if regexp.MustCompile(`^(hvs|s|hvb|b)\.[A-Za-z0-9]{20,}`).MatchString(v) {
					bad(in, "%s holds what looks like a Vault token", k)
				}
			}
		case "COPY", "ADD":
			if regexp.MustCompile(`\.(pem|key|crt|p12|pfx)\b|\.vault-token|\.env\b`).MatchString(in.Args) {
				bad(in, "copies key or credential material into the image: %s", in.Args)
			}
		}
		if strings.Contains(in.Args, "-----BEGIN") {
			bad(in, "contains PEM material")
		}
	}
	if len(stages) > 0 {
		final := stages[len(stages)-1]
		var user, entry, cmd *instruction
		var exposed, volumes []string
		labels := map[string]bool{}
		for i := range final {
			in := &final[i]
			switch in.Cmd {
			case "USER":
				user = in
			case "ENTRYPOINT":
				entry = in
			case "CMD":
				cmd = in
			case "EXPOSE":
				exposed = append(exposed, strings.Fields(in.Args)...)
			case "VOLUME":
				var v []string
				if err := json.Unmarshal([]byte(in.Args), &v); err != nil {
					v = strings.Fields(in.Args)
				}
				volumes = append(volumes, v...)
			case "LABEL":
				words, _ := shellWords(in.Args)
				for _, kv := range words {
					if k, _, ok := strings.Cut(kv, "="); ok {
						labels[k] = true
					}
				}
			}
		}
		last := final[len(final)-1]
		switch {
		case user == nil:
			bad(last, "the runtime stage sets no USER: the container would run as root")
		default:
			m := numericUser.FindStringSubmatch(user.Args)
			if m == nil {
				bad(*user, "USER %q is not a numeric uid[:gid] (Kubernetes runAsNonRoot can only check numeric users)", user.Args)
			} else if m[1] == "0" {
				bad(*user, "USER runs as root")
			}
		}
		checkExec := func(in *instruction, name string, want []string) {
			if in == nil {
				bad(last, "no %s", name)
				return
			}
			var got []string
			if err := json.Unmarshal([]byte(in.Args), &got); err != nil || !slices.Equal(got, want) {
				bad(*in, "%s %s, want the exec form %q", name, in.Args, want)
			}
		}
		checkExec(entry, "ENTRYPOINT", []string{"vaultd"})
		checkExec(cmd, "CMD", []string{"server", "-config", "/vault/config"})
		for _, p := range []string{"8200", "8201"} {
			if !slices.Contains(exposed, p) && !slices.Contains(exposed, p+"/tcp") {
				bad(last, "port %s is not EXPOSEd", p)
			}
		}
		for _, v := range []string{"/vault/data", "/vault/config"} {
			if !slices.Contains(volumes, v) {
				bad(last, "%s is not a VOLUME", v)
			}
		}
		for _, l := range []string{"org.opencontainers.image.title", "org.opencontainers.image.source", "org.opencontainers.image.version"} {
			if !labels[l] {
				bad(last, "label %s is missing", l)
			}
		}
	}
	env, args, err := df.goBuild()
	if err != nil {
		problems = append(problems, err.Error())
	} else {
		if !slices.Contains(env, "CGO_ENABLED=0") {
			problems = append(problems, "go build: CGO_ENABLED=0 is missing (the runtime image has no libc)")
		}
		if !slices.Contains(args, "-trimpath") {
			problems = append(problems, "go build: -trimpath is missing")
		}
		ld := ""
		for i, a := range args {
			if v, ok := strings.CutPrefix(a, "-ldflags="); ok {
				ld = v
			} else if a == "-ldflags" && i+1 < len(args) {
				ld = args[i+1]
			}
		}
		if f := strings.Fields(ld); !slices.Contains(f, "-s") || !slices.Contains(f, "-w") {
			problems = append(problems, fmt.Sprintf("go build: -ldflags %q lacks -s -w", ld))
		}
	}
	return problems
}

func TestDockerfile_Lint(t *testing.T) {
	df, err := readDockerfile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range lintDockerfile(df) {
		t.Errorf("Dockerfile: %s", p)
	}
}

// TestDockerfile_LintCatches shows the linter fails what it must.
func TestDockerfile_LintCatches(t *testing.T) {
	good := `FROM golang:1.26.8-bookworm AS build
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/vaultd ./cmd/vaultd
FROM scratch
LABEL org.opencontainers.image.title="vaultd" org.opencontainers.image.source="x" org.opencontainers.image.version="1"
COPY --from=build /out/vaultd /usr/local/bin/vaultd
USER 10001:10001
VOLUME ["/vault/data", "/vault/config"]
EXPOSE 8200 8201
ENTRYPOINT ["vaultd"]
CMD ["server", "-config", "/vault/config"]
`
	tests := []struct {
		name, from, to, want string
	}{
		{"good", "", "", ""},
		{"latest", "golang:1.26.8-bookworm", "golang:latest", "not pinned"},
		{"untagged", "golang:1.26.8-bookworm", "golang", "no tag"},
		{"minor only", "golang:1.26.8-bookworm", "golang:1.26", "not pinned"},
		{"runtime unpinned", "FROM scratch", "FROM alpine", "no tag"},
		{"root user", "USER 10001:10001", "USER 0", "runs as root"},
		{"named user", "USER 10001:10001", "USER vaultd", "not a numeric"},
		{"no user", "USER 10001:10001\n", "", "no USER"},
		{"token env", "USER 10001:10001", "ENV VAULT_TOKEN=s.abc\nUSER 10001:10001", "looks like a secret"},
		{"copied key", "COPY --from=build", "COPY tls.key /vault/tls.key\nCOPY --from=build", "key or credential"},
		{"shell entrypoint", `ENTRYPOINT ["vaultd"]`, "ENTRYPOINT vaultd", "exec form"},
		{"dev cmd", `CMD ["server", "-config", "/vault/config"]`, `CMD ["server", "-dev"]`, "CMD"},
		{"cgo", "CGO_ENABLED=0 ", "", "CGO_ENABLED=0"},
		{"no trimpath", "-trimpath ", "", "-trimpath"},
		{"no strip", `-ldflags="-s -w" `, "", "lacks -s -w"},
		{"no volume", `VOLUME ["/vault/data", "/vault/config"]`, `VOLUME ["/vault/data"]`, "/vault/config is not a VOLUME"},
		{"single stage", "FROM scratch\n", "", "multi-stage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := good
			if tt.from != "" {
				if !strings.Contains(src, tt.from) {
					t.Fatalf("bad test: %q not in the sample", tt.from)
				}
				src = strings.Replace(src, tt.from, tt.to, 1)
			}
			df, err := parseDockerfile([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			problems := strings.Join(lintDockerfile(df), "\n")
			switch {
			case tt.want == "" && problems != "":
				t.Errorf("lint found problems in a good Dockerfile:\n%s", problems)
			case tt.want != "" && !strings.Contains(problems, tt.want):
				t.Errorf("lint problems = %q, want one containing %q", problems, tt.want)
			}
		})
	}
}

func TestShellWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`CGO_ENABLED=0 go build -ldflags="-s -w" -o /x ./cmd/vaultd`, []string{"CGO_ENABLED=0", "go", "build", "-ldflags=-s -w", "-o", "/x", "./cmd/vaultd"}},
		{`a 'b c' "d \" e" f\ g`, []string{"a", "b c", `d " e`, "f g"}},
		{"  ", nil},
	}
	for _, tt := range tests {
		got, err := shellWords(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("shellWords(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{`'open`, `"open`} {
		if _, err := shellWords(in); err == nil {
			t.Errorf("shellWords(%q) succeeded, want an error", in)
		}
	}
}

// TestDockerfile_StaticBinary: the binary the Dockerfile builds runs on an
// empty base image, so it must not need a dynamic loader or libc.
func TestDockerfile_StaticBinary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("ELF check on Linux only")
	}
	f, err := elf.Open(vaultdBin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("vaultd has a PT_INTERP program header: it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		t.Errorf("vaultd needs shared libraries %v", libs)
	}
	if s := f.Section(".symtab"); s != nil {
		t.Errorf("vaultd has a symbol table: -ldflags -s did not apply")
	}
}

func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	for _, want := range []string{".git", "*.pem", "*.key", ".vault-token"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
	for _, need := range []string{"go.mod", "go.sum", "cmd", "*.go"} {
		if slices.Contains(lines, need) {
			t.Errorf(".dockerignore excludes %s, which the build needs", need)
		}
	}
}
