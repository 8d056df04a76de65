package roster

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/report/findings"
	"github.com/idsnap/idsnap/report/people"
)

var (
	day = 24 * time.Hour
	now = time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
)

// fakeHistory serves snapshots, changes and FindUsers from maps.
type fakeHistory struct {
	snaps   map[string][]idsnap.Snapshot
	changes map[string][]idsnap.Change // by source:id
	users   map[string][]idsnap.Record // by query, lower-case
}

func (h *fakeHistory) Snapshots(_ context.Context, source string) ([]idsnap.Snapshot, error) {
	return h.snaps[source], nil
}

func (h *fakeHistory) History(_ context.Context, source, id string) ([]idsnap.Change, error) {
	return h.changes[source+":"+id], nil
}

func (h *fakeHistory) FindUsers(_ context.Context, q string) ([]idsnap.Record, error) {
	return h.users[strings.ToLower(q)], nil
}

func user(id, email string, st idsnap.Status, created time.Time) idsnap.Record {
	return idsnap.Record{Kind: idsnap.KindUser, ID: id, Email: email, Status: st, Type: idsnap.AccountHuman, CreatedAt: created}
}

func grant(principal, ent string) idsnap.Record {
	return idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(principal, ent), PrincipalID: principal, EntitlementID: ent, Status: idsnap.StatusActive}
}

const testRoster = "email,status,employee_id,start_date,end_date,aliases\n" +
	"alice@acme.com,active,E1,2024-01-01,,\n" +
	"bob@acme.com,terminated,E2,,2026-11-01,\n" +
	"carol@acme.com,leaver,E3,,,\n" +
	"dave@acme.com,active,E4,,,d@acme.io\n" +
	"erin@acme.com,terminated,E5,,2026-12-31,\n" +
	"frank@acme.com,active,E6,2026-11-20,,\n"

// world: kinde and zitadel at now, with the accounts the rules judge.
func world(t *testing.T) ([]report.State, *Roster, people.Config, *fakeHistory) {
	t.Helper()
	r, err := Parse("hr.csv", []byte(testRoster), nil)
	if err != nil {
		t.Fatal(err)
	}
	kinde := idsnap.Snapshot{ID: 3, Source: "kinde", TakenAt: now}
	zitadel := idsnap.Snapshot{ID: 4, Source: "zitadel", TakenAt: now}
	carol := user("kp_c", "carol.home@example.org", idsnap.StatusSuspended, time.Time{})
	carol.ExternalID = "E3"
	robot := user("z_bot", "", idsnap.StatusActive, time.Time{})
	robot.Type = idsnap.AccountMachine
	in := []report.State{
		report.StateOf(kinde,
			user("kp_a", "Alice@Acme.com", idsnap.StatusActive, time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)),
			user("kp_b", "bob@acme.com", idsnap.StatusActive, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)),
			carol,
			user("kp_e", "erin@acme.com", idsnap.StatusActive, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)),
			user("kp_f", "f.other@example.org", idsnap.StatusActive, time.Time{}),
			user("kp_x", "x@acme.com", idsnap.StatusActive, time.Time{}),
			idsnap.Record{Kind: idsnap.KindResource, ID: "org_1", Name: "Acme"},
			idsnap.Record{Kind: idsnap.KindEntitlement, ID: "org_1:member", ResourceID: "org_1", Name: "member"},
			grant("kp_b", "org_1:member"), grant("kp_c", "org_1:member"), grant("kp_x", "org_1:member")),
		report.StateOf(zitadel,
			user("z_b", "bob+tools@acme.com", idsnap.StatusSuspended, time.Time{}),
			robot,
			user("z_d", "D@acme.io", idsnap.StatusActive, time.Time{}),
			user("z_f", "frank@acme.com", idsnap.StatusActive, time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC))),
	}
	pc := people.Config{Links: [][]string{{"kinde:kp_f", "zitadel:z_f"}}}
	h := &fakeHistory{
		snaps: map[string][]idsnap.Snapshot{
			"kinde":   {{ID: 1, Source: "kinde", TakenAt: now.Add(-40 * day)}, kinde},
			"zitadel": {{ID: 2, Source: "zitadel", TakenAt: now.Add(-40 * day)}, zitadel},
		},
		changes: map[string][]idsnap.Change{
			// kp_f (frank, joined 2026-11-20) was already there 40 days ago.
			"kinde:kp_f": {{SnapshotID: 1, Type: idsnap.Joined, Kind: idsnap.KindUser, ID: "kp_f", After: &idsnap.Record{Status: idsnap.StatusActive}}},
			"kinde:kp_b": {
				{SnapshotID: 1, Type: idsnap.Joined, Kind: idsnap.KindUser, ID: "kp_b", After: &idsnap.Record{Status: idsnap.StatusActive}},
				{SnapshotID: 1, Type: idsnap.Granted, Kind: idsnap.KindGrant, ID: "g", After: &idsnap.Record{Status: idsnap.StatusActive}},
			},
			"zitadel:z_b": {
				{SnapshotID: 2, Type: idsnap.Joined, Kind: idsnap.KindUser, ID: "z_b", After: &idsnap.Record{Status: idsnap.StatusActive}},
				{SnapshotID: 4, Type: idsnap.Changed, Kind: idsnap.KindUser, ID: "z_b", After: &idsnap.Record{Status: idsnap.StatusSuspended}},
			},
			// bob's Ory-like account in zitadel, deleted: only FindUsers knows it.
			"zitadel:z_b2": {
				{SnapshotID: 2, Type: idsnap.Joined, Kind: idsnap.KindUser, ID: "z_b2", After: &idsnap.Record{Status: idsnap.StatusActive}},
				{SnapshotID: 4, Type: idsnap.Left, Kind: idsnap.KindUser, ID: "z_b2"},
			},
		},
		users: map[string][]idsnap.Record{
			"bob@acme.com": {{Source: "zitadel", Kind: idsnap.KindUser, ID: "z_b2", Email: "BOB@acme.com"}, {Source: "kinde", Kind: idsnap.KindUser, ID: "kp_b", Email: "bob@acme.com"}},
		},
	}
	return in, r, pc, h
}

