package evidence

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/internal/golden"
	"github.com/idsnap/idsnap/report"
	"github.com/xuri/excelize/v2"
)

var now = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// fixtureReview is a Kinde tenant with a hostile display name and an
// Ory tenant without sign-in data.
func fixtureReview() []report.State {
	kinde := idsnap.Snapshot{ID: 7, Source: "kinde-prod", Provider: "kinde", BaseURL: "https://acme.kinde.com",
		TakenAt: time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC), Digest: "d7", ChainDigest: "c7",
		Counts: map[idsnap.Kind]int64{idsnap.KindUser: 2, idsnap.KindResource: 1, idsnap.KindEntitlement: 1, idsnap.KindGrant: 1},
		Pull: &idsnap.PullInfo{EndedAt: time.Date(2026, 3, 1, 6, 0, 42, 0, time.UTC), Endpoints: []idsnap.Endpoint{
			{Method: "GET", Path: "/api/v1/organizations", Params: "page_size=500", Requests: 1},
			{Method: "GET", Path: "/api/v1/organizations/{id}/users", Params: "page_size=500", Requests: 1},
			{Method: "GET", Path: "/api/v1/users", Params: "expand=organizations&page_size=500", Requests: 1},
		}}}
	ory := idsnap.Snapshot{ID: 8, Source: "ory", Provider: "ory", BaseURL: "https://x.projects.oryapis.com", Org: "acme-slug",
		TakenAt: time.Date(2026, 3, 1, 6, 5, 0, 0, time.FixedZone("CET", 3600)), Digest: "d8", ChainDigest: "c8"}
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return []report.State{
		report.StateOf(kinde, []idsnap.Record{
			{Kind: idsnap.KindUser, ID: "kp_b", Email: "bob@acme.test", Username: "bob", Name: "=HYPERLINK(\"http://evil\",\"x\")\x1b[31m\u202e",
				EmailVerified: ptr(false), Status: idsnap.StatusSuspended, Type: idsnap.AccountHuman, CreatedAt: created,
				Activity: &idsnap.Activity{}},
			{Kind: idsnap.KindUser, ID: "kp_a", Email: "alice@acme.test", Username: "alice", Name: "Alice, \"Al\"\nSmith",
				EmailVerified: ptr(true), Status: idsnap.StatusActive, Type: idsnap.AccountHuman, CreatedAt: created,
				Activity: &idsnap.Activity{LastSignIn: time.Date(2026, 2, 28, 23, 0, 0, 0, time.FixedZone("X", -5*3600)), SignIns: 4}},
			{Kind: idsnap.KindResource, ID: "org_1", Name: "Acme"},
			{Kind: idsnap.KindResource, ID: "org_2", Name: "+Finance"},
			{Kind: idsnap.KindEntitlement, ID: "org_1:member", ResourceID: "org_1", Name: "member"},
			{Kind: idsnap.KindEntitlement, ID: "org_2:member", ResourceID: "org_2", Name: "member"},
			{Kind: idsnap.KindGrant, ID: idsnap.GrantID("kp_a", "org_2:member"), PrincipalID: "kp_a", ResourceID: "org_2", EntitlementID: "org_2:member", Status: idsnap.StatusActive},
			{Kind: idsnap.KindGrant, ID: idsnap.GrantID("kp_a", "org_1:member"), PrincipalID: "kp_a", ResourceID: "org_1", EntitlementID: "org_1:member", Status: idsnap.StatusActive},
		}...),
		report.StateOf(ory, []idsnap.Record{
			{Kind: idsnap.KindUser, ID: "0b1c-ory", Email: "carol@acme.test", Name: "Carol", Status: idsnap.StatusInactive, Type: idsnap.AccountHuman},
		}...),
	}
}

