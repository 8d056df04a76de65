package main

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRosterEndToEnd runs the roster rules against idsim: HR's roster as
// idsim writes it on day 0 (six leavers whose last day has passed, three
// contractors left off, a joiner starting in two weeks), a pull, a day of
// churn in which IT deprovisions three leavers and forgets three, a pull.
// What must FAIL is worked out here from the roster file and idsim's
// event log, not from the rule code.
func TestRosterEndToEnd(t *testing.T) {
	e := startSim(t, "--seed", "11", "--people", "120", "--write-roster", "hr.csv")
	db := filepath.Join(e.dir, "e2e.db")
	e.run("idsnap", "--db", db, "pull")
	events := e.run("idsim", "advance", "--control", e.control)
	e.run("idsnap", "--db", db, "pull")

	// norm undoes what idsim does to an address per provider.
	norm := func(s string) string {
		s = strings.ToLower(s)
		if at := strings.Index(s, "@"); at > 0 {
			local, _, _ := strings.Cut(s[:at], "+")
			s = local + s[at:]
		}
		return s
	}
	data, err := os.ReadFile(filepath.Join(e.dir, "hr.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	inRoster, terminated, lateStart := map[string]bool{}, map[string]bool{}, map[string]bool{}
	today := time.Now().UTC().Format(time.DateOnly)
	for _, r := range rows[1:] {
		email := norm(r[col("email")])
		inRoster[email] = true
		if r[col("status")] == "terminated" {
			terminated[email] = true
		}
		if s := r[col("start_date")]; s != "" && s > today {
			lateStart[email] = true
		}
	}
	deprovisioned, forgotten, joined := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, m := range regexp.MustCompile(`hr: leaver (\S+) \(last day \S+\) (deprovisioned|forgotten)`).FindAllStringSubmatch(events, -1) {
		if m[2] == "deprovisioned" {
			deprovisioned[norm(m[1])] = true
		} else {
			forgotten[norm(m[1])] = true
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:kinde|ory|zitadel): (\S+) joined$`).FindAllStringSubmatch(events, -1) {
		joined[norm(m[1])] = true
	}
	if len(deprovisioned) != 3 || len(forgotten) != 3 || len(terminated) != 6 || len(lateStart) != 1 || len(joined) == 0 {
		t.Fatalf("idsim's HR plan: deprovisioned %v, forgotten %v, terminated %v, late start %v, joined %v", deprovisioned, forgotten, terminated, lateStart, joined)
	}
	for email := range terminated {
		if !deprovisioned[email] && !forgotten[email] {
			t.Errorf("terminated %s is in no advance event", email)
		}
	}

	out, code := e.exec("idsnap", "--db", db, "findings", "--roster", "hr.csv", "--format", "json", "--fail-on", "terminated-with-access")
	if code != 3 {
		t.Errorf("findings --fail-on terminated-with-access: exit code %d, want 3", code)
	}
	var res struct {
		Rules []struct {
			ID         string         `json:"id"`
			Params     map[string]any `json:"params"`
			Population int            `json:"population"`
		} `json:"rules"`
		Findings []struct {
			Rule      string `json:"rule"`
			Outcome   string `json:"outcome"`
			Principal struct {
				Email string `json:"email"`
			} `json:"principal"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("findings --format json: %v\n%s", err, out)
	}
	sum := sha256.Sum256(data)
	rosterRules := 0
	for _, r := range res.Rules {
		if r.Params["roster_sha256"] != nil {
			rosterRules++
			if r.Params["roster_sha256"] != hex.EncodeToString(sum[:]) || r.Params["roster_rows"] != float64(len(rows)-1) {
				t.Errorf("rule %s params %v: want the roster's SHA-256 and %d rows", r.ID, r.Params, len(rows)-1)
			}
		}
	}
	if rosterRules != 4 {
		t.Errorf("%d rules carry the roster's digest, want 4", rosterRules)
	}
	got := map[string]map[string]bool{}
	for _, f := range res.Findings {
		if got[f.Rule+" "+f.Outcome] == nil {
			got[f.Rule+" "+f.Outcome] = map[string]bool{}
		}
		got[f.Rule+" "+f.Outcome][norm(f.Principal.Email)] = true
	}
	same := func(what string, got, want map[string]bool) {
		t.Helper()
		if g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)); !slices.Equal(g, w) {
			t.Errorf("%s: got %v, want %v", what, g, w)
		}
	}
	// Forgotten leavers still hold Kinde's default organization.
	same("terminated-with-access FAIL", got["terminated-with-access FAIL"], forgotten)
	// Every leaver's last day is two days before day 0: the first pull
	// already saw access a day past the limit, whatever IT did after.
	same("leaver-deprovisioned-late FAIL", got["leaver-deprovisioned-late FAIL"], terminated)
	same("leaver-deprovisioned-late UNKNOWN", got["leaver-deprovisioned-late UNKNOWN"], nil)
	same("joiner-before-start FAIL", got["joiner-before-start FAIL"], lateStart)
	for email := range got["not-in-roster FAIL"] {
		if inRoster[email] {
			t.Errorf("not-in-roster FAIL for %s, who is on the roster", email)
		}
	}
	for email := range joined {
		if !got["not-in-roster FAIL"][email] {
			t.Errorf("day-1 joiner %s, not on the day-0 roster, has no not-in-roster FAIL", email)
		}
	}

	// The access review carries the roster columns and records the roster.
	e.run("idsnap", "--db", db, "export", "access-review", "--at", "latest", "--roster", "hr.csv", "--out", "review")
	review, err := os.ReadFile(filepath.Join(e.dir, "review", "access-review.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(review), ",employee_id,department,manager_email,roster_status,findings,") {
		t.Errorf("access-review.csv header lacks the roster columns: %.300s", review)
	}
	manifest, err := os.ReadFile(filepath.Join(e.dir, "review", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(manifest), hex.EncodeToString(sum[:])) {
		t.Error("manifest.json does not record the roster's SHA-256")
	}
	e.run("idsnap", "--db", db, "verify", "review")
}
