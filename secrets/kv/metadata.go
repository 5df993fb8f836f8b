package kv

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/vaultd/vaultd/endpoint"
	"github.com/vaultd/vaultd/secrets"
	"github.com/vaultd/vaultd/storage"
)

// Vault's limits on custom_metadata.
const (
	maxCustomMetadataKeys        = 64
	maxCustomMetadataKeyLength   = 128
	maxCustomMetadataValueLength = 512
	customMetadataErrPrefix      = "custom_metadata validation failed"
	msgCASRequiredByMount        = `"cas_required" set to false, but is mandated by backend config. This value will be ignored.`
)

// metadataRead serves GET metadata/:path.
func (b *v2) metadataRead(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	present, err := checkLookupKey(key)
	if err != nil {
		return nil, err
	}
	if !present {
		return nil, notFound()
	}
	l := b.locks.forKey(key)
	l.RLock()
	defer l.RUnlock()

	meta, err := loadMeta(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		return nil, notFound()
	}
	versions := make(map[string]any, len(meta.Versions))
	for n, v := range meta.Versions {
		versions[strconv.FormatUint(n, 10)] = map[string]any{
			"created_time":  fmtTime(v.CreatedTime),
			"deletion_time": fmtTime(v.DeletionTime),
			"destroyed":     v.Destroyed,
		}
	}
	return &secrets.Response{Data: map[string]any{
		"versions":             versions,
		"current_version":      meta.CurrentVersion,
		"oldest_version":       meta.OldestVersion,
		"created_time":         fmtTime(meta.CreatedTime),
		"updated_time":         fmtTime(meta.UpdatedTime),
		"max_versions":         meta.MaxVersions,
		"cas_required":         meta.CASRequired,
		"delete_version_after": meta.DeleteVersionAfter.String(),
		"custom_metadata":      meta.customMetadataView(),
	}}, nil
}

// metadataList serves LIST metadata/[folder/]: the folder's keys, with
// sub-folders ending in "/". An empty or absent folder is a 404.
func (b *v2) metadataList(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	if key != "" && !strings.HasSuffix(key, "/") {
		key += "/"
	}
	if err := storage.ValidatePrefix(key); err != nil {
		return nil, invalidf("invalid path %q", key)
	}
	keys, err := req.Storage.List(ctx, metadataPrefix+key)
	if err != nil {
		return nil, fmt.Errorf("kv: list: %w", err)
	}
	if len(keys) == 0 {
		return nil, notFound()
	}
	return &secrets.Response{Data: map[string]any{"keys": keys}}, nil
}

// metadataFields are the settable fields of metadata/:path. A field sent
// as null is set (to its zero value: reset).
type metadataFields struct {
	maxVersions         uint32
	maxSet              bool
	casRequired, casSet bool
	deleteAfter         time.Duration
	deleteSet           bool
	// customSet: custom_metadata was sent; customRaw is it as sent (nil
	// when null, which clears it), customValues its non-null values as
	// strings.
	customSet    bool
	customRaw    map[string]any
	customValues map[string]string
}

func (f *metadataFields) any() bool { return f.maxSet || f.casSet || f.deleteSet || f.customSet }