func meta(signer *SecretKey) Meta {
	return Meta{
		GeneratedAt: now,
		Args:        []string{"idsnap", "export", "access-review", "--at", "2026-03-01T12:00:00Z", "--out", "ev", "--api-token", "s3cret", "--client-secret=s3cret"},
		Parameters:  map[string]string{"at": "2026-03-01T12:00:00Z"},
		Signer:      signer,
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name+".golden"), got)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExportAccessReviewGolden(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ev")
	m, err := WriteAccessReview(t.Context(), out, AccessReviewOptions{Sources: fixtureReview(), Meta: meta(nil),
		Findings: func(source, id string) []string {
			if id == "kp_b" {
				return []string{"suspended-with-grants", "never-signed-in", "never-signed-in"}
			}
			return nil
		}})
	if err != nil {
		t.Fatalf("WriteAccessReview: %v", err)
	}
	csvData := readFile(t, filepath.Join(out, AccessReviewCSV))
	checkGolden(t, "access-review.csv", csvData)
	checkGolden(t, "access-review.manifest.json", readFile(t, filepath.Join(out, ManifestFile)))
	checkGolden(t, "access-review.SHA256SUMS", readFile(t, filepath.Join(out, SumsFile)))
	checkGolden(t, "access-review.README.txt", readFile(t, filepath.Join(out, ReadmeFile)))

	if bytes.Contains(csvData, []byte("\r")) || bytes.Contains(csvData, []byte("\x1b")) || bytes.Contains(csvData, []byte("\u202e")) {
		t.Error("CSV holds a carriage return, an escape or a bidi override")
	}
	recs, err := csv.NewReader(bytes.NewReader(csvData)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || *m.Files[0].Rows != 4 {
		t.Fatalf("got %d CSV records, manifest rows %d; want header + 4 rows", len(recs), *m.Files[0].Rows)
	}
	col := func(name string) int { return slices.Index(AccessReviewHeader, name) }
	for _, r := range recs[1:] {
		for i, c := range r {
			if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
				t.Errorf("row %v column %s starts with a formula prefix: %q", r[:5], AccessReviewHeader[i], c)
			}
		}
	}
	bob := recs[3]
	if bob[col("principal_id")] != "kp_b" || bob[col("name")] != `'=HYPERLINK("http://evil","x")\x1b[31m\u202e` {
		t.Errorf("hostile name = %q; want it neutralised", bob[col("name")])
	}
	if got := bob[col("last_sign_in")]; got != "never" {
		t.Errorf("last_sign_in of a user who never signed in = %q; want never", got)
	}
	if got := bob[col("findings")]; got != "never-signed-in suspended-with-grants" {
		t.Errorf("findings = %q", got)
	}
	if recs[4][col("source")] != "ory" {
		t.Fatal("ory row missing or out of order")
	}
	for _, r := range recs[1:] {
		if r[col("source")] == "ory" && (r[col("last_sign_in")] != "unknown" || r[col("snapshot_time")] != "2026-03-01T05:05:00Z" || r[col("resource_id")] != "") {
			t.Errorf("ory row = %v; want last_sign_in unknown, UTC time, no resource", r)
		}
	}
	args := strings.Join(m.CommandLine, " ")
	if strings.Contains(args, "s3cret") {
		t.Errorf("manifest command line leaks a secret: %s", args)
	}
}

