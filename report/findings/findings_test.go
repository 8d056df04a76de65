package findings

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/internal/golden"
	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/report/people"
)

// at is the snapshot time every rule test compares against.
var at = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func daysBefore(n int) time.Time { return at.Add(-time.Duration(n) * 24 * time.Hour) }

func boolPtr(b bool) *bool { return &b }

// stateOf serves records the way store.DB.State does: by kind, then id.
func stateOf(source string, id int64, at time.Time, recs ...idsnap.Record) report.State {
	return report.StateOf(idsnap.Snapshot{ID: id, Source: source, TakenAt: at}, recs...)
}

// human is an active, verified human who signed in yesterday.
func human(id string) idsnap.Record {
	return idsnap.Record{
		Kind: idsnap.KindUser, ID: id, Email: id + "@acme.com", Name: "User " + id,
		Status: idsnap.StatusActive, Type: idsnap.AccountHuman, EmailVerified: boolPtr(true),
		CreatedAt: daysBefore(400),
		Activity:  &idsnap.Activity{LastSignIn: daysBefore(1), SignIns: 10},
	}
}

func with(r idsnap.Record, f func(*idsnap.Record)) idsnap.Record { f(&r); return r }

func signedInDays(days int) func(*idsnap.Record) {
	return func(r *idsnap.Record) { r.Activity = &idsnap.Activity{LastSignIn: daysBefore(days), SignIns: 3} }
}

func neverSignedIn(createdDays int) func(*idsnap.Record) {
	return func(r *idsnap.Record) {
		r.Activity = &idsnap.Activity{}
		r.CreatedAt = daysBefore(createdDays)
	}
}

func silent(r *idsnap.Record) { r.Activity = nil }

func status(s idsnap.Status) func(*idsnap.Record) { return func(r *idsnap.Record) { r.Status = s } }

func machineRec(r *idsnap.Record) {
	r.Type = idsnap.AccountMachine
	r.Email = ""
	r.EmailVerified = nil
}

// access is a project with roles admin, Org-Owner, viewer and a
// Kinde-like org with member; grant gives a principal one of them.
func access() []idsnap.Record {
	return []idsnap.Record{
		{Kind: idsnap.KindResource, ID: "p1", Name: "Portal"},
		{Kind: idsnap.KindResource, ID: "o1", Name: "Acme"},
		{Kind: idsnap.KindEntitlement, ID: "p1:admin", ResourceID: "p1", Name: "admin"},
		{Kind: idsnap.KindEntitlement, ID: "p1:Org-Owner", ResourceID: "p1", Name: "Org-Owner"},
		{Kind: idsnap.KindEntitlement, ID: "p1:viewer", ResourceID: "p1", Name: "viewer"},
		{Kind: idsnap.KindEntitlement, ID: "o1:member", ResourceID: "o1", Name: "member"},
	}
}

func grant(principal, ent string, st idsnap.Status) idsnap.Record {
	res, _, _ := strings.Cut(ent, ":")
	return idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(principal, ent), PrincipalID: principal, EntitlementID: ent, ResourceID: res, Status: st}
}

