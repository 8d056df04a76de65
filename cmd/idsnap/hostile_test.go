package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
	"github.com/idsnap/idsnap/internal/hostile"
	"github.com/idsnap/idsnap/store"
)

func TestHostileData(t *testing.T) {
	tenant := kindetest.Generate(81, 20, 2)
	k := kindetest.NewServer(tenant, kindetest.Config{})
	t.Cleanup(k.Close)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "idsnap.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[sources.kinde]\nprovider = \"kinde\"\nbase_url = %q\nclient_id = %q\nclient_secret = %q\nrequests_per_second = 1000\n",
		k.URL, kindetest.DemoClientID, kindetest.DemoClientSecret)), 0o600)
	if r := runIn(nil, dir, cfg, "pull"); r.code != 0 {
		t.Fatalf("pull: %s", r.stderr)
	}
	org := tenant.OrgCodes()[0]
	want := map[string]string{} // id → name as stored
	for i, h := range hostile.People {
		id := fmt.Sprintf("kp_%032x", 0xbad0+i)
		tenant.AddUser(kindetest.User{ID: id, Email: h.Email, FirstName: h.First, LastName: h.Last, CreatedOn: kindetest.Epoch})
		if err := tenant.AddMember(org, id, "admin"); err != nil {
			t.Fatal(err)
		}
		want[id] = h.First + " " + h.Last
		if h.Stored != "" {
			want[id] = h.Stored
		}
	}
	if r := runIn(nil, dir, cfg, "pull"); r.code != 0 {
		t.Fatalf("pull with hostile names: %s", r.stderr)
	}

	t.Run("stored faithfully", func(t *testing.T) {
		db, err := store.Open(context.Background(), filepath.Join(dir, "idsnap.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		snaps, _ := db.Snapshots(context.Background(), "kinde")
		found := 0
		db.State(context.Background(), snaps[len(snaps)-1].ID, func(r idsnap.Record) error {
			if w, ok := want[r.ID]; ok && r.Kind == idsnap.KindUser {
				found++
				if r.Name != w {
					t.Errorf("user %s: stored name %q, want %q", r.ID, trunc(r.Name), trunc(w))
				}
			}
			return nil
		})
		if found != len(hostile.People) {
			t.Errorf("found %d hostile users in the state, want %d", found, len(hostile.People))
		}
	})

	outputs := map[string]string{}
	for _, f := range []string{"table", "markdown", "csv", "json"} {
		r := runIn(nil, dir, cfg, "--log-level", "error", "diff", "--format", f, "latest~1", "latest")
		if r.code != 0 {
			t.Fatalf("diff --format %s: exit %d: %s", f, r.code, r.stderr)
		}
		outputs["diff "+f] = r.stdout
	}
	for _, f := range []string{"table", "markdown", "csv", "json"} {
		r := runIn(nil, dir, cfg, "--log-level", "error", "findings", "--format", f)
		if r.code != 0 && r.code != 3 {
			t.Fatalf("findings --format %s: exit %d: %s", f, r.code, r.stderr)
		}
		outputs["findings "+f] = r.stdout
	}
	review := filepath.Join(dir, "review")
	if r := runIn(nil, dir, cfg, "export", "access-review", "--at", "latest", "--out", review); r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(review, "access-review.csv"))
	if err != nil {
		t.Fatal(err)
	}
	outputs["access-review csv"] = string(b)
	page := filepath.Join(dir, "report.html")
	if r := runIn(nil, dir, cfg, "report", "--since", "2000-01-01", "--out", page); r.code != 0 {
		t.Fatalf("report: %s", r.stderr)
	}
	if b, err = os.ReadFile(page); err != nil {
		t.Fatal(err)
	}
	outputs["report html"] = string(b)

	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(out, "Mallory") {
				t.Fatalf("output lacks the hostile users; the test checks nothing:\n%s", trunc(out))
			}
			if !utf8.ValidString(out) {
				t.Error("output is not valid UTF-8")
			}
			switch {
			case strings.HasSuffix(name, "html"):
				// Text, never markup: the template's three scripts and no
				// element a name could have made.
				if n := strings.Count(out, "<script"); n != 3 {
					t.Errorf("%d <script elements, want the template's 3", n)
				}
				for _, bad := range []string{"<img", "\x1b", "\u202e", "\x00"} {
					if strings.Contains(out, bad) {
						t.Errorf("output carries %q raw", bad)
					}
				}
				if !strings.Contains(out, "&lt;script&gt;alert(") {
					t.Error("the <script> name is not in the report as text")
				}
			case strings.HasSuffix(name, "json"):
				var v any
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Errorf("not valid JSON: %v", err)
				}
				// JSON escapes what it must and keeps the value whole.
				if name == "diff json" && !strings.Contains(out, `Mallory\u202egnp.exe`) && !strings.Contains(out, "Mallory\u202egnp.exe") {
					t.Error("diff json lost the bidi name")
				}
			case strings.HasSuffix(name, "csv"):
				rd := csv.NewReader(strings.NewReader(out))
				rd.FieldsPerRecord = -1
				rows, err := rd.ReadAll()
				if err != nil {
					t.Fatalf("not valid CSV: %v", err)
				}
				for _, row := range rows {
					for _, cell := range row {
						if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
							t.Errorf("cell %q would run as a spreadsheet formula", trunc(cell))
						}
					}
				}
			default: // a terminal or Markdown: nothing acted on
				for _, bad := range []string{"\x1b", "\x07", "\x00", "\r", "\u202e", "\u2066", "\u2069", "\u200b", "Injected: line\n"} {
					if strings.Contains(out, bad) {
						t.Errorf("output carries %q raw", bad)
					}
				}
				for _, line := range strings.Split(out, "\n") {
					if utf8.RuneCountInString(line) > 2000 {
						t.Errorf("a line of %d characters: a 10 kB name is not cut", utf8.RuneCountInString(line))
						break
					}
				}
			}
		})
	}
}

func trunc(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