func TestExportXLSX(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ev")
	if _, err := WriteAccessReview(t.Context(), out, AccessReviewOptions{Sources: fixtureReview(), XLSX: true, Meta: meta(nil)}); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenFile(filepath.Join(out, AccessReviewXLSX))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	sheet := x.GetSheetName(0)
	rows, err := x.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := csv.NewReader(bytes.NewReader(readFile(t, filepath.Join(out, AccessReviewCSV)))).ReadAll()
	if len(rows) != len(want) {
		t.Fatalf("XLSX has %d rows, CSV %d", len(rows), len(want))
	}
	for i := range want {
		// GetRows drops trailing empty cells.
		if !slices.Equal(rows[i], want[i][:len(rows[i])]) {
			t.Errorf("XLSX row %d = %q; want %q", i, rows[i], want[i])
		}
	}
	dvs, err := x.GetDataValidations(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if len(dvs) != 1 || !strings.Contains(dvs[0].Formula1, "keep,modify,revoke") || dvs[0].Sqref != "U2:U5" {
		t.Errorf("data validations = %+v; want a keep/modify/revoke list on U2:U5", dvs)
	}
}

func TestExportVerifyRoundTrip(t *testing.T) {
	key := testKey(t)
	out := filepath.Join(t.TempDir(), "ev")
	if _, err := WriteAccessReview(t.Context(), out, AccessReviewOptions{Sources: fixtureReview(), XLSX: true, Meta: meta(key)}); err != nil {
		t.Fatal(err)
	}
	pub := key.Public()
	res, err := Verify(context.Background(), out, VerifyOptions{PublicKey: &pub})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.Signature != SignatureVerified || res.Files != 5 {
		t.Errorf("result = %+v; want signature verified, 5 files", res)
	}
	res, err = Verify(context.Background(), out, VerifyOptions{})
	if err != nil || res.Signature != SignatureNotChecked {
		t.Errorf("Verify without key = %+v, %v; want signature not checked", res, err)
	}
	other := testKey(t).Public()
	if _, err := Verify(context.Background(), out, VerifyOptions{PublicKey: &other}); err == nil || !strings.Contains(err.Error(), SignatureFile) {
		t.Errorf("Verify with another key = %v; want a signature error", err)
	}

	// The real sha256sum accepts SHA256SUMS.
	if bin, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(bin, "-c", "--strict", SumsFile)
		cmd.Dir = out
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sha256sum -c: %v\n%s", err, b)
		}
	} else {
		t.Log("sha256sum not installed: skipped its check")
	}

	// Modes: folder 0700, files 0600.
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o700 {
		t.Errorf("folder mode = %v; want 0700", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v; want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	if len(entries) != 6 {
		t.Errorf("folder holds %d files; want csv, xlsx, README.txt, manifest, signature, sums", len(entries))
	}
}

// TestVerifyDetectsTampering changes every file in turn — a flipped byte at
// the start, middle and end, deletion — and adds an extra file: each must
// fail with a message naming the file.
func TestVerifyDetectsTampering(t *testing.T) {
	key := testKey(t)
	pub := key.Public()
	src := filepath.Join(t.TempDir(), "ev")
	if _, err := WriteAccessReview(t.Context(), src, AccessReviewOptions{Sources: fixtureReview(), XLSX: true, Meta: meta(key)}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(src)
	fresh := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "copy")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if err := os.WriteFile(filepath.Join(dir, e.Name()), readFile(t, filepath.Join(src, e.Name())), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	for _, withKey := range []bool{false, true} {
		opts := VerifyOptions{}
		if withKey {
			opts.PublicKey = &pub
		}
		for _, e := range entries {
			name := e.Name()
			size := len(readFile(t, filepath.Join(src, name)))
			for _, pos := range []int{0, size / 2, size - 1} {
				t.Run(name+"/flip", func(t *testing.T) {
					dir := fresh(t)
					b := readFile(t, filepath.Join(dir, name))
					b[pos] ^= 0x01
					if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
						t.Fatal(err)
					}
					expectFail(t, dir, opts, name)
				})
			}
			t.Run(name+"/delete", func(t *testing.T) {
				dir := fresh(t)
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
				expectFail(t, dir, opts, name)
			})
		}
		t.Run("extra", func(t *testing.T) {
			dir := fresh(t)
			if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			expectFail(t, dir, opts, "notes.txt")
		})
		t.Run("subfolder", func(t *testing.T) {
			dir := fresh(t)
			if err := os.Mkdir(filepath.Join(dir, "more"), 0o700); err != nil {
				t.Fatal(err)
			}
			expectFail(t, dir, opts, "more")
		})
	}
}

func expectFail(t *testing.T, dir string, opts VerifyOptions, name string) {
	t.Helper()
	_, err := Verify(context.Background(), dir, opts)
	if err == nil {
		t.Fatalf("Verify passed a folder with %s tampered", name)
	}
	if msg := err.Error(); !strings.Contains(msg, name) || strings.Contains(msg, "\n") {
		t.Fatalf("Verify = %q; want one line naming %s", msg, name)
	}
}

func TestExportRefusesNonEmptyOut(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := WriteAccessReview(t.Context(), dir, AccessReviewOptions{Sources: fixtureReview(), Meta: meta(nil)})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("WriteAccessReview into a non-empty folder = %v; want refused", err)
	}
	if b := readFile(t, filepath.Join(dir, "keep.txt")); string(b) != "x" {
		t.Error("existing file was changed")
	}
	parent, _ := os.ReadDir(filepath.Dir(dir))
	for _, e := range parent {
		if strings.HasPrefix(e.Name(), ".idsnap-export-") {
			t.Errorf("temporary folder %s left behind", e.Name())
		}
	}
	// An existing empty folder is fine, and ends up 0700.
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteAccessReview(t.Context(), empty, AccessReviewOptions{Sources: fixtureReview(), Meta: meta(nil)}); err != nil {
		t.Fatalf("WriteAccessReview into an empty folder: %v", err)
	}
	if fi, _ := os.Stat(empty); fi.Mode().Perm() != 0o700 {
		t.Errorf("folder mode = %v; want 0700", fi.Mode().Perm())
	}
}