// outcomes lists rule/source:id/outcome for every FAIL and UNKNOWN.
func outcomes(res *Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.Rule+" "+f.Source+":"+f.Principal.ID+" "+string(f.Outcome))
	}
	return out
}

func TestCheck(t *testing.T) {
	in, r, pc, h := world(t)
	res, err := Check(context.Background(), in, r, pc, FindingsConfig{}, h)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"terminated-with-access kinde:kp_b FAIL",
		"terminated-with-access kinde:kp_c FAIL",
		"leaver-deprovisioned-late kinde:kp_b FAIL",
		// Both removed between a snapshot before the end and one 29 days after.
		"leaver-deprovisioned-late zitadel:z_b UNKNOWN",
		"leaver-deprovisioned-late zitadel:z_b2 UNKNOWN",
		"not-in-roster kinde:kp_x FAIL",
		"joiner-before-start kinde:kp_a FAIL",
		"joiner-before-start kinde:kp_f FAIL",
	}
	if got := outcomes(res); !slices.Equal(got, want) {
		t.Errorf("findings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	pop := map[string][3]int{}
	for _, s := range res.Rules {
		pop[s.ID] = [3]int{s.Population, s.Fail, s.Pass}
		if s.Version != 1 || s.Params["roster_sha256"] != r.SHA256 || s.Params["roster_rows"] != 6 {
			t.Errorf("rule %s: version %d params %v", s.ID, s.Version, s.Params)
		}
	}
	// terminated-with-access: bob's two accounts and carol's; erin's end is after the snapshot.
	// not-in-roster: the active humans kp_a kp_b kp_e kp_f kp_x z_d z_f; the machine is left out.
	// joiner-before-start: alice's and frank's accounts.
	wantPop := map[string][3]int{
		RuleTerminatedWithAccess: {3, 2, 1}, RuleLeaverLate: {3, 1, 0},
		RuleNotInRoster: {7, 1, 6}, RuleJoinerBeforeStart: {3, 2, 1},
	}
	for id, w := range wantPop {
		if pop[id] != w {
			t.Errorf("%s population/fail/pass = %v, want %v", id, pop[id], w)
		}
	}
	why := map[string]string{}
	for _, f := range res.Findings {
		why[f.Rule+" "+f.Principal.ID] = f.Detail
	}
	for k, sub := range map[string]string{
		"terminated-with-access kp_b":    "roster bob@acme.com (E2, terminated, access ends 2026-11-02T00:00:00Z); account active, 1 active grant: Acme/member at snapshot #3",
		"terminated-with-access kp_c":    "(E3, terminated (leaver)); account suspended, 1 active grant: Acme/member at snapshot #3 (2026-12-01T06:00:00Z); matched by employee_id E3",
		"leaver-deprovisioned-late z_b":  "removed between snapshot #2 (2026-10-22T06:00:00Z) and snapshot #4 (2026-12-01T06:00:00Z): no snapshot tells whether within 24h of the end; matched by email:plus-tag",
		"leaver-deprovisioned-late z_b2": "matched by email:lowercase, deleted since",
		"leaver-deprovisioned-late kp_b": "still has access at snapshot #3 (2026-12-01T06:00:00Z), 702h after the end (limit 24h)",
		"not-in-roster kp_x":             "no roster row matches its email; 1 active grant: Acme/member",
		"joiner-before-start kp_a":       "account created 2023-06-01T00:00:00Z, 214 days before the start 2024-01-01T00:00:00Z; matched by email:lowercase",
		"joiner-before-start kp_f":       "seen in the snapshot of 2026-10-22T06:00:00Z, 28 days before the start 2026-11-20T00:00:00Z; matched by linked to zitadel:z_f (manual)",
	} {
		if !strings.Contains(why[k], sub) {
			t.Errorf("%s detail = %q, want it to contain %q", k, why[k], sub)
		}
	}
	if p, w := res.Person("zitadel", "z_d"); p == nil || p.EmployeeID != "E4" || !strings.Contains(w, "alias d@acme.io") {
		t.Errorf("Person(z_d) = %v, %q", p, w)
	}
	if p, _ := res.Person("zitadel", "z_bot"); p != nil {
		t.Errorf("Person(z_bot) = %v, want none", p)
	}
	if ids := res.IDsFor("kinde", "kp_b"); !slices.Equal(ids, []string{RuleTerminatedWithAccess, RuleLeaverLate}) {
		t.Errorf("IDsFor(kp_b) = %v", ids)
	}
}

func TestCheckHours(t *testing.T) {
	in, r, pc, h := world(t)
	if _, err := Check(context.Background(), in, r, pc, FindingsConfig{LeaverLate: HoursParams{Hours: -1}}, h); err == nil {
		t.Error("negative hours accepted")
	}
	res, err := Check(context.Background(), in, r, pc, FindingsConfig{LeaverLate: HoursParams{Hours: 2000}}, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Rules {
		if s.ID == RuleLeaverLate && (s.Params["hours"] != 2000 || s.Fail != 0) {
			t.Errorf("leaver rule with 2000 hours = %+v", s)
		}
	}
}

func TestJudgeLeaver(t *testing.T) {
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	type at struct {
		h      int // hours after end
		access bool
	}
	for _, tc := range []struct {
		name string
		at   []at
		want findings.Outcome
		sub  string
	}{
		{"gone before the end", []at{{-48, false}, {1, false}}, findings.OutcomePass, ""},
		{"still there, late", []at{{-1, true}, {30, true}}, findings.OutcomeFail, "still has access at snapshot #2"},
		{"still there, within", []at{{-1, true}, {10, true}}, findings.OutcomePass, ""},
		{"removed in time", []at{{-1, true}, {10, false}}, findings.OutcomePass, ""},
		{"removed late", []at{{-1, true}, {30, true}, {50, false}}, findings.OutcomeFail, "still had access at snapshot #2 (2026-11-02T06:00:00Z), 30h after the end (limit 24h); gone by snapshot #3"},
		{"bracket straddles the limit", []at{{2, true}, {50, false}}, findings.OutcomeUnknown, "removed between snapshot #1 (2026-11-01T02:00:00Z) and snapshot #2 (2026-11-03T02:00:00Z): no snapshot tells whether within 24h"},
		{"no snapshot after the end until late", []at{{-10, true}, {50, false}}, findings.OutcomeUnknown, "removed between snapshot #1"},
		{"first snapshot already without", []at{{50, false}}, findings.OutcomeUnknown, "gone by snapshot #1"},
		{"regained access", []at{{-5, false}, {30, true}}, findings.OutcomeFail, "still has access"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var snaps []idsnap.Snapshot
			var access []bool
			for i, a := range tc.at {
				snaps = append(snaps, idsnap.Snapshot{ID: int64(i + 1), TakenAt: end.Add(time.Duration(a.h) * time.Hour)})
				access = append(access, a.access)
			}
			o, d := judgeLeaver(snaps, access, end, 24*time.Hour)
			if o != tc.want || !strings.Contains(d, tc.sub) {
				t.Errorf("judgeLeaver = %s %q, want %s containing %q", o, d, tc.want, tc.sub)
			}
		})
	}
}

func TestAccessAt(t *testing.T) {
	snaps := []idsnap.Snapshot{{ID: 1}, {ID: 2}, {ID: 3}, {ID: 4}}
	active := &idsnap.Record{Status: idsnap.StatusActive}
	for _, tc := range []struct {
		name    string
		changes []idsnap.Change
		want    []bool
	}{
		{"no grants ever: status decides", []idsnap.Change{
			{SnapshotID: 2, Kind: idsnap.KindUser, After: active},
			{SnapshotID: 4, Kind: idsnap.KindUser, After: &idsnap.Record{Status: idsnap.StatusInactive}},
		}, []bool{false, true, true, false}},
		{"last grant revoked", []idsnap.Change{
			{SnapshotID: 1, Kind: idsnap.KindUser, After: active},
			{SnapshotID: 1, Kind: idsnap.KindGrant, ID: "g", After: active},
			{SnapshotID: 3, Kind: idsnap.KindGrant, ID: "g"},
		}, []bool{true, true, false, false}},
		{"deleted", []idsnap.Change{
			{SnapshotID: 1, Kind: idsnap.KindUser, After: active},
			{SnapshotID: 2, Kind: idsnap.KindUser},
		}, []bool{true, false, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := accessAt(snaps, tc.changes); !slices.Equal(got, tc.want) {
				t.Errorf("accessAt = %v, want %v", got, tc.want)
			}
		})
	}
}

// A person people links keeps its accounts' own roster matches when they
// disagree, and spreads one only to accounts that match none.
func TestMatchSpreadsOnlyWhenAgreed(t *testing.T) {
	r, err := Parse("hr.csv", []byte("email,status\na@acme.com,active\nb@acme.com,active\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := idsnap.Snapshot{ID: 1, Source: "kinde", TakenAt: now}
	in := []report.State{report.StateOf(s,
		user("u1", "a@acme.com", idsnap.StatusActive, time.Time{}),
		user("u2", "b@acme.com", idsnap.StatusActive, time.Time{}),
		user("u3", "third@example.org", idsnap.StatusActive, time.Time{}),
		user("u4", "fourth@example.org", idsnap.StatusActive, time.Time{}))}
	pc := people.Config{Links: [][]string{{"kinde:u1", "kinde:u2"}, {"kinde:u2", "kinde:u3"}}}
	res, err := Match(context.Background(), in, r, pc)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"u1": "a@acme.com", "u2": "b@acme.com", "u3": "", "u4": ""} {
		p, _ := res.Person("kinde", id)
		got := ""
		if p != nil {
			got = p.Email
		}
		if got != want {
			t.Errorf("Person(%s) = %q, want %q", id, got, want)
		}
	}
	// Linked to one matched account only, the third account takes its person.
	pc.Links = [][]string{{"kinde:u1", "kinde:u3"}}
	if res, err = Match(context.Background(), in, r, pc); err != nil {
		t.Fatal(err)
	}
	if p, why := res.Person("kinde", "u3"); p == nil || p.Email != "a@acme.com" || why != "linked to kinde:u1 (manual)" {
		t.Errorf("Person(u3) = %v, %q", p, why)
	}
}
