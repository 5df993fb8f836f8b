package cli

import (
	"context"
	"fmt"
	"net/http"
	gopath "path"
	"sort"
	"strconv"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"
)

// kvFlags are the flags every kv subcommand shares.
type kvFlags struct {
	mount string
}

func (a *app) newKVCmd() *cobra.Command {
	kf := &kvFlags{}
	cmd := &cobra.Command{
		Use:   "kv",
		Short: "Interact with Vault's Key-Value storage",
		Long: `Reads and writes secrets in a KV engine, version 1 or 2 (the version is found
with GET sys/internal/ui/mounts/PATH, as Vault's CLI does). Name the mount
with -mount and the secret path relative to it, or give the full path.`,
		Example: `  vaultd kv put -mount=secret creds passcode=my-long-passcode
  vaultd kv get -mount=secret creds
  vaultd kv get -mount=secret -field=passcode creds
  vaultd kv put secret/app cert=@cert.pem password=-     # value from a file and from stdin`,
		Args: cobra.ArbitraryArgs,
		RunE: groupRunE,
	}
	a.addHTTPFlags(cmd)
	a.addFormatFlag(cmd)
	cmd.PersistentFlags().StringVar(&kf.mount, "mount", "", `the KV mount; the path argument is then relative to it`)
	meta := &cobra.Command{
		Use:     "metadata",
		Short:   "Interact with Vault's Key-Value storage metadata (KV v2)",
		Long:    `Reads, writes and deletes the metadata of KV v2 secrets: settings and version history.`,
		Example: "  vaultd kv metadata get -mount=secret creds\n  vaultd kv metadata put -mount=secret -max-versions=5 creds",
		Args:    cobra.ArbitraryArgs,
		RunE:    groupRunE,
	}
	meta.AddCommand(a.newKVMetaGetCmd(kf), a.newKVMetaPutCmd(kf), a.newKVMetaDeleteCmd(kf))
	cmd.AddCommand(a.newKVGetCmd(kf), a.newKVPutCmd(kf), a.newKVPatchCmd(kf), a.newKVDeleteCmd(kf),
		a.newKVVersionsCmd(kf, "undelete"), a.newKVVersionsCmd(kf, "destroy"), a.newKVListCmd(kf), meta)
	return cmd
}

// sanitizePath trims spaces and leading/trailing slashes.
func sanitizePath(s string) string {
	return strings.Trim(strings.TrimSpace(s), "/")
}

// kvPreflight asks which mount serves path and whether it is KV v2. A 404
// means an old server: KV v1.
func kvPreflight(ctx context.Context, c *vaultapi.Client, path string) (mount string, v2 bool, err error) {
	r := c.NewRequest(http.MethodGet, "/v1/sys/internal/ui/mounts/"+path)
	resp, err := c.RawRequestWithContext(ctx, r) //nolint:staticcheck // Vault's preflight request
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return "", false, nil
		}
		return "", false, err
	}
	s, err := vaultapi.ParseSecret(resp.Body)
	if err != nil {
		return "", false, err
	}
	if s == nil {
		return "", false, fmt.Errorf("nil response from pre-flight request")
	}
	mount, _ = s.Data["path"].(string)
	if opts, ok := s.Data["options"].(map[string]any); ok {
		v, _ := opts["version"].(string)
		v2 = v == "2"
	}
	return mount, v2, nil
}

// kvTarget builds the API client and resolves arg under the -mount flag
// with kvPath; it reports a failed resolution as an API error.
func (a *app) kvTarget(ctx context.Context, kf *kvFlags, arg, apiPrefix string) (c *vaultapi.Client, full string, v2 bool, err error) {
	c, err = a.client()
	if err != nil {
		return nil, "", false, err
	}
	full, _, v2, err = kvPath(ctx, c, kf.mount, arg, apiPrefix)
	if err != nil {
		return nil, "", false, apiError("%s", describe(err))
	}
	return c, full, v2, nil
}

