package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// checkGolden compares got with testdata/name, or rewrites it under -update.
func checkGolden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./report -update rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

var (
	t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	t1 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
)

// hostile is a display name an attacker could set in a provider: a
// spreadsheet formula, terminal escapes and a bidi override.
const hostile = "=cmd|' /C calc'!A0\x1b[2J\u202egnp.exe"

func user(id, email, name string, st idsnap.Status) *idsnap.Record {
	return &idsnap.Record{Kind: idsnap.KindUser, ID: id, Email: email, Name: name, Status: st}
}

func grantChange(typ idsnap.ChangeType, p idsnap.Ref, resID, resName, key string) idsnap.Change {
	ent := idsnap.EntitlementID(resID, key)
	rec := &idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(p.ID, ent), PrincipalID: p.ID, ResourceID: resID, EntitlementID: ent, Status: idsnap.StatusActive}
	c := idsnap.Change{Type: typ, Kind: idsnap.KindGrant, ID: rec.ID,
		Principal: &p, Resource: &idsnap.Ref{ID: resID, Name: resName}, Entitlement: &idsnap.Ref{ID: ent, Name: key}}
	if typ == idsnap.Revoked {
		c.Before = rec
	} else {
		c.After = rec
	}
	return c
}

// fixtureSources is a day of changes across three sources: a leaver with
// grants, a joiner, a suspension, a hostile name, a source whose window
// starts before its first snapshot, and one compared with itself.
func fixtureSources() ([]SourceDiff, []Skipped) {
	bob := idsnap.Ref{ID: "kp_bob", Name: "Bob Old", Email: "bob@example.com"}
	carol := idsnap.Ref{ID: "kp_carol", Name: "Carol", Email: "carol@example.com"}
	kinde := []idsnap.Change{
		// store's order (kind, id, type), not the report's
		{Type: idsnap.Left, Kind: idsnap.KindUser, ID: "kp_bob", Before: user("kp_bob", "bob@example.com", "Bob Old", idsnap.StatusActive)},
		{Type: idsnap.Changed, Kind: idsnap.KindUser, ID: "kp_carol",
			Before: user("kp_carol", "carol@example.com", "Carol", idsnap.StatusActive),
			After:  user("kp_carol", "carol@example.com", "Carol", idsnap.StatusSuspended),
			Fields: []idsnap.FieldChange{{Field: "status", From: "active", To: "suspended"}, {Field: "raw.is_suspended", From: false, To: true}}},
		{Type: idsnap.Joined, Kind: idsnap.KindUser, ID: "kp_dan", After: user("kp_dan", "dan@example.com", "Dan New", idsnap.StatusActive)},
		{Type: idsnap.Joined, Kind: idsnap.KindUser, ID: "kp_evil", After: user("kp_evil", "evil@example.com", hostile, idsnap.StatusActive)},
		{Type: idsnap.Joined, Kind: idsnap.KindResource, ID: "org_beta", After: &idsnap.Record{Kind: idsnap.KindResource, ID: "org_beta", Name: "Beta Corp"}},
		{Type: idsnap.Joined, Kind: idsnap.KindEntitlement, ID: "org_beta:member", After: &idsnap.Record{Kind: idsnap.KindEntitlement, ID: "org_beta:member", ResourceID: "org_beta", Name: "member"}},
		grantChange(idsnap.Revoked, bob, "acme_org", "Acme", "member"),
		grantChange(idsnap.Revoked, bob, "org_beta", "Beta Corp", "member"),
		grantChange(idsnap.Revoked, carol, "acme_org", "Acme", "member"),
		grantChange(idsnap.Granted, idsnap.Ref{ID: "kp_dan", Name: "Dan New", Email: "dan@example.com"}, "acme_org", "Acme", "member"),
		grantChange(idsnap.Granted, idsnap.Ref{ID: "kp_evil", Name: hostile, Email: "evil@example.com"}, "org_beta", "Beta\x07 | Corp\r\n", "member"),
	}
	zitadel := []idsnap.Change{
		{Type: idsnap.Changed, Kind: idsnap.KindUser, ID: "3001",
			Before: user("3001", "ann@corp.example", "Ann", idsnap.StatusActive),
			After:  user("3001", "ann@corp.example", "Ann Lee", idsnap.StatusActive),
			Fields: []idsnap.FieldChange{{Field: "name", From: "Ann", To: "Ann Lee"}, {Field: "profile.nickName", From: nil, To: "annie"}}},
		grantChange(idsnap.Granted, idsnap.Ref{ID: "3001", Name: "Ann Lee", Email: "ann@corp.example"}, "p100", "Billing", "admin"),
	}
	sources := []SourceDiff{
		{Source: "zitadel", From: Point{Snapshot: idsnap.Snapshot{ID: 2, TakenAt: t0.Add(-time.Hour)}, Earliest: true}, To: Point{Snapshot: idsnap.Snapshot{ID: 6, TakenAt: t1}}, Changes: zitadel},
		{Source: "kinde", From: Point{Snapshot: idsnap.Snapshot{ID: 1, TakenAt: t0}}, To: Point{Snapshot: idsnap.Snapshot{ID: 5, TakenAt: t1}}, Changes: kinde},
		{Source: "ory", From: Point{Snapshot: idsnap.Snapshot{ID: 4, TakenAt: t1}}, To: Point{Snapshot: idsnap.Snapshot{ID: 4, TakenAt: t1}}},
	}
	for i := range sources {
		for j := range sources[i].Changes {
			sources[i].Changes[j].Source = sources[i].Source
			sources[i].Changes[j].SnapshotID = sources[i].To.Snapshot.ID
		}
	}
	return sources, []Skipped{{Source: "kinde-eu", Reason: "no snapshot at or before 2026-11-02T09:00:00Z"}}
}