func fixtureChanges() []SourceChanges {
	snap := func(id int64, at string) idsnap.Snapshot {
		t, _ := time.Parse(time.RFC3339, at)
		return idsnap.Snapshot{ID: id, Source: "zitadel", Provider: "zitadel", BaseURL: "https://acme.zitadel.cloud", Org: "300",
			TakenAt: t, Digest: "d" + at[8:10], ChainDigest: "c" + at[8:10]}
	}
	base := snap(1, "2026-02-20T06:00:00Z")
	s2, s3 := snap(2, "2026-02-21T06:00:00Z"), snap(5, "2026-02-24T06:00:00Z") // 22nd and 23rd missed
	user := &idsnap.Record{Kind: idsnap.KindUser, ID: "u1", Email: "dan@acme.test", Name: "@Dan"}
	return []SourceChanges{
		{Source: SourceInfo{Name: "zitadel", Provider: "zitadel", BaseURL: "https://acme.zitadel.cloud", Org: "300"},
			Baseline: &base, Snapshots: []idsnap.Snapshot{s2, s3},
			Changes: []idsnap.Change{
				{Source: "zitadel", SnapshotID: 5, Type: idsnap.Revoked, Kind: idsnap.KindGrant, ID: "u1|p1:admin",
					Principal: &idsnap.Ref{ID: "u1", Name: "@Dan", Email: "dan@acme.test"}, Resource: &idsnap.Ref{ID: "p1", Name: "Billing"}, Entitlement: &idsnap.Ref{ID: "p1:admin", Name: "admin"}},
				{Source: "zitadel", SnapshotID: 2, Type: idsnap.Granted, Kind: idsnap.KindGrant, ID: "u1|p1:admin",
					Principal: &idsnap.Ref{ID: "u1", Name: "@Dan", Email: "dan@acme.test"}, Resource: &idsnap.Ref{ID: "p1", Name: "Billing"}, Entitlement: &idsnap.Ref{ID: "p1:admin", Name: "admin"}},
				{Source: "zitadel", SnapshotID: 2, Type: idsnap.Changed, Kind: idsnap.KindUser, ID: "u1", Before: user, After: user,
					Fields: []idsnap.FieldChange{{Field: "status", From: idsnap.StatusActive, To: idsnap.StatusSuspended}, {Field: "profile.roles", From: nil, To: []any{"a", 1.0}}}},
				{Source: "zitadel", SnapshotID: 5, Type: idsnap.Joined, Kind: idsnap.KindUser, ID: "u2", After: &idsnap.Record{Email: "eve@acme.test", Name: "Eve"}},
			}},
		{Source: SourceInfo{Name: "kinde", Provider: "kinde", BaseURL: "https://acme.kinde.com"}},
	}
}