// kvPath resolves the API path of a kv command: for v2 the apiPrefix
// ("data", "metadata", "delete", ...) goes after the mount.
func kvPath(ctx context.Context, c *vaultapi.Client, mountFlag, arg, apiPrefix string) (full, mount string, v2 bool, err error) {
	if mountFlag != "" {
		m := sanitizePath(mountFlag)
		mount, v2, err = kvPreflight(ctx, c, m)
		if err != nil {
			return "", "", false, err
		}
		if mount == "" {
			mount = m + "/"
		}
		rel := sanitizePath(arg)
		if v2 {
			return gopath.Join(mount, apiPrefix, rel), mount, true, nil
		}
		return gopath.Join(mount, rel), mount, false, nil
	}
	p := sanitizePath(arg)
	mount, v2, err = kvPreflight(ctx, c, p)
	if err != nil {
		return "", "", false, err
	}
	if !v2 {
		return p, mount, false, nil
	}
	if p == mount || p == strings.TrimSuffix(mount, "/") {
		return gopath.Join(mount, apiPrefix), mount, true, nil
	}
	return gopath.Join(mount, apiPrefix, strings.TrimPrefix(p, mount)), mount, true, nil
}

// outputPath prints Vault's "== Secret Path ==" block.
func (p *printer) outputPath(path, title string) {
	p.line(padEqualSigns(title, len(path)))
	p.line(path)
	p.line("")
}

func (a *app) newKVGetCmd(kf *kvFlags) *cobra.Command {
	var version int
	cmd := &cobra.Command{
		Use:   "get [-mount=MOUNT] KEY",
		Short: "Retrieve data from the KV store",
		Long: `Retrieves the value of a key from the KV store. With KV v2, -version reads an
older version. If no key exists with that name an error is returned (exit 2).`,
		Example: `  vaultd kv get -mount=secret foo
  vaultd kv get -mount=secret -version=1 foo
  vaultd kv get -format=json secret/foo`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			ctx := cmd.Context()
			c, full, v2, err := a.kvTarget(ctx, kf, args[0], "data")
			if err != nil {
				return err
			}
			var params map[string][]string
			if v2 && version > 0 {
				params = map[string][]string{"version": {strconv.Itoa(version)}}
			}
			s, err := c.Logical().ReadWithDataWithContext(ctx, full, params)
			if err != nil {
				return apiError("Error reading %s: %s", full, describe(err))
			}
			if s == nil {
				return apiError("No value found at %s", full)
			}
			if s.WrapInfo != nil { // -wrap-ttl: the response is the wrapping token
				return a.printSecret(s)
			}
			p := a.printer()
			if a.field != "" {
				if v2 {
					data, ok := s.Data["data"].(map[string]any)
					if !ok {
						return apiError("No data found at %s", full)
					}
					if a.field == "data" {
						if _, inner := data["data"]; !inner {
							return p.rawField(s, a.field)
						}
					}
					return p.rawField(data, a.field)
				}
				return p.rawField(s, a.field)
			}
			if p.format != "table" {
				return p.secret(s)
			}
			p.warnings(s)
			if v2 {
				p.outputPath(full, "Secret Path")
			}
			if md, ok := s.Data["metadata"].(map[string]any); ok {
				p.line(headerForMap("Metadata", md))
				p.mapTable(md)
				p.line("")
			}
			data := s.Data
			if v2 {
				data, _ = s.Data["data"].(map[string]any)
			}
			if data != nil {
				p.line(headerForMap("Data", data))
				p.mapTable(data)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&version, "version", 0, "the version to read (KV v2)")
	a.addFieldFlag(cmd)
	return cmd
}

// kvWriteOutput prints the answer of kv put/patch.
func (a *app) kvWriteOutput(s *vaultapi.Secret, full string) error {
	p := a.printer()
	if s == nil {
		if p.format == "table" {
			p.line("Success! Data written to: " + full)
		}
		return nil
	}
	if a.field != "" {
		return p.rawField(s, a.field)
	}
	if p.format == "table" {
		p.warnings(s)
		p.outputPath(full, "Secret Path")
		p.line(headerForMap("Metadata", s.Data))
		p.mapTable(s.Data)
		return nil
	}
	return p.secret(s)
}

func (a *app) newKVPutCmd(kf *kvFlags) *cobra.Command {
	var cas int
	cmd := &cobra.Command{
		Use:   "put [-mount=MOUNT] KEY [DATA K=V...]",
		Short: "Set or update data in the KV store",
		Long: `Writes the data to the given path in the KV store, replacing what was there
(KV v2 keeps the previous versions). Data is given as key=value pairs;
key=@file reads the value from a file and key=- from stdin; @file.json or
"-" alone read a JSON object. With KV v2, -cas=N writes only if the current
version is N (0: only if the key does not exist).`,
		Example: `  vaultd kv put -mount=secret foo bar=baz
  vaultd kv put -mount=secret -cas=1 foo bar=qux
  vaultd kv put -mount=secret tls cert=@cert.pem
  echo -n "s3cret" | vaultd kv put -mount=secret db password=-`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			if len(args) < 2 {
				return usageError(cmd, "Must supply data")
			}
			data, err := parseKV(a.stdin, args[1:])
			if err != nil {
				return usageError(cmd, "Failed to parse K=V data: %v", err)
			}
			ctx := cmd.Context()
			c, full, v2, err := a.kvTarget(ctx, kf, args[0], "data")
			if err != nil {
				return err
			}
			body := data
			if v2 {
				opts := map[string]any{}
				if cas > -1 {
					opts["cas"] = cas
				}
				body = map[string]any{"data": data, "options": opts}
			}
			s, err := c.Logical().WriteWithContext(ctx, full, body)
			if err != nil {
				return apiError("Error writing data to %s: %s", full, describe(err))
			}
			return a.kvWriteOutput(s, full)
		},
	}
	cmd.Flags().IntVar(&cas, "cas", -1, "check-and-set: write only if the current version is this (KV v2)")
	a.addFieldFlag(cmd)
	return cmd
}

