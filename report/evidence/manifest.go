package evidence

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
)

// ManifestFormat names the manifest's layout; it changes only with an
// incompatible change, so scripts can rely on the fields.
const ManifestFormat = "idsnap-evidence/1"

// Manifest is manifest.json: where an export came from, how it was made,
// and every file's size and SHA-256.
type Manifest struct {
	Format      string              `json:"format"`
	Export      string              `json:"export"` // access-review | changes
	Tool        ManifestTool        `json:"tool"`
	GeneratedAt time.Time           `json:"generated_at"`
	CommandLine []string            `json:"command_line"`
	Parameters  map[string]string   `json:"parameters"`
	Sources     []ManifestSource    `json:"sources"`
	Files       []ManifestFileEntry `json:"files"`
	// IPE is the information-produced-by-the-entity block (ipe.go).
	IPE *ManifestIPE `json:"ipe,omitempty"`
	// Signature names the key that signed this manifest into SignatureFile;
	// absent when the export was not signed.
	Signature *ManifestSignature `json:"signature,omitempty"`
}

// ManifestTool identifies the build that made the export.
type ManifestTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

// ManifestSource is one source's provenance: its tenant and the snapshots
// the export read.
type ManifestSource struct {
	Name      string             `json:"name"`
	Provider  string             `json:"provider"`
	BaseURL   string             `json:"base_url"`
	Org       string             `json:"org"`
	Snapshots []ManifestSnapshot `json:"snapshots"`
}

// ManifestSnapshot names one snapshot and its digests, so verify --db can
// prove the export came from the stored history.
type ManifestSnapshot struct {
	ID          int64     `json:"id"`
	TakenAt     time.Time `json:"taken_at"`
	Digest      string    `json:"digest"`
	ChainDigest string    `json:"chain_digest"`
	// RecordsPerKind and Pull feed the IPE block, which carries them.
	RecordsPerKind map[string]int64 `json:"-"`
	Pull           *idsnap.PullInfo `json:"-"`
	// Tenant is what the snapshot was pulled from: a source's snapshots
	// can be of different tenants when its configuration was pointed
	// elsewhere (verify reports it). Absent in older manifests.
	Tenant *idsnap.Tenant `json:"tenant,omitempty"`
}

// ManifestFileEntry is one file of the export.
type ManifestFileEntry struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	Rows   *int   `json:"rows,omitempty"` // data rows, header excluded
}

// ManifestSignature says the manifest is signed and by which key.
type ManifestSignature struct {
	File      string `json:"file"`
	Algorithm string `json:"algorithm"`
	KeyID     string `json:"key_id"`
}

// manifestSources turns snapshots into the manifest's per-source list,
// sorted by source name, snapshots by id.
func manifestSources(snaps []idsnap.Snapshot) []ManifestSource {
	by := map[string]*ManifestSource{}
	for _, s := range snaps {
		m := by[s.Source]
		if m == nil {
			m = &ManifestSource{Name: s.Source, Provider: s.Provider, BaseURL: s.BaseURL, Org: s.Org}
			by[s.Source] = m
		}
		if !slices.ContainsFunc(m.Snapshots, func(x ManifestSnapshot) bool { return x.ID == s.ID }) {
			t := s.Tenant()
			m.Snapshots = append(m.Snapshots, ManifestSnapshot{ID: s.ID, TakenAt: s.TakenAt.UTC(), Digest: s.Digest, ChainDigest: s.ChainDigest,
				RecordsPerKind: evSnapshotCounts(s), Pull: s.Pull, Tenant: &t})
		}
	}
	out := make([]ManifestSource, 0, len(by))
	for _, m := range by {
		slices.SortFunc(m.Snapshots, func(a, b ManifestSnapshot) int { return cmp.Compare(a.ID, b.ID) })
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b ManifestSource) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// RedactArgs returns args with the values of flags whose names look secret
// (containing "secret" or "token", or named --pat) replaced. Secrets never
// belong on a command line, but a manifest must not repeat one that was.
func RedactArgs(args []string) []string {
	out := slices.Clone(args)
	for i := 0; i < len(out); i++ {
		a := out[i]
		if !strings.HasPrefix(a, "-") || a == "--" {
			if a == "--" {
				break
			}
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !secretFlag(name) {
			continue
		}
		if hasValue {
			out[i] = a[:strings.Index(a, "=")+1] + "[redacted]"
		} else if i+1 < len(out) {
			out[i+1] = "[redacted]"
			i++
		}
	}
	return out
}

func secretFlag(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "secret") || strings.Contains(n, "token") || n == "pat" || strings.HasSuffix(n, "-pat") ||
		strings.Contains(n, "password")
}

// finish writes manifest.json, signs it when asked, writes SHA256SUMS and
// moves the folder to out.
func (f *folder) finish(out, export string, meta Meta, sources []ManifestSource) (*Manifest, error) {
	m := &Manifest{
		Format:      ManifestFormat,
		Export:      export,
		Tool:        ManifestTool{Name: "idsnap", Version: idsnap.Version, Commit: idsnap.Commit},
		GeneratedAt: meta.GeneratedAt.UTC().Truncate(time.Second),
		CommandLine: RedactArgs(meta.Args),
		Parameters:  meta.Parameters,
		Sources:     sources,
		Files:       f.files,
	}
	if m.CommandLine == nil {
		m.CommandLine = []string{}
	}
	if m.Sources == nil {
		m.Sources = []ManifestSource{}
	}
	if m.Parameters == nil {
		m.Parameters = map[string]string{}
	}
	m.IPE = evIPE(meta.Filter, m.Sources)
	if err := f.add(ReadmeFile, func(w io.Writer) (int, error) { return -1, evWriteReadme(w, m) }); err != nil {
		return nil, err
	}
	m.Files = f.files
	if meta.Signer != nil {
		m.Signature = &ManifestSignature{File: SignatureFile, Algorithm: "minisign Ed25519 BLAKE2b-512 prehashed", KeyID: meta.Signer.ID.String()}
	}
	var buf bytes.Buffer
	if err := report.RenderJSON(&buf, m); err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	sums := slices.Clone(f.files)
	e, err := f.write(ManifestFile, func(w io.Writer) (int, error) { _, err := w.Write(buf.Bytes()); return -1, err })
	if err != nil {
		return nil, err
	}
	sums = append(sums, e)
	if meta.Signer != nil {
		sig := meta.Signer.Sign(buf.Bytes(), ManifestFile, meta.GeneratedAt)
		e, err := f.write(SignatureFile, func(w io.Writer) (int, error) { _, err := w.Write(sig); return -1, err })
		if err != nil {
			return nil, err
		}
		sums = append(sums, e)
	}
	if _, err := f.write(SumsFile, func(w io.Writer) (int, error) { return -1, writeSums(w, sums) }); err != nil {
		return nil, err
	}
	if err := f.commit(out); err != nil {
		return nil, err
	}
	return m, nil
}

// writeSums writes "<hex>  <name>\n" lines, sorted by name: the format
// `sha256sum -c` reads (two spaces: text mode, which is binary on POSIX).
func writeSums(w io.Writer, files []ManifestFileEntry) error {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b ManifestFileEntry) int { return strings.Compare(a.Name, b.Name) })
	for _, e := range files {
		if _, err := fmt.Fprintf(w, "%s  %s\n", e.SHA256, e.Name); err != nil {
			return err
		}
	}
	return nil
}

// decodeManifest reads manifest.json strictly: unknown fields and a
// foreign format are refused.
func decodeManifest(b []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("format %q is not %s", m.Format, ManifestFormat)
	}
	return &m, nil
}