// parseMetadataFields reads and validates the body of a metadata write or
// patch. For a patch, null custom_metadata values mean "remove this key"
// and are left out of validation.
func parseMetadataFields(d *endpoint.Data, patch bool) (*metadataFields, error) {
	var f metadataFields
	if d.IsNull("max_versions") {
		f.maxSet = true
	} else if d.Has("max_versions") {
		n := d.Int64("max_versions")
		if n < 0 || n > math.MaxUint32 {
			return nil, invalidf("max_versions must be between 0 and %d", uint32(math.MaxUint32))
		}
		f.maxVersions, f.maxSet = uint32(n), true
	}
	if d.IsNull("cas_required") {
		f.casSet = true
	} else {
		f.casRequired, f.casSet = d.Bool("cas_required"), d.Has("cas_required")
	}
	if d.IsNull("delete_version_after") {
		f.deleteSet = true
	} else if d.Has("delete_version_after") {
		after := d.Duration("delete_version_after")
		if after < 0 {
			return nil, invalidf("delete_version_after cannot be negative")
		}
		f.deleteAfter, f.deleteSet = after, true
	}
	if d.IsNull("custom_metadata") {
		f.customSet = true
		return &f, nil
	}
	if cm := d.Map("custom_metadata"); d.Has("custom_metadata") {
		f.customSet, f.customRaw = true, cm
		values := make(map[string]string, len(cm))
		for k, v := range cm {
			if patch && v == nil {
				continue
			}
			s, err := stringify(v)
			if err != nil {
				return nil, invalidf("%s: %s", customMetadataErrPrefix, err)
			}
			values[k] = s
		}
		if err := validateCustomMetadata(values); err != nil {
			return nil, err
		}
		f.customValues = values
	}
	return &f, nil
}