func (a *app) newKVPatchCmd(kf *kvFlags) *cobra.Command {
	var cas int
	var method string
	var remove []string
	cmd := &cobra.Command{
		Use:   "patch [-mount=MOUNT] KEY [DATA K=V...]",
		Short: "Set or update data in the KV store without overwriting",
		Long: `Merges new data into an existing KV v2 secret: keys given are added or
replaced, others are kept, and -remove-data deletes keys. -method=patch (the
default) sends one JSON merge patch; -method=rw reads, merges and writes
back with check-and-set.`,
		Example: `  vaultd kv patch -mount=secret foo bar=qux
  vaultd kv patch -mount=secret -method=rw foo extra=1
  vaultd kv patch -mount=secret -remove-data=bar foo`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			if len(args) < 2 && len(remove) == 0 {
				return usageError(cmd, "Must supply data")
			}
			data, err := parseKV(a.stdin, args[1:])
			if err != nil {
				return usageError(cmd, "Failed to parse K=V data: %v", err)
			}
			for _, k := range remove {
				data[k] = nil
			}
			ctx := cmd.Context()
			c, full, v2, err := a.kvTarget(ctx, kf, args[0], "data")
			if err != nil {
				return err
			}
			if !v2 {
				return apiError("K/V engine mount must be version 2 for patch support")
			}
			var s *vaultapi.Secret
			switch method {
			case "", "patch":
				opts := map[string]any{}
				if cas > -1 {
					opts["cas"] = cas
				}
				s, err = c.Logical().JSONMergePatch(ctx, full, map[string]any{"data": data, "options": opts})
				if err != nil && method == "" && isStatus(err, http.StatusMethodNotAllowed) {
					s, err = a.kvReadThenWrite(ctx, c, full, data)
				}
			case "rw":
				s, err = a.kvReadThenWrite(ctx, c, full, data)
			default:
				return usageError(cmd, "Unsupported method provided to -method flag: %s", method)
			}
			if err != nil {
				return apiError("Error writing data to %s: %s", full, describe(err))
			}
			return a.kvWriteOutput(s, full)
		},
	}
	cmd.Flags().IntVar(&cas, "cas", -1, "check-and-set: patch only if the current version is this")
	cmd.Flags().StringVar(&method, "method", "", `"patch" (JSON merge patch, the default) or "rw" (read, then write)`)
	cmd.Flags().StringArrayVar(&remove, "remove-data", nil, "key to remove (repeatable)")
	a.addFieldFlag(cmd)
	return cmd
}

// kvReadThenWrite merges data into the current version and writes it back
// with cas set to that version.
func (a *app) kvReadThenWrite(ctx context.Context, c *vaultapi.Client, full string, data map[string]any) (*vaultapi.Secret, error) {
	s, err := c.Logical().ReadWithContext(ctx, full)
	if err != nil {
		return nil, err
	}
	if s == nil || s.Data == nil {
		return nil, fmt.Errorf("No value found at %s", full)
	}
	cur, _ := s.Data["data"].(map[string]any)
	if cur == nil {
		cur = map[string]any{}
	}
	md, _ := s.Data["metadata"].(map[string]any)
	for k, v := range data {
		if v == nil {
			delete(cur, k)
		} else {
			cur[k] = v
		}
	}
	body := map[string]any{"data": cur, "options": map[string]any{}}
	if v, ok := md["version"]; ok {
		body["options"] = map[string]any{"cas": v}
	}
	return c.Logical().WriteWithContext(ctx, full, body)
}

