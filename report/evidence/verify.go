package evidence

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
)

// VerifyOptions configures Verify.
type VerifyOptions struct {
	// PublicKey, when set, makes a valid signature by that key required.
	PublicKey *PublicKey
	// Snapshot, when set, looks a snapshot up in the database (store's
	// DB.Snapshot), to prove the manifest names stored history.
	Snapshot func(ctx context.Context, id int64) (idsnap.Snapshot, error)
	// Pruned, when set, says whether a snapshot Snapshot did not find was
	// removed by a prune (store's DB.Pruned): such a snapshot is reported
	// in VerifyResult.Pruned, not as a failure.
	Pruned func(ctx context.Context, source string, id int64) (idsnap.Anchor, bool, error)
}

// Signature states reported by Verify.
const (
	SignatureVerified   = "verified"
	SignatureNotChecked = "present, not checked (no public key given)"
	SignatureNone       = "none"
)

// VerifyResult summarises a folder that passed.
type VerifyResult struct {
	Manifest  *Manifest
	Files     int    // files whose digests were checked, manifest.json included
	Signature string // SignatureVerified, SignatureNotChecked or SignatureNone
	// KeyID is the key that signed, when the signature was verified.
	KeyID string
	// Snapshots is the number of snapshots checked against the database
	// (0 without VerifyOptions.Snapshot).
	Snapshots int
	// MixedTenants names, one line each, the sources whose snapshots in
	// the folder are of different tenants: the folder passes, but its
	// reader must know that one source name covers two tenants.
	MixedTenants []string
	// Pruned lists the snapshots the manifest names that a prune removed
	// from the database.
	Pruned []PrunedSnapshot
}

// maxManifest bounds what verify reads into memory from an untrusted folder.
const maxManifest = 64 << 20

var sumsLine = regexp.MustCompile(`^([0-9a-f]{64})  ([^/\\\x00-\x1f]+)$`)