// outcomeOf runs the rules on one source and returns rule's outcome for
// principal id: "" when id is outside the rule's population.
func outcomeOf(t *testing.T, cfg Config, rule, id string, recs ...idsnap.Record) (Outcome, string) {
	t.Helper()
	res, err := Run(t.Context(), []report.State{stateOf("kinde", 1, at, append(access(), recs...)...)}, cfg, people.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for f := range res.Findings() {
		if f.Rule == rule && f.Principal.ID == id {
			return f.Outcome, f.Detail
		}
	}
	// No finding: evaluate the rule directly to tell PASS from "not in
	// the population", and check it agrees nothing was to be reported.
	idx := res.b.findUser("kinde", id)
	if idx < 0 {
		t.Fatalf("user %s not loaded", id)
	}
	e := &eval{b: res.b, p: mustParams(t, cfg), linked: make([]bool, len(res.b.users))}
	if err := e.linkPeople(mustConfig(t, people.Config{})); err != nil {
		t.Fatal(err)
	}
	in, o, _ := ruleDefs[ruleIndex(rule)].eval(e, idx)
	if !in {
		return "", ""
	}
	if o != OutcomePass {
		t.Fatalf("%s for %s: eval says %s but no finding was reported", rule, id, o)
	}
	return o, ""
}

func mustParams(t *testing.T, c Config) *ruleParams {
	t.Helper()
	p, err := c.compile()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustConfig(t *testing.T, c people.Config) *people.Matcher {
	t.Helper()
	p, err := c.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRules(t *testing.T) {
	days30 := Config{Dormant: DaysParams{Days: 30}}
	viewer := Config{Privileged: PrivilegedParams{Patterns: []string{"re:^view"}, DormantDays: 10}}
	tests := []struct {
		name  string
		cfg   Config
		rule  string
		user  idsnap.Record
		extra []idsnap.Record
		want  Outcome // "" = not in the population
	}{
		{"dormant/signed in yesterday", Config{}, RuleDormant, human("u"), nil, OutcomePass},
		{"dormant/89 days", Config{}, RuleDormant, with(human("u"), signedInDays(89)), nil, OutcomePass},
		{"dormant/exactly 90 days", Config{}, RuleDormant, with(human("u"), signedInDays(90)), nil, OutcomeFail},
		{"dormant/91 days", Config{}, RuleDormant, with(human("u"), signedInDays(91)), nil, OutcomeFail},
		{"dormant/days=30 29 days", days30, RuleDormant, with(human("u"), signedInDays(29)), nil, OutcomePass},
		{"dormant/days=30 30 days", days30, RuleDormant, with(human("u"), signedInDays(30)), nil, OutcomeFail},
		{"dormant/no activity data", Config{}, RuleDormant, with(human("u"), silent), nil, OutcomeUnknown},
		{"dormant/never signed in created 89 days", Config{}, RuleDormant, with(human("u"), neverSignedIn(89)), nil, OutcomePass},
		{"dormant/never signed in created 90 days", Config{}, RuleDormant, with(human("u"), neverSignedIn(90)), nil, OutcomeFail},
		{"dormant/never signed in created 91 days", Config{}, RuleDormant, with(human("u"), neverSignedIn(91)), nil, OutcomeFail},
		{"dormant/never signed in created unknown", Config{}, RuleDormant, with(with(human("u"), neverSignedIn(0)), func(r *idsnap.Record) { r.CreatedAt = time.Time{} }), nil, OutcomeUnknown},
		{"dormant/sign-ins without a time", Config{}, RuleDormant, with(human("u"), func(r *idsnap.Record) { r.Activity = &idsnap.Activity{SignIns: 4} }), nil, OutcomeUnknown},
		{"dormant/suspended not in population", Config{}, RuleDormant, with(with(human("u"), signedInDays(200)), status(idsnap.StatusSuspended)), nil, ""},
		{"dormant/machine not in population", Config{}, RuleDormant, with(human("u"), machineRec), nil, ""},

		{"never-signed-in/signed in", Config{}, RuleNeverSignedIn, human("u"), nil, OutcomePass},
		{"never-signed-in/created 29 days", Config{}, RuleNeverSignedIn, with(human("u"), neverSignedIn(29)), nil, OutcomePass},
		{"never-signed-in/created exactly 30 days", Config{}, RuleNeverSignedIn, with(human("u"), neverSignedIn(30)), nil, OutcomeFail},
		{"never-signed-in/created 31 days", Config{}, RuleNeverSignedIn, with(human("u"), neverSignedIn(31)), nil, OutcomeFail},
		{"never-signed-in/days=5", Config{NeverSignedIn: DaysParams{Days: 5}}, RuleNeverSignedIn, with(human("u"), neverSignedIn(5)), nil, OutcomeFail},
		{"never-signed-in/no activity data", Config{}, RuleNeverSignedIn, with(human("u"), silent), nil, OutcomeUnknown},
		{"never-signed-in/inactive not in population", Config{}, RuleNeverSignedIn, with(with(human("u"), neverSignedIn(100)), status(idsnap.StatusInactive)), nil, ""},

		{"suspended-with-grants/suspended with grant", Config{}, RuleSuspendedGrant, with(human("u"), status(idsnap.StatusSuspended)), []idsnap.Record{grant("u", "o1:member", "")}, OutcomeFail},
		{"suspended-with-grants/inactive grant", Config{}, RuleSuspendedGrant, with(human("u"), status(idsnap.StatusSuspended)), []idsnap.Record{grant("u", "o1:member", idsnap.StatusInactive)}, OutcomePass},
		{"suspended-with-grants/inactive without grants", Config{}, RuleSuspendedGrant, with(human("u"), status(idsnap.StatusInactive)), nil, OutcomePass},
		{"suspended-with-grants/deleted with grant", Config{}, RuleSuspendedGrant, with(human("u"), status(idsnap.StatusDeleted)), []idsnap.Record{grant("u", "p1:viewer", idsnap.StatusActive)}, OutcomeFail},
		{"suspended-with-grants/active not in population", Config{}, RuleSuspendedGrant, human("u"), []idsnap.Record{grant("u", "p1:viewer", "")}, ""},
		{"suspended-with-grants/initial not in population", Config{}, RuleSuspendedGrant, with(human("u"), status(idsnap.StatusInitial)), []idsnap.Record{grant("u", "p1:viewer", "")}, ""},

		{"unverified-email/verified", Config{}, RuleUnverified, human("u"), nil, OutcomePass},
		{"unverified-email/unverified", Config{}, RuleUnverified, with(human("u"), func(r *idsnap.Record) { r.EmailVerified = boolPtr(false) }), nil, OutcomeFail},
		{"unverified-email/provider silent", Config{}, RuleUnverified, with(human("u"), func(r *idsnap.Record) { r.EmailVerified = nil }), nil, OutcomeUnknown},
		{"unverified-email/no email", Config{}, RuleUnverified, with(human("u"), func(r *idsnap.Record) { r.Email = ""; r.EmailVerified = boolPtr(false) }), nil, ""},
		{"unverified-email/suspended", Config{}, RuleUnverified, with(with(human("u"), status(idsnap.StatusSuspended)), func(r *idsnap.Record) { r.EmailVerified = boolPtr(false) }), nil, ""},

		{"machine-with-grants/machine with grant", Config{}, RuleMachineGrants, with(human("u"), machineRec), []idsnap.Record{grant("u", "p1:viewer", "")}, OutcomeFail},
		{"machine-with-grants/suspended machine with grant", Config{}, RuleMachineGrants, with(with(human("u"), machineRec), status(idsnap.StatusSuspended)), []idsnap.Record{grant("u", "p1:viewer", "")}, OutcomeFail},
		{"machine-with-grants/machine without", Config{}, RuleMachineGrants, with(human("u"), machineRec), nil, OutcomePass},
		{"machine-with-grants/human", Config{}, RuleMachineGrants, human("u"), []idsnap.Record{grant("u", "p1:viewer", "")}, ""},

		{"privileged/active admin", Config{}, RulePrivileged, human("u"), []idsnap.Record{grant("u", "p1:admin", "")}, OutcomePass},
		{"privileged/dormant admin", Config{}, RulePrivileged, with(human("u"), signedInDays(100)), []idsnap.Record{grant("u", "p1:admin", "")}, OutcomeFail},
		{"privileged/owner any case", Config{}, RulePrivileged, with(human("u"), signedInDays(90)), []idsnap.Record{grant("u", "p1:Org-Owner", "")}, OutcomeFail},
		{"privileged/admin without activity", Config{}, RulePrivileged, with(human("u"), silent), []idsnap.Record{grant("u", "p1:admin", "")}, OutcomeUnknown},
		{"privileged/machine admin", Config{}, RulePrivileged, with(with(human("u"), machineRec), silent), []idsnap.Record{grant("u", "p1:admin", "")}, OutcomeUnknown},
		{"privileged/suspended admin", Config{}, RulePrivileged, with(with(human("u"), signedInDays(300)), status(idsnap.StatusSuspended)), []idsnap.Record{grant("u", "p1:admin", "")}, OutcomePass},
		{"privileged/revoked admin grant", Config{}, RulePrivileged, with(human("u"), signedInDays(300)), []idsnap.Record{grant("u", "p1:admin", idsnap.StatusInactive)}, ""},
		{"privileged/member only", Config{}, RulePrivileged, with(human("u"), signedInDays(300)), []idsnap.Record{grant("u", "o1:member", "")}, ""},
		{"privileged/regexp pattern and own days", viewer, RulePrivileged, with(human("u"), signedInDays(10)), []idsnap.Record{grant("u", "p1:viewer", "")}, OutcomeFail},
		{"privileged/regexp pattern replaces defaults", viewer, RulePrivileged, with(human("u"), signedInDays(300)), []idsnap.Record{grant("u", "p1:admin", "")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, detail := outcomeOf(t, tt.cfg, tt.rule, "u", append([]idsnap.Record{tt.user}, tt.extra...)...)
			if got != tt.want {
				t.Errorf("%s(u) = %q (%s), want %q", tt.rule, got, detail, tt.want)
			}
			if (got == OutcomeFail || got == OutcomeUnknown) && detail == "" {
				t.Errorf("%s(u) = %s without a detail", tt.rule, got)
			}
		})
	}
}

// TestRulesCounts checks populations and counts add up on a mixed tenant,
// and that rules compare against each source's own snapshot time.
func TestRulesCounts(t *testing.T) {
	kinde := stateOf("kinde", 7, at, append(access(),
		with(human("a"), signedInDays(120)),
		with(human("b"), signedInDays(5)),
		with(human("c"), neverSignedIn(45)),
		with(human("d"), status(idsnap.StatusSuspended)),
		grant("d", "o1:member", ""),
	)...)
	// The same users, read from a snapshot taken 100 days earlier: a's last
	// sign-in is then 20 days old, and b and c (created after) do not
	// matter: only the snapshot's own time counts.
	old := stateOf("kinde-old", 3, at.Add(-100*24*time.Hour), with(human("a"), signedInDays(120)))
	ory := stateOf("ory", 8, at, with(human("x"), silent), with(human("y"), silent))
	res, err := Run(t.Context(), []report.State{ory, kinde, old}, Config{}, people.Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][4]int{ // population, fail, pass, unknown
		RuleDormant:        {6, 1, 3, 2}, // a fails; b, c (45 days old) and kinde-old a pass; x, y unknown
		RuleNeverSignedIn:  {6, 1, 3, 2},
		RuleSuspendedGrant: {1, 1, 0, 0},
		RuleUnverified:     {6, 0, 6, 0},
		RuleMachineGrants:  {0, 0, 0, 0},
		RuleStatusMismatch: {2, 0, 2, 0}, // a in kinde and kinde-old, both active
		RulePrivileged:     {0, 0, 0, 0},
	}
	for _, s := range res.Rules {
		w := want[s.ID]
		if got := [4]int{s.Population, s.Fail, s.Pass, s.Unknown}; got != w {
			t.Errorf("%s: population, fail, pass, unknown = %v, want %v", s.ID, got, w)
		}
		if s.Fail+s.Pass+s.Unknown != s.Population {
			t.Errorf("%s: counts %d+%d+%d do not add up to population %d", s.ID, s.Fail, s.Pass, s.Unknown, s.Population)
		}
	}
	if got := res.IDsFor("kinde", "a"); !slices.Equal(got, []string{RuleDormant}) {
		t.Errorf("IDsFor(kinde, a) = %v, want [dormant]", got)
	}
	if got := res.IDsFor("kinde-old", "a"); got != nil {
		t.Errorf("IDsFor(kinde-old, a) = %v, want none", got)
	}
	if got := res.IDsFor("ory", "x"); got != nil {
		t.Errorf("IDsFor(ory, x) = %v, want none: UNKNOWN is no failure", got)
	}
	if got := res.IDsFor("nope", "a"); got != nil {
		t.Errorf("IDsFor(nope, a) = %v, want nil", got)
	}
	if !res.Failed(RuleDormant) || res.Failed(RulePrivileged) {
		t.Errorf("Failed(dormant), Failed(privileged) = %v, %v, want true, false", res.Failed(RuleDormant), res.Failed(RulePrivileged))
	}
}

func TestStatusMismatch(t *testing.T) {
	kinde := stateOf("kinde", 1, at,
		human("alice"),
		with(human("bob"), status(idsnap.StatusSuspended)),
		human("carol"),
		with(human("dave"), func(r *idsnap.Record) { r.Email = "dave@other.com"; r.ExternalID = "ext-dave" }),
	)
	zitadel := stateOf("zitadel", 2, at,
		with(with(human("z-alice"), func(r *idsnap.Record) { r.Email = "Alice+work@ACME.com" }), status(idsnap.StatusInactive)),
		with(human("z-bob"), func(r *idsnap.Record) { r.Email = "bob@acme.com" }),
		with(human("z-carol"), func(r *idsnap.Record) { r.Email = "carol@acme.com" }),
		with(with(human("z-dave"), func(r *idsnap.Record) { r.Email = "" }), status(idsnap.StatusDeleted)),
		with(with(human("z-dave2"), func(r *idsnap.Record) { r.Email = "dave2@x.com"; r.ExternalID = "ext-dave" }), status(idsnap.StatusDeleted)),
	)
	res, err := Run(t.Context(), []report.State{kinde, zitadel}, Config{}, people.Config{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for f := range res.Findings() {
		if f.Rule == RuleStatusMismatch {
			got[f.Source+":"+f.Principal.ID] = string(f.Outcome) + " " + f.Detail
		}
	}
	want := map[string]string{
		"kinde:alice":   "FAIL active here; inactive in zitadel as z-alice (Alice+work@ACME.com)",
		"zitadel:z-bob": "FAIL active here; suspended in kinde as bob",
		"kinde:dave":    "FAIL active here; deleted in zitadel as z-dave2 (dave2@x.com)",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("status-mismatch findings:\n got %v\nwant %v", got, want)
	}
	s := res.Rules[ruleIndex(RuleStatusMismatch)]
	if s.Population != 8 || s.Fail != 3 { // alice, bob, carol, dave in each source but z-dave
		t.Errorf("status-mismatch population, fail = %d, %d, want 8, 3", s.Population, s.Fail)
	}
}

func TestFindingsInputErrors(t *testing.T) {
	ctx := t.Context()
	boom := errors.New("disk on fire")
	tests := []struct {
		name string
		in   []report.State
		want string
	}{
		{"duplicate source", []report.State{stateOf("k", 1, at), stateOf("k", 2, at)}, "source k given twice"},
		{"read error", []report.State{{Snapshot: idsnap.Snapshot{ID: 4, Source: "k"}, Records: func(context.Context, func(idsnap.Record) error) error { return boom }}}, "k: read snapshot 4: disk on fire"},
		{"user after grants", []report.State{{Snapshot: idsnap.Snapshot{ID: 4, Source: "k"}, Records: func(_ context.Context, fn func(idsnap.Record) error) error {
			if err := fn(grant("a", "o:member", "")); err != nil {
				return err
			}
			return fn(human("a"))
		}}}, "records must come users first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(ctx, tt.in, Config{}, people.Config{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Findings() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestFindingsConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" = valid
	}{
		{"zero is defaults", Config{}, ""},
		{"negative days", Config{Dormant: DaysParams{Days: -1}}, "dormant days = -1"},
		{"bad regexp", Config{Privileged: PrivilegedParams{Patterns: []string{"re:("}}}, `pattern "re:("`},
		{"empty glob", Config{Privileged: PrivilegedParams{Patterns: []string{""}}}, "pattern is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
	p := mustParams(t, Config{Dormant: DaysParams{Days: 14}})
	if p.privDays != 14 || p.neverDays != DefaultNeverSignedInDays {
		t.Errorf("privileged dormant_days, never-signed-in days = %d, %d, want 14 (from dormant), %d", p.privDays, p.neverDays, DefaultNeverSignedInDays)
	}
}

func TestPatterns(t *testing.T) {
	tests := []struct {
		pattern, value string
		want           bool
	}{
		{"*admin*", "admin", true},
		{"*admin*", "Project-ADMIN-rw", true},
		{"*admin*", "adm", false},
		{"admin", "org-admin", false}, // a glob matches the whole value
		{"org.?dmin", "org.admin", true},
		{"org.?dmin", "orgXadmin", false}, // . is literal in a glob
		{"re:admin", "org-admin-x", true}, // a regexp matches anywhere
		{"re:^admin$", "org-admin", false},
		{"re:^ADMIN$", "admin", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"/"+tt.value, func(t *testing.T) {
			re, err := compilePattern(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if got := re.MatchString(tt.value); got != tt.want {
				t.Errorf("pattern %q matches %q = %v, want %v", tt.pattern, tt.value, got, tt.want)
			}
		})
	}
}

func TestCheckRuleIDs(t *testing.T) {
	if err := CheckRuleIDs([]string{RuleDormant, RulePrivileged}); err != nil {
		t.Errorf("CheckRuleIDs(valid) = %v", err)
	}
	err := CheckRuleIDs([]string{"dormant", "stale"})
	want := `unknown rule "stale": use one of dormant, never-signed-in, suspended-with-grants, unverified-email, machine-with-grants, status-mismatch-across-providers, privileged`
	if err == nil || err.Error() != want {
		t.Errorf("CheckRuleIDs(stale) = %v, want %s", err, want)
	}
}

// golden is a small multi-provider tenant with one of each finding.
func goldenResult(t testing.TB) *Result {
	kinde := stateOf("kinde-prod", 12, at, append(access(),
		with(human("kp_alice"), func(r *idsnap.Record) { r.Email = "alice@acme.com" }),
		with(human("kp_bob"), signedInDays(120)),
		with(with(human("kp_carol"), neverSignedIn(45)), func(r *idsnap.Record) { r.Email = "carol+kinde@acme.com" }),
		with(with(human("kp_dan"), status(idsnap.StatusSuspended)), func(r *idsnap.Record) { r.Name = "=HYPERLINK(\"x\")" }),
		with(human("kp_eve"), func(r *idsnap.Record) { r.EmailVerified = boolPtr(false); r.Name = "Eve \x1b[31mRed" }),
		grant("kp_bob", "p1:admin", ""),
		grant("kp_dan", "o1:member", ""),
		grant("kp_dan", "p1:viewer", ""),
		grant("kp_alice", "p1:Org-Owner", ""),
	)...)
	zitadel := stateOf("zitadel", 13, at.Add(-time.Hour),
		with(with(human("z1"), silent), func(r *idsnap.Record) { r.Email = "Alice@Acme.com" }),
		with(with(with(human("z2"), silent), status(idsnap.StatusSuspended)), func(r *idsnap.Record) { r.Email = "carol@acme.com" }),
		with(with(human("svc"), machineRec), func(r *idsnap.Record) { r.Name = "ci-bot"; r.Activity = nil }),
		idsnap.Record{Kind: idsnap.KindResource, ID: "p9", Name: "Billing"},
		idsnap.Record{Kind: idsnap.KindEntitlement, ID: "p9:owner", ResourceID: "p9", Name: "owner"},
		grant("svc", "p9:owner", ""),
	)
	res, err := Run(context.Background(), []report.State{zitadel, kinde}, Config{}, people.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestFindingsGolden(t *testing.T) {
	res := goldenResult(t)
	for _, f := range []report.Format{report.FormatJSON, report.FormatTable, report.FormatCSV, report.FormatMarkdown} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, f, res); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "findings."+string(f)+".golden"), buf.Bytes())
		})
	}
}

// TestFindingsJSONContract decodes the JSON as a script would and checks
// the documented keys, and that streaming writes what report.RenderJSON would.
func TestFindingsJSONContract(t *testing.T) {
	res := goldenResult(t)
	var buf bytes.Buffer
	if err := Render(&buf, report.FormatJSON, res); err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("findings JSON does not parse: %v", err)
	}
	if got := slices.Sorted(keys(doc)); !slices.Equal(got, []string{"at", "findings", "rules"}) {
		t.Errorf("top-level keys = %v, want at, findings, rules", got)
	}
	var v struct {
		At map[string]struct {
			ID      int64     `json:"id"`
			TakenAt time.Time `json:"taken_at"`
		} `json:"at"`
		Rules    []map[string]json.RawMessage `json:"rules"`
		Findings []map[string]json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.At["kinde-prod"].ID != 12 || !v.At["zitadel"].TakenAt.Equal(at.Add(-time.Hour)) {
		t.Errorf("at = %+v, want kinde-prod #12 and zitadel at %s", v.At, at.Add(-time.Hour))
	}
	if len(v.Rules) != len(ruleDefs) {
		t.Errorf("%d rules, want %d", len(v.Rules), len(ruleDefs))
	}
	for _, r := range v.Rules {
		if got := slices.Sorted(keys(r)); !slices.Equal(got, []string{"fail", "id", "params", "pass", "population", "unknown", "version"}) {
			t.Errorf("rule keys = %v", got)
		}
	}
	if len(v.Findings) != res.Len() || len(v.Findings) == 0 {
		t.Fatalf("%d findings in JSON, result has %d", len(v.Findings), res.Len())
	}
	for _, f := range v.Findings {
		if got := slices.Sorted(keys(f)); !slices.Equal(got, []string{"detail", "outcome", "principal", "rule", "source"}) {
			t.Errorf("finding keys = %v", got)
		}
		var o string
		_ = json.Unmarshal(f["outcome"], &o)
		if o != "FAIL" && o != "UNKNOWN" {
			t.Errorf("outcome %q, want FAIL or UNKNOWN", o)
		}
	}
	checkStreamedJSON(t, res, buf.Bytes())
	empty := &Result{b: &builder{}}
	buf.Reset()
	if err := Render(&buf, report.FormatJSON, empty); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"at\": {},\n  \"rules\": [],\n  \"findings\": []\n}\n"; buf.String() != want {
		t.Errorf("empty result JSON = %q, want %q", buf.String(), want)
	}
}

// checkStreamedJSON checks that Render's streamed JSON is what RenderJSON
// writes for the whole result.
func checkStreamedJSON(t *testing.T, res *Result, streamed []byte) {
	t.Helper()
	var whole bytes.Buffer
	if err := report.RenderJSON(&whole, struct {
		At       map[string]report.Point `json:"at"`
		Rules    []Rule                  `json:"rules"`
		Findings []Finding               `json:"findings"`
	}{res.At, res.Rules, slices.Collect(res.Findings())}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(streamed, whole.Bytes()) {
		t.Errorf("streamed JSON differs from RenderJSON:\n%s\nwant\n%s", streamed, whole.Bytes())
	}
}

// TestFindingsOrder checks the promised order: rule, FAIL before UNKNOWN,
// source, principal id.
func TestFindingsOrder(t *testing.T) {
	res := goldenResult(t)
	all := slices.Collect(res.Findings())
	ok := slices.IsSortedFunc(all, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(ruleIndex(a.Rule), ruleIndex(b.Rule)),
			cmp.Compare(outcomeRank(a.Outcome), outcomeRank(b.Outcome)),
			strings.Compare(a.Source, b.Source),
			strings.Compare(a.Principal.ID, b.Principal.ID),
		)
	})
	if !ok {
		t.Errorf("findings out of order: %v", all)
	}
}

func outcomeRank(o Outcome) int {
	if o == OutcomeUnknown {
		return 1
	}
	return 0
}

func keys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 1204: "1,204", 1234567: "1,234,567", -1204: "-1,204"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%d) = %q, want %q", in, got, want)
		}
	}
}

// TestHelp checks --help's rule list comes from the rule table: one line
// per rule, in report order, with the default parameters.
func TestHelp(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(Help(), "\n"), "\n")
	ids := RuleIDs()
	if len(lines) != len(ids) {
		t.Fatalf("Help has %d lines, want one per rule (%d):\n%s", len(lines), len(ids), Help())
	}
	for i, id := range ids {
		if f := strings.Fields(lines[i]); len(f) < 2 || f[0] != id {
			t.Errorf("line %d = %q, want rule %s", i, lines[i], id)
		}
	}
	for _, want := range []string{"(90)", "(30)", "*admin*, *owner*"} {
		if !strings.Contains(Help(), want) {
			t.Errorf("Help lacks the default %q:\n%s", want, Help())
		}
	}
}