// validateCustomMetadata applies Vault's limits and reports every problem
// at once, in Vault's (multierror) format.
func validateCustomMetadata(cm map[string]string) error {
	if n := len(cm); n > maxCustomMetadataKeys {
		return invalidf("%s", multiError([]string{fmt.Sprintf(
			"%s: payload must contain at most %d keys, provided %d",
			customMetadataErrPrefix, maxCustomMetadataKeys, n)}))
	}
	var errs []string
	for _, k := range slices.Sorted(maps.Keys(cm)) {
		v := cm[k]
		if l := len(k); l == 0 || l > maxCustomMetadataKeyLength {
			errs = append(errs, fmt.Sprintf("%s: length of key %q is %d but must be 0 < len(key) <= %d",
				customMetadataErrPrefix, k, l, maxCustomMetadataKeyLength))
		}
		if l := len(v); l == 0 || l > maxCustomMetadataValueLength {
			errs = append(errs, fmt.Sprintf("%s: length of value for key %q is %d but must be 0 < len(value) <= %d",
				customMetadataErrPrefix, k, l, maxCustomMetadataValueLength))
		}
		if !printable(k) {
			errs = append(errs, fmt.Sprintf("%s: key %q (%s) contains unprintable characters",
				customMetadataErrPrefix, k, strings.Map(dropUnprintable, k)))
		}
		if !printable(v) {
			errs = append(errs, fmt.Sprintf("%s: value for key %q contains unprintable characters",
				customMetadataErrPrefix, k))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return invalidf("%s", multiError(errs))
}

// multiError formats errors as hashicorp/go-multierror does, which is the
// text Vault answers.
func multiError(errs []string) string {
	if len(errs) == 1 {
		return fmt.Sprintf("1 error occurred:\n\t* %s\n\n", errs[0])
	}
	points := make([]string, len(errs))
	for i, e := range errs {
		points[i] = "* " + e
	}
	return fmt.Sprintf("%d errors occurred:\n\t%s\n\n", len(errs), strings.Join(points, "\n\t"))
}

func printable(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

func dropUnprintable(r rune) rune {
	if unicode.IsPrint(r) {
		return r
	}
	return -1
}

// casWarning is Vault's warning when a key sets cas_required=false on a
// mount that requires cas.
func casWarning(ctx context.Context, s storage.Backend, f *metadataFields) ([]string, error) {
	if !f.casSet || f.casRequired {
		return nil, nil
	}
	c, err := loadConfig(ctx, s)
	if err != nil {
		return nil, err
	}
	if c.CASRequired {
		return []string{msgCASRequiredByMount}, nil
	}
	return nil, nil
}

// metadataWrite serves POST/PUT metadata/:path {max_versions, cas_required,
// delete_version_after, custom_metadata}; it creates the key's metadata
// when absent. A body with none of the fields changes nothing.
func (b *v2) metadataWrite(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	if err := checkWriteKey(key); err != nil {
		return nil, err
	}
	f, err := parseMetadataFields(d, false)
	if err != nil {
		return nil, err
	}
	if !f.any() {
		return noContent(), nil
	}
	warnings, err := casWarning(ctx, req.Storage, f)
	if err != nil {
		return nil, err
	}

	l := b.locks.forKey(key)
	l.Lock()
	defer l.Unlock()

	meta, err := loadMeta(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		now := b.now().UTC()
		meta = &keyMetadata{Versions: map[uint64]*versionMeta{}, CreatedTime: now, UpdatedTime: now}
	}
	if f.maxSet {
		meta.MaxVersions = f.maxVersions
	}
	if f.casSet {
		meta.CASRequired = f.casRequired
	}
	if f.deleteSet {
		meta.DeleteVersionAfter = f.deleteAfter
	}
	if f.customSet {
		meta.CustomMetadata = nilIfEmpty(f.customValues)
	}
	if err := writeMeta(ctx, req.Storage, key, meta); err != nil {
		return nil, err
	}
	return &secrets.Response{Warnings: warnings}, nil
}

// metadataPatch serves PATCH metadata/:path: the given fields replace the
// stored ones, and custom_metadata is merge-patched (null removes a key).
// The metadata must exist.
func (b *v2) metadataPatch(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	if err := checkWriteKey(key); err != nil {
		return nil, err
	}
	f, err := parseMetadataFields(d, true)
	if err != nil {
		return nil, err
	}
	warnings, err := casWarning(ctx, req.Storage, f)
	if err != nil {
		return nil, err
	}

	l := b.locks.forKey(key)
	l.Lock()
	defer l.Unlock()

	meta, err := loadMeta(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		return nil, notFound()
	}
	if f.maxSet {
		meta.MaxVersions = f.maxVersions
	}
	if f.casSet {
		meta.CASRequired = f.casRequired
	}
	if f.deleteSet {
		meta.DeleteVersionAfter = f.deleteAfter
	}
	if f.customSet {
		cm := maps.Clone(meta.CustomMetadata)
		if cm == nil || f.customRaw == nil { // custom_metadata: null clears it
			cm = map[string]string{}
		}
		for k, v := range f.customRaw {
			if v == nil {
				delete(cm, k)
				continue
			}
			cm[k] = f.customValues[k]
		}
		if len(cm) > maxCustomMetadataKeys {
			return nil, validateCustomMetadata(cm)
		}
		meta.CustomMetadata = nilIfEmpty(cm)
	}
	if err := writeMeta(ctx, req.Storage, key, meta); err != nil {
		return nil, err
	}
	return &secrets.Response{Warnings: warnings}, nil
}

// metadataDelete serves DELETE metadata/:path: every version's data and
// the metadata go, in one Txn. Deleting an absent key is a no-op.
func (b *v2) metadataDelete(ctx context.Context, req *secrets.Request, d *endpoint.Data) (*secrets.Response, error) {
	key := d.String("path")
	present, err := checkLookupKey(key)
	if err != nil {
		return nil, err
	}
	if !present {
		return noContent(), nil
	}
	l := b.locks.forKey(key)
	l.Lock()
	defer l.Unlock()

	meta, err := loadMeta(ctx, req.Storage, key)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		return noContent(), nil
	}
	ops := make([]storage.Op, 0, len(meta.Versions)+2)
	ops = append(ops, metaCheck(key, meta))
	for _, n := range slices.Sorted(maps.Keys(meta.Versions)) {
		ops = append(ops, storage.Op{Kind: storage.OpDelete, Key: versionKey(key, n)})
	}
	ops = append(ops, storage.Op{Kind: storage.OpDelete, Key: metadataKey(key)})
	if err := txn(ctx, req.Storage, ops); err != nil {
		return nil, err
	}
	return noContent(), nil
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// stringify is mapstructure's weak decode of a scalar into a string, as
// Vault applies it to custom_metadata values (its error text too).
func stringify(v any) (string, error) {
	s, ok := endpoint.Stringify(v)
	if !ok {
		return "", fmt.Errorf("'' expected type 'string', got unconvertible type '%T'", v)
	}
	return s, nil
}
