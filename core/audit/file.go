package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config describes a device as sys/audit/:path enables it.
type Config struct {
	// Type is the device type; only "file" exists.
	Type string
	// Options are the device options, as given by the operator.
	Options map[string]string
	// Stdout receives the lines of a file device whose file_path is
	// "stdout" or "-"; nil means os.Stdout.
	Stdout io.Writer
}

// knownFileOptions are the options the file device accepts. Vault's
// log_raw (write secrets unhashed) and prefix (abused in CVE-2025-6000)
// are deliberately absent.
var knownFileOptions = map[string]bool{
	"file_path": true, "path": true, "mode": true, "format": true,
	"hmac_accessor": true, "elide_list_responses": true,
}

// Open validates cfg and opens the device it describes. The returned
// Options carry the formatting choices (hmac_accessor,
// elide_list_responses). Errors wrap ErrInvalidConfig, or the file error.
func Open(cfg Config) (Device, Options, error) {
	dc, err := parseConfig(cfg)
	if err != nil {
		return nil, dc.opts, err
	}
	dev, err := dc.open()
	return dev, dc.opts, err
}

// OpenRetrying is Open for devices that were enabled earlier (node
// setup): a configuration error is still an error, but a file that cannot
// be opened right now gives a device that fails every write and tries to
// open the file again at most once per retryInterval (and on Reopen), so
// auditing resumes by itself once the path is writable again.
func OpenRetrying(cfg Config) (Device, Options, error) {
	dc, err := parseConfig(cfg)
	if err != nil {
		return nil, dc.opts, err
	}
	dev, err := dc.open()
	if err != nil {
		return &retryDevice{dc: dc, cause: err, last: time.Now()}, dc.opts, nil
	}
	return dev, dc.opts, nil
}

// deviceConfig is a validated Config.
type deviceConfig struct {
	path   string
	mode   os.FileMode
	stdout io.Writer
	opts   Options
}

func parseConfig(cfg Config) (deviceConfig, error) {
	dc := deviceConfig{opts: Options{HMACAccessor: true}, stdout: cfg.Stdout}
	if cfg.Type != "file" {
		return dc, fmt.Errorf("%w: unknown audit device type %q (only \"file\" is supported)", ErrInvalidConfig, cfg.Type)
	}
	for k := range cfg.Options {
		if !knownFileOptions[k] {
			return dc, fmt.Errorf("%w: unsupported option %q", ErrInvalidConfig, k)
		}
	}
	if f := cfg.Options["format"]; f != "" && f != "json" {
		return dc, fmt.Errorf("%w: format %q is not supported (only \"json\")", ErrInvalidConfig, f)
	}
	var err error
	if dc.opts.HMACAccessor, err = boolOption(cfg.Options, "hmac_accessor", true); err != nil {
		return dc, err
	}
	if dc.opts.ElideListResponses, err = boolOption(cfg.Options, "elide_list_responses", false); err != nil {
		return dc, err
	}
	dc.path = cfg.Options["file_path"]
	if dc.path == "" {
		dc.path = cfg.Options["path"]
	}
	if dc.path == "" || strings.ContainsRune(dc.path, 0) {
		return dc, fmt.Errorf("%w: file_path is required", ErrInvalidConfig)
	}
	dc.mode = 0o600
	if m, ok := cfg.Options["mode"]; ok && m != "" {
		n, err := strconv.ParseUint(m, 8, 32)
		if err != nil || n > 0o777 {
			return dc, fmt.Errorf("%w: mode %q is not an octal file mode", ErrInvalidConfig, m)
		}
		dc.mode = os.FileMode(n)
	}
	if dc.mode&0o111 != 0 {
		return dc, fmt.Errorf("%w: mode %q would make the audit file executable", ErrInvalidConfig, cfg.Options["mode"])
	}
	return dc, nil
}

func (dc deviceConfig) open() (Device, error) {
	switch dc.path {
	case "stdout", "-":
		w := dc.stdout
		if w == nil {
			w = os.Stdout
		}
		return &writerDevice{w: w}, nil
	case "discard":
		return &writerDevice{w: io.Discard}, nil
	}
	f, err := OpenFile(dc.path, dc.mode)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func boolOption(o map[string]string, k string, def bool) (bool, error) {
	v, ok := o[k]
	if !ok || v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, fmt.Errorf("%w: option %s=%q is not a boolean", ErrInvalidConfig, k, v)
	}
	return b, nil
}