func (a *app) newKVDeleteCmd(kf *kvFlags) *cobra.Command {
	var versions []string
	cmd := &cobra.Command{
		Use:   "delete [-mount=MOUNT] KEY",
		Short: "Delete versions in the KV store",
		Long: `Deletes the data at the given path. With KV v2 this is a soft delete of the
latest version (or of -versions), which "kv undelete" reverts.`,
		Example: `  vaultd kv delete -mount=secret foo
  vaultd kv delete -mount=secret -versions=1,2 foo`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			vs := splitList(versions)
			prefix := "data"
			if len(vs) > 0 {
				prefix = "delete"
			}
			full, _, v2, err := kvPath(ctx, c, kf.mount, args[0], prefix)
			if err != nil {
				return apiError("%s", describe(err))
			}
			if v2 && len(vs) > 0 {
				_, err = c.Logical().WriteWithContext(ctx, full, map[string]any{"versions": vs})
			} else {
				_, err = c.Logical().DeleteWithContext(ctx, full)
			}
			if err != nil {
				return apiError("Error deleting %s: %s", full, describe(err))
			}
			fmt.Fprintf(a.stdout, "Success! Data deleted (if it existed) at: %s\n", full)
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&versions, "versions", nil, "comma-separated versions to delete (KV v2)")
	return cmd
}

// newKVVersionsCmd builds kv undelete and kv destroy.
func (a *app) newKVVersionsCmd(kf *kvFlags, op string) *cobra.Command {
	var versions []string
	short, long := "Undelete versions in the KV store", `Restores the given soft-deleted versions of a KV v2 secret.`
	if op == "destroy" {
		short, long = "Permanently remove one or more versions in the KV store", `Permanently removes the given versions of a KV v2 secret: their data cannot be recovered.`
	}
	cmd := &cobra.Command{
		Use:     op + " -versions=N[,N...] [-mount=MOUNT] KEY",
		Short:   short,
		Long:    long,
		Example: fmt.Sprintf("  vaultd kv %s -mount=secret -versions=3 foo", op),
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vs := splitList(versions)
			if len(vs) == 0 {
				return usageError(cmd, "No versions provided, use the \"-versions\" flag to specify the version to %s.", op)
			}
			ctx := cmd.Context()
			c, full, v2, err := a.kvTarget(ctx, kf, args[0], op)
			if err != nil {
				return err
			}
			if !v2 {
				return apiError("%s not supported on KV Version 1", op)
			}
			s, err := c.Logical().WriteWithContext(ctx, full, map[string]any{"versions": vs})
			if err != nil {
				return apiError("Error writing data to %s: %s", full, describe(err))
			}
			if s == nil {
				fmt.Fprintf(a.stdout, "Success! Data written to: %s\n", full)
				return nil
			}
			return a.printer().secret(s)
		},
	}
	cmd.Flags().StringSliceVar(&versions, "versions", nil, "comma-separated versions")
	return cmd
}

func (a *app) newKVListCmd(kf *kvFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "list [-mount=MOUNT] PATH",
		Short:   "List data or secrets",
		Long:    `Lists the keys under a path of the KV store. Keys ending in "/" are folders.`,
		Example: "  vaultd kv list -mount=secret my-app/\n  vaultd kv list secret/",
		Args:    rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			if len(args) == 0 && kf.mount == "" {
				return usageError(cmd, "Not enough arguments (expected 1, got 0)")
			}
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			ctx := cmd.Context()
			c, full, _, err := a.kvTarget(ctx, kf, arg, "metadata")
			if err != nil {
				return err
			}
			s, err := c.Logical().ListWithContext(ctx, full)
			if err != nil {
				return apiError("Error listing %s: %s", full, describe(err))
			}
			if s == nil || s.Data["keys"] == nil {
				return apiError("No value found at %s", full)
			}
			return a.printer().list(s)
		},
	}
}