func TestRenderDiffGolden(t *testing.T) {
	sources, skipped := fixtureSources()
	d := NewDiff(sources, skipped, Filter{})
	for _, f := range []Format{FormatTable, FormatJSON, FormatCSV, FormatMarkdown} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := RenderDiff(&buf, f, d); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "diff."+string(f)+".golden", buf.Bytes())
			// Every format names the exact snapshots compared.
			for _, id := range []string{"1", "5", "2", "6", "4"} {
				if f == FormatCSV && id == "4" {
					continue // CSV names snapshots on its rows; ory has none
				}
				if !strings.Contains(buf.String(), id) {
					t.Errorf("%s output does not name snapshot %s", f, id)
				}
			}
		})
	}
}

func TestRenderDiffHostile(t *testing.T) {
	sources, skipped := fixtureSources()
	d := NewDiff(sources, skipped, Filter{})
	for _, f := range []Format{FormatTable, FormatJSON, FormatCSV, FormatMarkdown} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := RenderDiff(&buf, f, d); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if strings.ContainsAny(out, "\x1b\x07\u202e") {
				t.Errorf("%s output carries raw control or bidi characters", f)
			}
			switch f {
			case FormatCSV:
				for line := range strings.SplitSeq(out, "\n") {
					for cell := range strings.SplitSeq(line, ",") {
						if strings.HasPrefix(strings.TrimPrefix(cell, `"`), "=") {
							t.Errorf("csv cell %q would run as a formula", cell)
						}
					}
				}
			case FormatMarkdown:
				// Every table line has exactly 7 unescaped pipes: no cell broke out.
				for line := range strings.SplitSeq(out, "\n") {
					if strings.HasPrefix(line, "|") {
						if n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"); n != 7 {
							t.Errorf("markdown row has %d cell separators, want 7: %q", n, line)
						}
					}
				}
			case FormatJSON:
				if !strings.Contains(out, `\u001b[2J`) {
					t.Errorf("json does not escape the ESC in the hostile name")
				}
			}
		})
	}
}

