package cli

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// docs/cli.md lists every command: the words of each command's path
// (without "vaultd") appear, in order, in the first cell of a row of its
// tables ("operator raft join / … / snapshot save" lists "operator raft
// snapshot save").
func TestDocs_ListEveryCommand(t *testing.T) {
	b, err := os.ReadFile("../../../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	cell := regexp.MustCompile("(?m)^\\| (`(?:[^|\\\\]|\\\\.)*?)\\s\\|")
	split := regexp.MustCompile(`[^a-z0-9-]+`)
	var cells [][]string
	for _, m := range cell.FindAllStringSubmatch(string(b), -1) {
		cells = append(cells, split.Split(m[1], -1))
	}
	// documented: some first cell holds the path's words in order.
	documented := func(path []string) bool {
		for _, words := range cells {
			i := 0
			for _, w := range words {
				if i < len(path) && w == path[i] {
					i++
				}
			}
			if i == len(path) {
				return true
			}
		}
		return false
	}
	root := newRoot(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			p := append(append([]string{}, path...), sub.Name())
			if len(sub.Commands()) == 0 && !documented(p) {
				t.Errorf("docs/cli.md does not list %q", strings.Join(p, " "))
			}
			walk(sub, p)
		}
	}
	walk(root, nil)
}