func (a *app) newKVMetaGetCmd(kf *kvFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "get [-mount=MOUNT] KEY",
		Short:   "Retrieve key metadata from the KV store",
		Long:    `Prints the metadata of a KV v2 secret and the state of each of its versions.`,
		Example: "  vaultd kv metadata get -mount=secret foo",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkFormat(cmd); err != nil {
				return err
			}
			ctx := cmd.Context()
			c, full, v2, err := a.kvTarget(ctx, kf, args[0], "metadata")
			if err != nil {
				return err
			}
			if !v2 {
				return apiError("Metadata not supported on KV Version 1")
			}
			s, err := c.Logical().ReadWithContext(ctx, full)
			if err != nil {
				return apiError("Error reading %s: %s", full, describe(err))
			}
			if s == nil {
				return apiError("No value found at %s", full)
			}
			p := a.printer()
			if p.format != "table" {
				return p.secret(s)
			}
			p.outputPath(full, "Metadata Path")
			versions, _ := s.Data["versions"].(map[string]any)
			delete(s.Data, "versions")
			p.line(headerForMap("Metadata", s.Data))
			if err := p.secret(s); err != nil {
				return err
			}
			var keys []int
			for k := range versions {
				if n, err := strconv.Atoi(k); err == nil {
					keys = append(keys, n)
				}
			}
			sort.Ints(keys)
			for _, v := range keys {
				vm, _ := versions[strconv.Itoa(v)].(map[string]any)
				p.line("")
				p.line(headerForMap(fmt.Sprintf("Version %d", v), vm))
				p.mapTable(vm)
			}
			return nil
		},
	}
}

func (a *app) newKVMetaPutCmd(kf *kvFlags) *cobra.Command {
	var maxVersions int
	var casRequired bool
	var deleteAfter time.Duration
	var custom []string
	cmd := &cobra.Command{
		Use:   "put [-mount=MOUNT] KEY",
		Short: "Set or update key settings in the KV store",
		Long:  `Creates or updates the metadata of a KV v2 secret: how many versions to keep, whether writes need check-and-set, when versions are deleted, and custom metadata.`,
		Example: `  vaultd kv metadata put -mount=secret -max-versions=5 foo
  vaultd kv metadata put -mount=secret -custom-metadata=owner=ops foo`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			if hasFlag(cmd, "max-versions") {
				body["max_versions"] = maxVersions
			}
			if hasFlag(cmd, "cas-required") {
				body["cas_required"] = casRequired
			}
			if hasFlag(cmd, "delete-version-after") {
				body["delete_version_after"] = deleteAfter.String()
			}
			if len(custom) > 0 {
				cm, err := parseKV(a.stdin, custom)
				if err != nil {
					return usageError(cmd, "Failed to parse -custom-metadata: %v", err)
				}
				body["custom_metadata"] = cm
			}
			ctx := cmd.Context()
			c, full, v2, err := a.kvTarget(ctx, kf, args[0], "metadata")
			if err != nil {
				return err
			}
			if !v2 {
				return apiError("Metadata not supported on KV Version 1")
			}
			if _, err := c.Logical().WriteWithContext(ctx, full, body); err != nil {
				return apiError("Error writing data to %s: %s", full, describe(err))
			}
			fmt.Fprintf(a.stdout, "Success! Data written to: %s\n", full)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&maxVersions, "max-versions", 0, "number of versions to keep (0: the mount's setting)")
	f.BoolVar(&casRequired, "cas-required", false, "require check-and-set on every write")
	f.DurationVar(&deleteAfter, "delete-version-after", 0, "delete versions after this long (0: never)")
	f.StringArrayVar(&custom, "custom-metadata", nil, "key=value custom metadata (repeatable)")
	return cmd
}

func (a *app) newKVMetaDeleteCmd(kf *kvFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "delete [-mount=MOUNT] KEY",
		Short:   "Delete all versions and metadata for a key in the KV store",
		Long:    `Permanently deletes every version and the metadata of a KV v2 secret.`,
		Example: "  vaultd kv metadata delete -mount=secret foo",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, full, v2, err := a.kvTarget(ctx, kf, args[0], "metadata")
			if err != nil {
				return err
			}
			if !v2 {
				return apiError("Metadata not supported on KV Version 1")
			}
			if _, err := c.Logical().DeleteWithContext(ctx, full); err != nil {
				return apiError("Error deleting %s: %s", full, describe(err))
			}
			fmt.Fprintf(a.stdout, "Success! Data deleted (if it existed) at: %s\n", full)
			return nil
		},
	}
}