// Verify checks an evidence folder: every file listed in
// SHA256SUMS and manifest.json with matching size and SHA-256, no file
// missing and none extra, the signature when a key is given, and with a
// database the snapshots and chain digests the manifest names. The first
// problem is returned as one line naming the file.
func Verify(ctx context.Context, dir string, opts VerifyOptions) (*VerifyResult, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read evidence folder: %w", err)
	}
	present := map[string]bool{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("%s: extra entry, not a regular file: evidence folders hold files only", e.Name())
		}
		present[e.Name()] = true
	}
	for _, name := range []string{SumsFile, ManifestFile} {
		if !present[name] {
			return nil, fmt.Errorf("%s: missing", name)
		}
	}
	sums, err := readSums(filepath.Join(dir, SumsFile))
	if err != nil {
		return nil, err
	}

	// manifest.json first: everything else is checked against it.
	mb, err := readLimited(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	want, ok := sums[ManifestFile]
	if !ok {
		return nil, fmt.Errorf("%s: no entry for %s", SumsFile, ManifestFile)
	}
	if got := sHA256Hex(mb); got != want {
		return nil, fmt.Errorf("%s: SHA-256 does not match its entry in %s: one of them was changed", ManifestFile, SumsFile)
	}
	m, err := decodeManifest(mb)
	if err != nil {
		return nil, fmt.Errorf("%s: unreadable: %w", ManifestFile, err)
	}

	// The set of files the folder must hold, exactly.
	expected := map[string]*ManifestFileEntry{ManifestFile: nil, SumsFile: nil}
	for i := range m.Files {
		e := &m.Files[i]
		if _, dup := expected[e.Name]; dup || !sumsLine.MatchString(strings.Repeat("0", 64)+"  "+e.Name) || e.Name == SignatureFile {
			return nil, fmt.Errorf("%s: lists %q twice or under a reserved or unsafe name", ManifestFile, e.Name)
		}
		expected[e.Name] = e
	}
	if m.Signature != nil {
		if m.Signature.File != SignatureFile {
			return nil, fmt.Errorf("%s: signature file %q is not %s", ManifestFile, m.Signature.File, SignatureFile)
		}
		expected[SignatureFile] = nil
	}
	for _, name := range slices.Sorted(maps.Keys(present)) {
		if _, ok := expected[name]; !ok {
			return nil, fmt.Errorf("%s: extra file, not listed in %s", name, ManifestFile)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(expected)) {
		if !present[name] {
			return nil, fmt.Errorf("%s: missing", name)
		}
		if _, listed := sums[name]; !listed && name != SumsFile {
			return nil, fmt.Errorf("%s: no entry for %s", SumsFile, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(sums)) {
		if _, ok := expected[name]; !ok || name == SumsFile {
			return nil, fmt.Errorf("%s: lists %s, which the manifest does not", SumsFile, name)
		}
	}

	res := &VerifyResult{Manifest: m, Files: 1, Signature: SignatureNone}
	for _, name := range slices.Sorted(maps.Keys(expected)) {
		e := expected[name]
		if name == ManifestFile || name == SumsFile {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		got, size, err := fileSHA256(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		switch {
		case e != nil && got != e.SHA256 && got != sums[name]:
			return nil, fmt.Errorf("%s: changed: SHA-256 matches neither %s nor %s", name, ManifestFile, SumsFile)
		case e != nil && got != e.SHA256:
			return nil, fmt.Errorf("%s: entry for %s does not match the file", ManifestFile, name)
		case got != sums[name]:
			if e == nil {
				return nil, fmt.Errorf("%s: changed: SHA-256 does not match %s", name, SumsFile)
			}
			return nil, fmt.Errorf("%s: entry for %s does not match the file", SumsFile, name)
		case e != nil && size != e.Bytes:
			return nil, fmt.Errorf("%s: entry for %s says %d bytes, the file has %d", ManifestFile, name, e.Bytes, size)
		}
		res.Files++
	}

	if m.Signature != nil {
		res.Signature = SignatureNotChecked
	}
	if opts.PublicKey != nil {
		if m.Signature == nil {
			return nil, fmt.Errorf("%s: not signed, but a public key was given", ManifestFile)
		}
		sig, err := readLimited(filepath.Join(dir, SignatureFile))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", SignatureFile, err)
		}
		if _, err := opts.PublicKey.Verify(mb, sig); err != nil {
			return nil, fmt.Errorf("%s: %w", SignatureFile, err)
		}
		res.Signature, res.KeyID = SignatureVerified, opts.PublicKey.ID.String()
	}

	if m.Export == ExportReviewClosed {
		if err := evVerifyClosed(dir, m, opts); err != nil {
			return nil, err
		}
	}
	res.MixedTenants = mixedTenants(m)
	if opts.Snapshot != nil {
		for _, src := range m.Sources {
			for _, s := range src.Snapshots {
				n, err := checkSnapshot(ctx, opts.Snapshot, src, s)
				if err != nil {
					if p, ok := prunedLookup(ctx, opts, src, s); ok {
						res.Pruned = append(res.Pruned, p)
						continue
					}
					return nil, err
				}
				res.Snapshots += n
			}
		}
	}
	return res, nil
}

// mixedTenants is a line per source of m whose snapshots name different
// tenants (idsnap.TenantChanges), naming the first change.
func mixedTenants(m *Manifest) []string {
	var out []string
	for _, src := range m.Sources {
		snaps := make([]idsnap.Snapshot, 0, len(src.Snapshots))
		for _, s := range src.Snapshots {
			if s.Tenant == nil {
				continue // an older manifest: unknown
			}
			snaps = append(snaps, idsnap.Snapshot{ID: s.ID, Source: src.Name, Provider: s.Tenant.Provider, BaseURL: s.Tenant.BaseURL, Org: s.Tenant.Org})
		}
		slices.SortFunc(snaps, func(a, b idsnap.Snapshot) int { return cmp.Compare(a.ID, b.ID) })
		if tcs := idsnap.TenantChanges(snaps); len(tcs) > 0 {
			out = append(out, fmt.Sprintf("%s: source %s mixes tenants: %s", ManifestFile, src.Name, tcs[0]))
		}
	}
	return out
}

func checkSnapshot(ctx context.Context, lookup func(context.Context, int64) (idsnap.Snapshot, error), src ManifestSource, s ManifestSnapshot) (int, error) {
	got, err := lookup(ctx, s.ID)
	if err != nil {
		return 0, fmt.Errorf("%s: snapshot %d of %s: %w", ManifestFile, s.ID, src.Name, err)
	}
	var diff string
	switch {
	case got.Source != src.Name:
		diff = fmt.Sprintf("belongs to source %q", got.Source)
	case !got.TakenAt.Equal(s.TakenAt):
		diff = fmt.Sprintf("was taken at %s, not %s", stamp(got.TakenAt), stamp(s.TakenAt))
	case got.Digest != s.Digest:
		diff = "has another content digest"
	case got.ChainDigest != s.ChainDigest:
		diff = "has another chain digest: history was rewritten"
	case s.Tenant != nil && *s.Tenant != got.Tenant():
		diff = "was pulled from " + got.Tenant().String() + ", not " + s.Tenant.String()
	}
	if diff != "" {
		return 0, fmt.Errorf("%s: snapshot %d of %s in the database %s", ManifestFile, s.ID, src.Name, diff)
	}
	return 1, nil
}

// readSums parses SHA256SUMS strictly: "<64 hex>  <name>" lines, plain
// names, each once.
func readSums(path string) (map[string]string, error) {
	b, err := readLimited(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SumsFile, err)
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return nil, fmt.Errorf("%s: malformed: does not end with a newline", SumsFile)
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		m := sumsLine.FindStringSubmatch(sc.Text())
		if m == nil {
			return nil, fmt.Errorf("%s: line %d is malformed", SumsFile, n)
		}
		if _, dup := sums[m[2]]; dup {
			return nil, fmt.Errorf("%s: lists %s twice", SumsFile, m[2])
		}
		sums[m[2]] = m[1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", SumsFile, err)
	}
	return sums, nil
}

func readLimited(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxManifest+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxManifest {
		return nil, errors.New("too large")
	}
	return b, nil
}

func sHA256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Summary is the short success line verify prints.
func (r *VerifyResult) Summary(dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: OK: %s export of %s, %d files, sizes and SHA-256 digests match", dir, r.Manifest.Export,
		r.Manifest.GeneratedAt.UTC().Format(time.RFC3339), r.Files)
	switch r.Signature {
	case SignatureVerified:
		fmt.Fprintf(&b, ", signature verified (key %s)", r.KeyID)
	case SignatureNotChecked:
		b.WriteString(", signature present but not checked: pass --pubkey to check it")
	default:
		b.WriteString(", not signed")
	}
	if r.Snapshots > 0 {
		fmt.Fprintf(&b, ", %d snapshots match the database", r.Snapshots)
	}
	b.WriteString(r.prunedSummary())
	if r.Manifest.Export == ExportReviewClosed {
		b.WriteString(", the campaign it closes is intact")
	}
	return b.String()
}