// TestDiffJSONContract decodes the JSON golden and checks it against the
// field names docs/architecture.md promises scripts.
func TestDiffJSONContract(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "diff.json.golden"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		From    map[string]map[string]any `json:"from"`
		To      map[string]map[string]any `json:"to"`
		Changes []map[string]any          `json:"changes"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	for _, end := range []map[string]map[string]any{v.From, v.To} {
		for _, src := range []string{"kinde", "ory", "zitadel"} {
			e, ok := end[src]
			if !ok {
				t.Fatalf("from/to lacks source %s", src)
			}
			if _, ok := e["id"].(float64); !ok {
				t.Errorf("%s: snapshot id = %v, want a number", src, e["id"])
			}
			if _, err := time.Parse(time.RFC3339, e["taken_at"].(string)); err != nil {
				t.Errorf("%s: taken_at: %v", src, err)
			}
		}
	}
	if len(v.Changes) == 0 {
		t.Fatal("no changes in the golden")
	}
	var sawFolded, sawFields bool
	var check func(c map[string]any, nested bool)
	check = func(c map[string]any, nested bool) {
		for _, k := range []string{"source", "change", "kind", "id"} {
			if _, ok := c[k].(string); !ok {
				t.Errorf("change %v lacks string %q", c, k)
			}
		}
		switch c["kind"] {
		case "user":
			for _, k := range []string{"email", "name"} {
				if _, ok := c[k].(string); !ok {
					t.Errorf("user change %v lacks %q at the top level", c["id"], k)
				}
			}
		case "grant":
			want := map[string][]string{"principal": {"id", "name", "email"}, "resource": {"id", "name"}, "entitlement": {"id", "name"}}
			for obj, keys := range want {
				m, ok := c[obj].(map[string]any)
				if !ok {
					t.Errorf("grant %v lacks %s", c["id"], obj)
					continue
				}
				for _, k := range keys {
					if _, ok := m[k].(string); !ok {
						t.Errorf("grant %v: %s lacks %q", c["id"], obj, k)
					}
				}
			}
		}
		if c["change"] == "changed" {
			fs, ok := c["fields"].([]any)
			if !ok || len(fs) == 0 {
				t.Errorf("changed %v lacks fields", c["id"])
			}
			for _, f := range fs {
				m := f.(map[string]any)
				for _, k := range []string{"field", "from", "to"} {
					if _, ok := m[k]; !ok {
						t.Errorf("changed %v: field lacks %q", c["id"], k)
					}
				}
				sawFields = true
			}
		}
		if gs, ok := c["grants"].([]any); ok {
			if nested || c["change"] != "left" {
				t.Errorf("%v %v carries grants: only a leaver may", c["change"], c["id"])
			}
			for _, g := range gs {
				check(g.(map[string]any), true)
				sawFolded = true
			}
		}
		allowed := []string{"source", "change", "kind", "id", "email", "name", "fields", "principal", "resource", "entitlement", "grants"}
		for k := range c {
			if !slices.Contains(allowed, k) {
				t.Errorf("change %v has key %q the contract does not name", c["id"], k)
			}
		}
	}
	for _, c := range v.Changes {
		check(c, false)
	}
	if !sawFolded || !sawFields {
		t.Errorf("golden lacks a folded leaver (%v) or field changes (%v)", sawFolded, sawFields)
	}
}

func TestNewDiffFolding(t *testing.T) {
	sources, skipped := fixtureSources()
	d := NewDiff(sources, skipped, Filter{})
	var bob *Entry
	for i, e := range d.Entries {
		if e.ID == "kp_bob" {
			bob = &d.Entries[i]
		}
		if e.Kind == idsnap.KindGrant && e.Type == idsnap.Revoked && strings.HasPrefix(e.ID, "kp_bob|") {
			t.Errorf("leaver's grant %s listed on its own", e.ID)
		}
	}
	if bob == nil {
		t.Fatal("leaver kp_bob missing")
	}
	var got []string
	for _, g := range bob.Grants {
		got = append(got, g.ID)
	}
	if want := []string{"kp_bob|acme_org:member", "kp_bob|org_beta:member"}; !slices.Equal(got, want) {
		t.Errorf("kp_bob grants = %v, want %v", got, want)
	}
	// carol was suspended, not removed: her revoked grant stays a line.
	if !slices.ContainsFunc(d.Entries, func(e Entry) bool { return e.ID == "kp_carol|acme_org:member" && e.Type == idsnap.Revoked }) {
		t.Error("a non-leaver's revoked grant was folded away")
	}
}

func TestNewDiffFilterAndOrder(t *testing.T) {
	sources, skipped := fixtureSources()
	tests := []struct {
		name   string
		filter Filter
		want   []string // source/change/kind/id, in order
	}{
		{"revoked unfolds leavers", Filter{Changes: []idsnap.ChangeType{idsnap.Revoked}}, []string{
			"kinde/revoked/grant/kp_bob|acme_org:member", "kinde/revoked/grant/kp_bob|org_beta:member", "kinde/revoked/grant/kp_carol|acme_org:member"}},
		{"kind user", Filter{Kinds: []idsnap.Kind{idsnap.KindUser}}, []string{
			"kinde/joined/user/kp_dan", "kinde/joined/user/kp_evil", "kinde/left/user/kp_bob", "kinde/changed/user/kp_carol", "zitadel/changed/user/3001"}},
		{"source zitadel", Filter{Sources: []string{"zitadel"}}, []string{
			"zitadel/changed/user/3001", "zitadel/granted/grant/3001|p100:admin"}},
		{"joined resources and entitlements", Filter{Changes: []idsnap.ChangeType{idsnap.Joined}, Kinds: []idsnap.Kind{idsnap.KindResource, idsnap.KindEntitlement}}, []string{
			"kinde/joined/resource/org_beta", "kinde/joined/entitlement/org_beta:member"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDiff(sources, skipped, tt.filter)
			var got []string
			for _, e := range d.Entries {
				got = append(got, e.Source+"/"+string(e.Type)+"/"+string(e.Kind)+"/"+e.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("entries = %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestNewDiffHiddenCount(t *testing.T) {
	sources, skipped := fixtureSources()
	d := NewDiff(sources, skipped, Filter{Kinds: []idsnap.Kind{idsnap.KindResource}})
	var buf bytes.Buffer
	if err := RenderDiff(&buf, FormatTable, d); err != nil {
		t.Fatal(err)
	}
	if want := "kinde: #1 (2026-11-01T09:00:00Z) → #5 (2026-11-02T09:00:00Z): 1 change (10 more hidden by filters)"; !strings.Contains(buf.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, buf.String())
	}
}

func TestParseChangeTypesAndKinds(t *testing.T) {
	ct, err := ParseChangeTypes([]string{"joined, LEFT", "left", "revoked"})
	if want := []idsnap.ChangeType{idsnap.Joined, idsnap.Left, idsnap.Revoked}; err != nil || !slices.Equal(ct, want) {
		t.Errorf("ParseChangeTypes = %v, %v; want %v", ct, err, want)
	}
	if _, err := ParseChangeTypes([]string{"joined,gone"}); err == nil || !strings.Contains(err.Error(), `"gone"`) {
		t.Errorf("ParseChangeTypes(gone) error = %v, want it named", err)
	}
	ks, err := ParseKinds([]string{"user,grant"})
	if want := []idsnap.Kind{idsnap.KindUser, idsnap.KindGrant}; err != nil || !slices.Equal(ks, want) {
		t.Errorf("ParseKinds = %v, %v; want %v", ks, err, want)
	}
	if _, err := ParseKinds([]string{"users"}); err == nil {
		t.Error("ParseKinds(users) accepted a plural")
	}
}

func TestRenderDiffEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := RenderDiff(&buf, FormatJSON, NewDiff(nil, nil, Filter{})); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "{\n  \"from\": {},\n  \"to\": {},\n  \"changes\": []\n}\n"; got != want {
		t.Errorf("empty diff json = %q, want %q", got, want)
	}
	buf.Reset()
	if err := RenderDiff(&buf, FormatTable, NewDiff(nil, nil, Filter{})); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "no sources to compare") {
		t.Errorf("empty diff table = %q, want it to say there is nothing", buf.String())
	}
	if err := RenderDiff(&buf, "yaml", NewDiff(nil, nil, Filter{})); err == nil {
		t.Error("RenderDiff(yaml) accepted an unknown format")
	}
}
