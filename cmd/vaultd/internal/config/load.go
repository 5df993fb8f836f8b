package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// LoadFile reads and parses one configuration file (HCL or JSON, whatever
// its name). Errors from the file system are wrapped, so errors.Is(err,
// fs.ErrNotExist) works.
func LoadFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return Parse(data, path)
}

// LoadDir reads every *.hcl and *.json file directly in dir (not in
// subdirectories; hidden files are skipped; symbolic links are followed, as
// Kubernetes ConfigMap mounts need) in name order and merges them with
// Merge. Only one of the files may define storage.
func LoadDir(dir string) (*Config, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var m merger
	for _, e := range entries { // os.ReadDir sorts by name
		name := e.Name()
		if strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".hcl") || strings.HasSuffix(name, ".json")) {
			continue
		}
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		c, err := LoadFile(path)
		if err != nil {
			return nil, err
		}
		if err := m.add(c, path); err != nil {
			return nil, err
		}
	}
	if m.cfg == nil {
		return nil, fmt.Errorf("config: %s: %w", dir, ErrNoConfigFiles)
	}
	return m.cfg, nil
}

// Load loads a configuration file, or a directory with LoadDir.
func Load(path string) (*Config, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if fi.IsDir() {
		return LoadDir(path)
	}
	return LoadFile(path)
}

// Resolve builds a server's configuration the way `vault server -config`
// does: each path in order (a file or a directory), then the document in
// VAULTD_LOCAL_CONFIG / VAULT_LOCAL_CONFIG when set, merged; only one of
// them may define storage. A directory without config files is accepted
// when the environment holds the document (the container image's empty
// /vault/config). Then ApplyEnv, ApplyDefaults and Validate. With no paths
// the environment document is required (ErrNoEnvConfig). A nil getenv
// means os.Getenv.
func Resolve(paths []string, getenv func(string) string) (*Config, error) {
	env, err := FromEnv(getenv)
	if err != nil && !errors.Is(err, ErrNoEnvConfig) {
		return nil, err
	}
	var m merger
	for _, p := range paths {
		c, err := Load(p)
		switch {
		case errors.Is(err, ErrNoConfigFiles) && env != nil:
			continue
		case err != nil:
			return nil, err
		}
		if err := m.add(c, p); err != nil {
			return nil, err
		}
	}
	if env != nil {
		if err := m.add(env, "the environment"); err != nil {
			return nil, err
		}
	}
	if m.cfg == nil {
		return nil, fmt.Errorf("config: no -config path given and %w", ErrNoEnvConfig)
	}
	c := m.cfg
	c.ApplyEnv(getenv)
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// merger merges configurations from several sources, refusing a second
// storage stanza.
type merger struct {
	cfg         *Config
	storageFrom string
}

func (m *merger) add(c *Config, source string) error {
	if c.Storage != nil {
		if m.storageFrom != "" {
			return &Error{File: c.Storage.at.file, Line: c.Storage.at.line, Kind: ErrInvalid,
				Msg: fmt.Sprintf("storage is already defined in %s; define it once", m.storageFrom)}
		}
		m.storageFrom = source
	}
	m.cfg = m.cfg.Merge(c)
	return nil
}
