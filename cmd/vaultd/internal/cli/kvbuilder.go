package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Errors of parseKV.
var (
	errKVFormat    = errors.New("format must be key=value")
	errStdinTwice  = errors.New("stdin can only be read once")
	errNotJSONObj  = errors.New("the JSON input must be an object")
	errKVFileEmpty = errors.New("empty file name after '@'")
)

// maxKVInput bounds a value read from a file or stdin.
const maxKVInput = 32 << 20

// parseKV turns command-line data arguments into a request body, as
// Vault's CLI does:
//
//	key=value    a string value
//	key=@file    the contents of file
//	key=-        the contents of stdin
//	@file.json   a JSON object whose fields are merged in
//	-            a JSON object read from stdin
//
// Values read from files or stdin keep their bytes exactly (no trimming).
func parseKV(stdin io.Reader, args []string) (map[string]any, error) {
	out := map[string]any{}
	stdinUsed := false
	readStdin := func() ([]byte, error) {
		if stdinUsed {
			return nil, errStdinTwice
		}
		stdinUsed = true
		return readBounded(stdin)
	}
	for _, arg := range args {
		switch {
		case arg == "-":
			b, err := readStdin()
			if err != nil {
				return nil, err
			}
			if err := mergeJSON(out, b); err != nil {
				return nil, err
			}
			continue
		case strings.HasPrefix(arg, "@"):
			b, err := readFileArg(arg[1:])
			if err != nil {
				return nil, err
			}
			if err := mergeJSON(out, b); err != nil {
				return nil, err
			}
			continue
		}
		k, v, ok := strings.Cut(arg, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: %q", errKVFormat, arg)
		}
		switch {
		case v == "-":
			b, err := readStdin()
			if err != nil {
				return nil, err
			}
			out[k] = string(b)
		case strings.HasPrefix(v, "@"):
			b, err := readFileArg(v[1:])
			if err != nil {
				return nil, err
			}
			out[k] = string(b)
		default:
			out[k] = v
		}
	}
	return out, nil
}

func readFileArg(path string) ([]byte, error) {
	if path == "" {
		return nil, errKVFileEmpty
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("error reading file: %w", err)
	}
	defer f.Close()
	return readBounded(f)
}

func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxKVInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKVInput {
		return nil, fmt.Errorf("input larger than %d bytes", maxKVInput)
	}
	return b, nil
}

func mergeJSON(out map[string]any, b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("%w: %v", errNotJSONObj, err)
	}
	if m == nil {
		return errNotJSONObj
	}
	for k, v := range m {
		out[k] = v
	}
	return nil
}