// File is the file device: it appends lines to a regular file.
type File struct {
	path string
	mode os.FileMode

	mu sync.Mutex // guards f; serialises writes so lines never interleave
	f  *os.File
}

// OpenFile opens (creating it if needed) the audit file at path for
// appending, with the given permissions (0 keeps an existing file's mode).
// It refuses anything that is not a regular file once symlinks are
// followed.
func OpenFile(path string, mode os.FileMode) (*File, error) {
	if path == "" || strings.ContainsRune(path, 0) {
		return nil, fmt.Errorf("%w: invalid file_path", ErrInvalidConfig)
	}
	fd := &File{path: path, mode: mode}
	if err := fd.open(); err != nil {
		return nil, err
	}
	return fd, nil
}

func (fd *File) open() error {
	if st, err := os.Stat(fd.path); err == nil && !st.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrInvalidConfig, fd.path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("audit: %w", err)
	}
	perm := fd.mode
	if perm == 0 {
		perm = 0o600
	}
	f, err := os.OpenFile(fd.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, perm)
	if err != nil {
		return fmt.Errorf("audit: opening audit file: %w", err)
	}
	if fd.mode != 0 {
		if err := f.Chmod(fd.mode); err != nil {
			f.Close()
			return fmt.Errorf("audit: chmod audit file: %w", err)
		}
	}
	fd.f = f
	return nil
}

// Write implements Device.
func (fd *File) Write(_ context.Context, line []byte) error {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if fd.f == nil {
		return ErrClosed
	}
	if _, err := fd.f.Write(line); err != nil {
		return fmt.Errorf("audit: writing %s: %w", fd.path, err)
	}
	return nil
}

// Reopen implements Device: it closes the file and opens path again, so a
// rotated file is replaced by a fresh one.
func (fd *File) Reopen() error {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if fd.f == nil {
		return ErrClosed
	}
	old := fd.f
	if err := fd.open(); err != nil {
		return err
	}
	return old.Close()
}

// Close implements Device.
func (fd *File) Close() error {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if fd.f == nil {
		return nil
	}
	err := fd.f.Close()
	fd.f = nil
	return err
}

// writerDevice writes to an io.Writer it does not own (stdout, discard).
type writerDevice struct {
	mu     sync.Mutex // serialises writes; guards closed
	w      io.Writer
	closed bool
}

func (d *writerDevice) Write(_ context.Context, line []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	if _, err := d.w.Write(line); err != nil {
		return fmt.Errorf("audit: writing: %w", err)
	}
	return nil
}

func (d *writerDevice) Reopen() error { return nil }

func (d *writerDevice) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	return nil
}

// Unavailable is a device that could not be opened: it stays registered
// (so the operator sees it and auditing cannot silently stop) and every
// write fails with cause. Reopen tries nothing and returns cause.
func Unavailable(cause error) Device { return unavailable{cause} }

type unavailable struct{ cause error }

func (u unavailable) Write(context.Context, []byte) error {
	return fmt.Errorf("audit: device unavailable: %w", u.cause)
}
func (u unavailable) Reopen() error { return u.cause }
func (u unavailable) Close() error  { return nil }

// retryInterval bounds how often a retryDevice tries to open its file.
const retryInterval = time.Second

// retryDevice is a device whose file could not be opened. Every write
// fails until an open succeeds; opens are tried at most once per
// retryInterval, and on Reopen.
type retryDevice struct {
	dc deviceConfig

	mu     sync.Mutex // guards everything below
	inner  Device
	cause  error
	last   time.Time
	closed bool
}

func (r *retryDevice) Write(ctx context.Context, line []byte) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	if r.inner == nil && time.Since(r.last) >= retryInterval {
		r.tryOpenLocked()
	}
	inner, cause := r.inner, r.cause
	r.mu.Unlock()
	if inner == nil {
		return fmt.Errorf("audit: device unavailable: %w", cause)
	}
	return inner.Write(ctx, line)
}

func (r *retryDevice) tryOpenLocked() {
	r.last = time.Now()
	dev, err := r.dc.open()
	if err != nil {
		r.cause = err
		return
	}
	r.inner, r.cause = dev, nil
}

func (r *retryDevice) Reopen() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if r.inner != nil {
		return r.inner.Reopen()
	}
	r.tryOpenLocked()
	return r.cause
}

func (r *retryDevice) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.inner != nil {
		return r.inner.Close()
	}
	return nil
}
