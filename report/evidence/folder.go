package evidence

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
)

// An evidence folder is what an auditor tests for completeness and
// accuracy. It holds the data files of one export, manifest.json (where the
// data came from, with what parameters, how many rows, each file's size and
// SHA-256), manifest.json.minisig when signed, and SHA256SUMS for
// `sha256sum -c`. SHA256SUMS lists every other file, the signature included,
// so a changed byte anywhere is caught even by someone without the public
// key; the signature over manifest.json is what proves nobody rewrote the
// lot consistently.
//
// The folder is written under a temporary name beside --out, every file
// fsynced, then renamed into place: evidence appears whole or not at all,
// and an existing non-empty folder is never overwritten.

// Names of the files every evidence folder holds.
const (
	ManifestFile  = "manifest.json"
	SignatureFile = "manifest.json.minisig"
	SumsFile      = "SHA256SUMS"
)

// SourceInfo says where a source's data came from, for the manifest.
type SourceInfo struct {
	Name     string
	Provider string
	BaseURL  string
	Org      string
}

// Meta is what every export records about how it was made.
type Meta struct {
	// GeneratedAt is the export's clock reading (injected in tests).
	GeneratedAt time.Time
	// Args is the command line; values of secret-looking flags are redacted
	// before it is written.
	Args []string
	// Parameters are the export's parameters as given and as resolved.
	Parameters map[string]string
	// Signer, when set, signs manifest.json.
	Signer *SecretKey
	// Filter says exactly which rows were left out and why; empty means
	// none (NoFilter).
	Filter string
}

// folder collects the files of an export as they are written.
type folder struct {
	tmp   string // the temporary folder being filled
	files []ManifestFileEntry
}

// create checks that out does not exist or is an empty directory and
// makes a 0700 temporary folder beside it.
func create(out string) (*folder, error) {
	if err := checkEmpty(out); err != nil {
		return nil, err
	}
	parent := filepath.Dir(filepath.Clean(out))
	tmp, err := os.MkdirTemp(parent, ".idsnap-export-*")
	if err != nil {
		return nil, fmt.Errorf("create evidence folder: %w", err)
	}
	if err := os.Chmod(tmp, 0o700); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("create evidence folder: %w", err)
	}
	return &folder{tmp: tmp}, nil
}

func checkEmpty(out string) error {
	entries, err := os.ReadDir(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("evidence folder %s: %w", out, err)
	case len(entries) > 0:
		return fmt.Errorf("evidence folder %s is not empty: evidence is never overwritten; choose a new --out", out)
	}
	return nil
}

// abort removes the temporary folder after a failure.
func (f *folder) abort() { os.RemoveAll(f.tmp) }

// commit moves the finished folder to out, never over a non-empty folder.
func (f *folder) commit(out string) error {
	d, err := os.Open(f.tmp)
	if err == nil {
		err = d.Sync()
		d.Close()
	}
	if err != nil {
		return fmt.Errorf("sync evidence folder: %w", err)
	}
	if err := checkEmpty(out); err != nil {
		return err
	}
	// os.Rename refuses to replace a directory; rmdir(2) removes only an
	// empty one, so a folder filled meanwhile still survives.
	if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("evidence folder %s is not empty: evidence is never overwritten; choose a new --out", out)
	}
	if err := os.Rename(f.tmp, out); err != nil {
		return fmt.Errorf("move evidence folder into place: %w", err)
	}
	if d, err := os.Open(filepath.Dir(filepath.Clean(out))); err == nil {
		d.Sync() // best effort: some file systems refuse to sync a directory
		d.Close()
	}
	return nil
}

// write creates name (0600), lets fill write it, fsyncs it and records its
// size and SHA-256. rows is the count of data rows, -1 when not tabular.
func (f *folder) write(name string, fill func(w io.Writer) (rows int, err error)) (ManifestFileEntry, error) {
	fh, err := os.OpenFile(filepath.Join(f.tmp, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return ManifestFileEntry{}, fmt.Errorf("create %s: %w", name, err)
	}
	h := sha256.New()
	cw := &counter{w: io.MultiWriter(fh, h)}
	bw := bufio.NewWriterSize(cw, 64<<10)
	rows, err := fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ManifestFileEntry{}, fmt.Errorf("write %s: %w", name, err)
	}
	e := ManifestFileEntry{Name: name, Bytes: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}
	if rows >= 0 {
		e.Rows = &rows
	}
	return e, nil
}

// add writes a data file and lists it in the manifest.
func (f *folder) add(name string, fill func(w io.Writer) (rows int, err error)) error {
	e, err := f.write(name, fill)
	if err != nil {
		return err
	}
	f.files = append(f.files, e)
	return nil
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// fileSHA256 hashes a file on disk.
func fileSHA256(path string) (sum string, size int64, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer fh.Close()
	var h hash.Hash = sha256.New()
	size, err = io.Copy(h, fh)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// csvFile writes evidence CSV: UTF-8, LF line endings (encoding/csv's
// default), a fixed header, every cell made safe by cell.
type csvFile struct {
	w    *csv.Writer
	rows int
}

func newCSV(w io.Writer, header []string) (*csvFile, error) {
	c := &csvFile{w: csv.NewWriter(w)}
	if err := c.w.Write(header); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *csvFile) row(cells []string) error {
	safe := make([]string, len(cells))
	for i, s := range cells {
		safe[i] = cell(s)
	}
	c.rows++
	return c.w.Write(safe)
}

func (c *csvFile) close() (int, error) {
	c.w.Flush()
	return c.rows, c.w.Error()
}

// cell neutralises a value from an identity provider for a spreadsheet
// and a terminal: formula prefixes (report.SafeCSV), then control, bidi and
// invisible characters written as \xNN or \uNNNN escapes, so a name cannot
// hide text, move the cursor or forge a line. Nothing is cut: evidence keeps
// the whole value.
func cell(s string) string {
	// An escape may expose a formula prefix: neutralise before and after.
	return report.SafeCSV(report.Escape(report.SafeCSV(s)))
}

// stamp formats a time for evidence: UTC, RFC 3339; empty for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// tenant names a source's tenant: its base URL and org, if any.
func tenant(s idsnap.Snapshot) string {
	switch {
	case s.Org == "":
		return s.BaseURL
	case s.BaseURL == "":
		return s.Org
	}
	return s.BaseURL + " / " + s.Org
}

// truncate cuts s to at most n runes (XLSX cells hold 32,767 characters).
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