func TestExportChangesGolden(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ev")
	meta := meta(nil)
	meta.Args = []string{"idsnap", "export", "changes", "--since", "2026-02-20", "--out", "ev"}
	meta.Parameters = map[string]string{"since": "2026-02-20T00:00:00Z", "until": "2026-02-25T00:00:00Z"}
	m, err := WriteChanges(out, ChangesOptions{Sources: fixtureChanges(), Meta: meta,
		Since: time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 2, 25, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatalf("WriteChanges: %v", err)
	}
	changes := readFile(t, filepath.Join(out, ChangesCSV))
	coverage := readFile(t, filepath.Join(out, CoverageCSV))
	checkGolden(t, "changes.csv", changes)
	checkGolden(t, "coverage.csv", coverage)
	checkGolden(t, "changes.manifest.json", readFile(t, filepath.Join(out, ManifestFile)))

	if !bytes.Contains(coverage, []byte("zitadel,gap,,,,,2026-02-21T06:00:00Z,2026-02-24T06:00:00Z,72.0,")) {
		t.Error("coverage.csv does not show the missed pulls of Feb 22 and 23 as a gap row")
	}
	if !bytes.Contains(coverage, []byte("kinde,gap,,,,,2026-02-20T00:00:00Z,2026-02-25T12:00:00Z,132.0,no snapshot in the period")) {
		t.Error("coverage.csv does not show a source without snapshots")
	}
	if len(m.Sources) != 2 || m.Sources[0].Name != "kinde" || len(m.Sources[1].Snapshots) != 3 {
		t.Errorf("manifest sources = %+v; want kinde (none) and zitadel (3 snapshots)", m.Sources)
	}
	if _, err := Verify(context.Background(), out, VerifyOptions{}); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestVerifyAgainstDatabase(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ev")
	states := fixtureReview()
	if _, err := WriteAccessReview(t.Context(), out, AccessReviewOptions{Sources: states, Meta: meta(nil)}); err != nil {
		t.Fatal(err)
	}
	db := map[int64]idsnap.Snapshot{}
	for _, s := range states {
		db[s.Snapshot.ID] = s.Snapshot
	}
	lookup := func(_ context.Context, id int64) (idsnap.Snapshot, error) {
		s, ok := db[id]
		if !ok {
			return s, errors.New("snapshot not found")
		}
		return s, nil
	}
	res, err := Verify(context.Background(), out, VerifyOptions{Snapshot: lookup})
	if err != nil || res.Snapshots != 2 {
		t.Fatalf("Verify = %+v, %v; want 2 snapshots checked", res, err)
	}
	rewritten := db[8]
	rewritten.ChainDigest = "other"
	db[8] = rewritten
	if _, err := Verify(context.Background(), out, VerifyOptions{Snapshot: lookup}); err == nil || !strings.Contains(err.Error(), "chain digest") {
		t.Fatalf("Verify with a rewritten chain = %v; want a chain digest error", err)
	}
	delete(db, 7)
	if _, err := Verify(context.Background(), out, VerifyOptions{Snapshot: lookup}); err == nil || !strings.Contains(err.Error(), "snapshot 7") {
		t.Fatalf("Verify with a missing snapshot = %v", err)
	}
}

func TestRedactArgs(t *testing.T) {
	got := RedactArgs([]string{"idsnap", "--client-secret", "a", "--api-token=b", "--pat", "c", "--source", "kinde", "--", "--pat", "keep"})
	want := []string{"idsnap", "--client-secret", "[redacted]", "--api-token=[redacted]", "--pat", "[redacted]", "--source", "kinde", "--", "--pat", "keep"}
	if !slices.Equal(got, want) {
		t.Errorf("RedactArgs = %q; want %q", got, want)
	}
}

func TestKeyFileIsRandom(t *testing.T) {
	a, _ := GenerateKey(rand.Reader)
	b, _ := GenerateKey(rand.Reader)
	if a.ID == b.ID || bytes.Equal(a.Key, b.Key) {
		t.Fatal("two generated keys are equal")
	}
}

// BenchmarkExportAccessReview measures an export of 10k users with two
// grants each, CSV and XLSX.
func BenchmarkExportAccessReview(b *testing.B) {
	recs := []idsnap.Record{idsnap.Record{Kind: idsnap.KindResource, ID: "org"}, idsnap.Record{Kind: idsnap.KindEntitlement, ID: "org:member", ResourceID: "org", Name: "member"}}
	for i := range 10000 {
		id := "kp_" + strconv.Itoa(i)
		recs = append(recs, idsnap.Record{Kind: idsnap.KindUser, ID: id, Email: id + "@acme.test", Name: "User " + id},
			idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(id, "org:member"), PrincipalID: id, ResourceID: "org", EntitlementID: "org:member"},
			idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(id, "org:admin"), PrincipalID: id, ResourceID: "org", EntitlementID: "org:admin"})
	}
	st := report.StateOf(idsnap.Snapshot{ID: 1, Source: "kinde", TakenAt: now}, recs...)
	for i := 0; b.Loop(); i++ {
		out := filepath.Join(b.TempDir(), strconv.Itoa(i))
		if _, err := WriteAccessReview(b.Context(), out, AccessReviewOptions{Sources: []report.State{st}, XLSX: true, Meta: meta(nil)}); err != nil {
			b.Fatal(err)
		}
		if _, err := Verify(context.Background(), out, VerifyOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReviewAgreesWithAccess checks the review and the access command show
// a grant alike: both read report.AccessJoin. A Kinde role grant whose
// entitlement record the snapshot lacks is named by its key, "admin", not
// "role:admin"; a grant's holder the snapshot does not list keeps its row.
func TestReviewAgreesWithAccess(t *testing.T) {
	snap := idsnap.Snapshot{ID: 3, Source: "kinde", TakenAt: now}
	st := report.StateOf(snap,
		idsnap.Record{Kind: idsnap.KindUser, ID: "kp_a", Email: "a@acme.test", Status: idsnap.StatusActive},
		idsnap.Record{Kind: idsnap.KindUser, ID: "kp_idle", Email: "idle@acme.test", Status: idsnap.StatusActive},
		idsnap.Record{Kind: idsnap.KindResource, ID: "org_1", Name: "Acme"},
		idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID("kp_a", "org_1:role:admin"), PrincipalID: "kp_a", ResourceID: "org_1", EntitlementID: "org_1:role:admin", Status: idsnap.StatusActive},
		idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID("kp_gone", "org_1:role:admin"), PrincipalID: "kp_gone", ResourceID: "org_1", EntitlementID: "org_1:role:admin", Status: idsnap.StatusActive},
	)
	var access []string
	j := report.NewAccessJoin(snap.Source, snap.ID, "", "")
	if err := st.Records(t.Context(), func(r idsnap.Record) error {
		if row, ok := j.Add(r); ok {
			access = append(access, row.Principal.ID+"|"+row.Resource.Name+"|"+row.Entitlement.Name)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rows, err := AccessReviewRows(t.Context(), []report.State{st}, nil)
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int { return slices.Index(AccessReviewHeader, name) }
	var review []string
	for _, r := range rows {
		if r[col("entitlement_id")] != "" {
			review = append(review, r[col("principal_id")]+"|"+r[col("resource")]+"|"+r[col("entitlement")])
		}
	}
	want := []string{"kp_a|Acme|admin", "kp_gone|Acme|admin"}
	if !slices.Equal(access, want) || !slices.Equal(review, want) {
		t.Errorf("access = %q, review = %q; want both %q", access, review, want)
	}
	if len(rows) != 3 || rows[1][col("principal_id")] != "kp_gone" || rows[2][col("principal_id")] != "kp_idle" || rows[2][col("entitlement")] != "" {
		t.Errorf("review rows = %q; want kp_a's grant, kp_gone's grant, kp_idle with none", rows)
	}
	if got := rows[1][col("email_verified")]; got != "" {
		t.Errorf("unlisted holder's email_verified = %q; want empty", got)
	}
	if got := rows[2][col("email_verified")]; got != "unknown" {
		t.Errorf("listed user's email_verified = %q; want unknown", got)
	}
}

// TestVerifyPrunedSnapshots: a snapshot the database lost to a prune is
// listed, not failed; one missing without a prune still fails.
func TestVerifyPrunedSnapshots(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ev")
	states := fixtureReview()
	if _, err := WriteAccessReview(t.Context(), out, AccessReviewOptions{Sources: states, Meta: meta(nil)}); err != nil {
		t.Fatal(err)
	}
	kept := states[1].Snapshot
	lookup := func(_ context.Context, id int64) (idsnap.Snapshot, error) {
		if id == kept.ID {
			return kept, nil
		}
		return idsnap.Snapshot{}, errors.New("snapshot not found")
	}
	gone := states[0].Snapshot
	before := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pruned := func(_ context.Context, source string, id int64) (idsnap.Anchor, bool, error) {
		if source == gone.Source && id == gone.ID {
			return idsnap.Anchor{Source: source, SnapshotID: id, PrunedBefore: before}, true, nil
		}
		return idsnap.Anchor{}, false, nil
	}
	res, err := Verify(context.Background(), out, VerifyOptions{Snapshot: lookup, Pruned: pruned})
	if err != nil || res.Snapshots != 1 || len(res.Pruned) != 1 {
		t.Fatalf("Verify = %+v, %v; want 1 snapshot checked, 1 pruned", res, err)
	}
	want := fmt.Sprintf("; no longer in the database: snapshot %d of %s (pruned before 2026-01-01T00:00:00Z)", gone.ID, gone.Source)
	if s := res.Summary(out); !strings.HasSuffix(s, want) {
		t.Errorf("Summary = %q, want it to end %q", s, want)
	}
	noPrune := func(context.Context, string, int64) (idsnap.Anchor, bool, error) { return idsnap.Anchor{}, false, nil }
	if _, err := Verify(context.Background(), out, VerifyOptions{Snapshot: lookup, Pruned: noPrune}); err == nil {
		t.Error("a snapshot missing without a prune passed")
	}
}
