package report

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

// fndAt is the snapshot time every rule test compares against.
var fndAt = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func fndDaysBefore(n int) time.Time { return fndAt.Add(-time.Duration(n) * 24 * time.Hour) }

func fndBool(b bool) *bool { return &b }

// fndInputOf serves records the way store.DB.State does: by kind, then id.
func fndInputOf(source string, id int64, at time.Time, recs ...idsnap.Record) FindingsInput {
	recs = slices.Clone(recs)
	rank := func(k idsnap.Kind) int { return slices.Index(idsnap.Kinds, k) }
	slices.SortFunc(recs, func(a, b idsnap.Record) int {
		return cmp.Or(cmp.Compare(rank(a.Kind), rank(b.Kind)), strings.Compare(a.ID, b.ID))
	})
	return FindingsInput{
		Snapshot: idsnap.Snapshot{ID: id, Source: source, TakenAt: at},
		Records: func(ctx context.Context, fn func(idsnap.Record) error) error {
			for _, r := range recs {
				r.Source = source
				if err := fn(r); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// fndHuman is an active, verified human who signed in yesterday.
func fndHuman(id string) idsnap.Record {
	return idsnap.Record{
		Kind: idsnap.KindUser, ID: id, Email: id + "@acme.com", Name: "User " + id,
		Status: idsnap.StatusActive, Type: idsnap.AccountHuman, EmailVerified: fndBool(true),
		CreatedAt: fndDaysBefore(400),
		Activity:  &idsnap.Activity{LastSignIn: fndDaysBefore(1), SignIns: 10},
	}
}

func fndWith(r idsnap.Record, f func(*idsnap.Record)) idsnap.Record { f(&r); return r }

func fndSignedInDays(days int) func(*idsnap.Record) {
	return func(r *idsnap.Record) { r.Activity = &idsnap.Activity{LastSignIn: fndDaysBefore(days), SignIns: 3} }
}

func fndNeverSignedIn(createdDays int) func(*idsnap.Record) {
	return func(r *idsnap.Record) {
		r.Activity = &idsnap.Activity{}
		r.CreatedAt = fndDaysBefore(createdDays)
	}
}

func fndSilent(r *idsnap.Record) { r.Activity = nil }

func fndStatus(s idsnap.Status) func(*idsnap.Record) { return func(r *idsnap.Record) { r.Status = s } }

func fndMachineRec(r *idsnap.Record) {
	r.Type = idsnap.AccountMachine
	r.Email = ""
	r.EmailVerified = nil
}

// fndAccess is a project with roles admin, Org-Owner, viewer and a
// Kinde-like org with member; fndGrant gives a principal one of them.
func fndAccess() []idsnap.Record {
	return []idsnap.Record{
		{Kind: idsnap.KindResource, ID: "p1", Name: "Portal"},
		{Kind: idsnap.KindResource, ID: "o1", Name: "Acme"},
		{Kind: idsnap.KindEntitlement, ID: "p1:admin", ResourceID: "p1", Name: "admin"},
		{Kind: idsnap.KindEntitlement, ID: "p1:Org-Owner", ResourceID: "p1", Name: "Org-Owner"},
		{Kind: idsnap.KindEntitlement, ID: "p1:viewer", ResourceID: "p1", Name: "viewer"},
		{Kind: idsnap.KindEntitlement, ID: "o1:member", ResourceID: "o1", Name: "member"},
	}
}

func fndGrant(principal, ent string, st idsnap.Status) idsnap.Record {
	res, _, _ := strings.Cut(ent, ":")
	return idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(principal, ent), PrincipalID: principal, EntitlementID: ent, ResourceID: res, Status: st}
}

// fndOutcomeOf runs the rules on one source and returns rule's outcome for
// principal id: "" when id is outside the rule's population.
func fndOutcomeOf(t *testing.T, cfg FindingsConfig, rule, id string, recs ...idsnap.Record) (Outcome, string) {
	t.Helper()
	res, err := Findings(t.Context(), []FindingsInput{fndInputOf("kinde", 1, fndAt, append(fndAccess(), recs...)...)}, cfg, PeopleConfig{})
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
	e := &fndEval{b: res.b, p: fndMustParams(t, cfg), linked: make([]bool, len(res.b.users))}
	if err := e.linkPeople(pplMustConfig(t, PeopleConfig{})); err != nil {
		t.Fatal(err)
	}
	in, o, _ := fndRules[fndRuleIndex(rule)].eval(e, idx)
	if !in {
		return "", ""
	}
	if o != OutcomePass {
		t.Fatalf("%s for %s: eval says %s but no finding was reported", rule, id, o)
	}
	return o, ""
}

func fndMustParams(t *testing.T, c FindingsConfig) *fndParams {
	t.Helper()
	p, err := c.compile()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func pplMustConfig(t *testing.T, c PeopleConfig) *pplConfig {
	t.Helper()
	p, err := c.compile()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRules(t *testing.T) {
	days30 := FindingsConfig{Dormant: DaysParams{Days: 30}}
	viewer := FindingsConfig{Privileged: PrivilegedParams{Patterns: []string{"re:^view"}, DormantDays: 10}}
	tests := []struct {
		name  string
		cfg   FindingsConfig
		rule  string
		user  idsnap.Record
		extra []idsnap.Record
		want  Outcome // "" = not in the population
	}{
		{"dormant/signed in yesterday", FindingsConfig{}, RuleDormant, fndHuman("u"), nil, OutcomePass},
		{"dormant/89 days", FindingsConfig{}, RuleDormant, fndWith(fndHuman("u"), fndSignedInDays(89)), nil, OutcomePass},
		{"dormant/exactly 90 days", FindingsConfig{}, RuleDormant, fndWith(fndHuman("u"), fndSignedInDays(90)), nil, OutcomeFail},
		{"dormant/91 days", FindingsConfig{}, RuleDormant, fndWith(fndHuman("u"), fndSignedInDays(91)), nil, OutcomeFail},
		{"dormant/days=30 29 days", days30, RuleDormant, fndWith(fndHuman("u"), fndSignedInDays(29)), nil, OutcomePass},
		{"dormant/days=30 30 days", days30, RuleDormant, fndWith(fndHuman("u"), fndSignedInDays(30)), nil, OutcomeFail},
		{"dormant/no activity data", FindingsConfig{}, RuleDormant, fndWith(fndHuman("u"), fndSilent), nil, OutcomeUnknown},
		{"dormant/never signed in created 89 days", FindingsConfig{}, RuleDormant, fndWith(fndHuman("u"), fndNeverSignedIn(89)), nil, OutcomePass},
		{"dormant/never signed in created 90 days", FindingsConfig{}, RuleDormant, fndWith(fndHuman("u"), fndNeverSignedIn(90)), nil, OutcomeFail},
		{"dormant/never signed in created 91 days", FindingsConfig{}, RuleDormant, fndWith(fndHuman("u"), fndNeverSignedIn(91)), nil, OutcomeFail},
		{"dormant/never signed in created unknown", FindingsConfig{}, RuleDormant, fndWith(fndWith(fndHuman("u"), fndNeverSignedIn(0)), func(r *idsnap.Record) { r.CreatedAt = time.Time{} }), nil, OutcomeUnknown},
		{"dormant/sign-ins without a time", FindingsConfig{}, RuleDormant, fndWith(fndHuman("u"), func(r *idsnap.Record) { r.Activity = &idsnap.Activity{SignIns: 4} }), nil, OutcomeUnknown},
		{"dormant/suspended not in population", FindingsConfig{}, RuleDormant, fndWith(fndWith(fndHuman("u"), fndSignedInDays(200)), fndStatus(idsnap.StatusSuspended)), nil, ""},
		{"dormant/machine not in population", FindingsConfig{}, RuleDormant, fndWith(fndHuman("u"), fndMachineRec), nil, ""},

		{"never-signed-in/signed in", FindingsConfig{}, RuleNeverSignedIn, fndHuman("u"), nil, OutcomePass},
		{"never-signed-in/created 29 days", FindingsConfig{}, RuleNeverSignedIn, fndWith(fndHuman("u"), fndNeverSignedIn(29)), nil, OutcomePass},
		{"never-signed-in/created exactly 30 days", FindingsConfig{}, RuleNeverSignedIn, fndWith(fndHuman("u"), fndNeverSignedIn(30)), nil, OutcomeFail},
		{"never-signed-in/created 31 days", FindingsConfig{}, RuleNeverSignedIn, fndWith(fndHuman("u"), fndNeverSignedIn(31)), nil, OutcomeFail},
		{"never-signed-in/days=5", FindingsConfig{NeverSignedIn: DaysParams{Days: 5}}, RuleNeverSignedIn, fndWith(fndHuman("u"), fndNeverSignedIn(5)), nil, OutcomeFail},
		{"never-signed-in/no activity data", FindingsConfig{}, RuleNeverSignedIn, fndWith(fndHuman("u"), fndSilent), nil, OutcomeUnknown},
		{"never-signed-in/inactive not in population", FindingsConfig{}, RuleNeverSignedIn, fndWith(fndWith(fndHuman("u"), fndNeverSignedIn(100)), fndStatus(idsnap.StatusInactive)), nil, ""},

		{"suspended-with-grants/suspended with grant", FindingsConfig{}, RuleSuspendedGrant, fndWith(fndHuman("u"), fndStatus(idsnap.StatusSuspended)), []idsnap.Record{fndGrant("u", "o1:member", "")}, OutcomeFail},
		{"suspended-with-grants/inactive grant", FindingsConfig{}, RuleSuspendedGrant, fndWith(fndHuman("u"), fndStatus(idsnap.StatusSuspended)), []idsnap.Record{fndGrant("u", "o1:member", idsnap.StatusInactive)}, OutcomePass},
		{"suspended-with-grants/inactive without grants", FindingsConfig{}, RuleSuspendedGrant, fndWith(fndHuman("u"), fndStatus(idsnap.StatusInactive)), nil, OutcomePass},
		{"suspended-with-grants/deleted with grant", FindingsConfig{}, RuleSuspendedGrant, fndWith(fndHuman("u"), fndStatus(idsnap.StatusDeleted)), []idsnap.Record{fndGrant("u", "p1:viewer", idsnap.StatusActive)}, OutcomeFail},
		{"suspended-with-grants/active not in population", FindingsConfig{}, RuleSuspendedGrant, fndHuman("u"), []idsnap.Record{fndGrant("u", "p1:viewer", "")}, ""},
		{"suspended-with-grants/initial not in population", FindingsConfig{}, RuleSuspendedGrant, fndWith(fndHuman("u"), fndStatus(idsnap.StatusInitial)), []idsnap.Record{fndGrant("u", "p1:viewer", "")}, ""},

		{"unverified-email/verified", FindingsConfig{}, RuleUnverified, fndHuman("u"), nil, OutcomePass},
		{"unverified-email/unverified", FindingsConfig{}, RuleUnverified, fndWith(fndHuman("u"), func(r *idsnap.Record) { r.EmailVerified = fndBool(false) }), nil, OutcomeFail},
		{"unverified-email/provider silent", FindingsConfig{}, RuleUnverified, fndWith(fndHuman("u"), func(r *idsnap.Record) { r.EmailVerified = nil }), nil, OutcomeUnknown},
		{"unverified-email/no email", FindingsConfig{}, RuleUnverified, fndWith(fndHuman("u"), func(r *idsnap.Record) { r.Email = ""; r.EmailVerified = fndBool(false) }), nil, ""},
		{"unverified-email/suspended", FindingsConfig{}, RuleUnverified, fndWith(fndWith(fndHuman("u"), fndStatus(idsnap.StatusSuspended)), func(r *idsnap.Record) { r.EmailVerified = fndBool(false) }), nil, ""},

		{"machine-with-grants/machine with grant", FindingsConfig{}, RuleMachineGrants, fndWith(fndHuman("u"), fndMachineRec), []idsnap.Record{fndGrant("u", "p1:viewer", "")}, OutcomeFail},
		{"machine-with-grants/suspended machine with grant", FindingsConfig{}, RuleMachineGrants, fndWith(fndWith(fndHuman("u"), fndMachineRec), fndStatus(idsnap.StatusSuspended)), []idsnap.Record{fndGrant("u", "p1:viewer", "")}, OutcomeFail},
		{"machine-with-grants/machine without", FindingsConfig{}, RuleMachineGrants, fndWith(fndHuman("u"), fndMachineRec), nil, OutcomePass},
		{"machine-with-grants/human", FindingsConfig{}, RuleMachineGrants, fndHuman("u"), []idsnap.Record{fndGrant("u", "p1:viewer", "")}, ""},

		{"privileged/active admin", FindingsConfig{}, RulePrivileged, fndHuman("u"), []idsnap.Record{fndGrant("u", "p1:admin", "")}, OutcomePass},
		{"privileged/dormant admin", FindingsConfig{}, RulePrivileged, fndWith(fndHuman("u"), fndSignedInDays(100)), []idsnap.Record{fndGrant("u", "p1:admin", "")}, OutcomeFail},
		{"privileged/owner any case", FindingsConfig{}, RulePrivileged, fndWith(fndHuman("u"), fndSignedInDays(90)), []idsnap.Record{fndGrant("u", "p1:Org-Owner", "")}, OutcomeFail},
		{"privileged/admin without activity", FindingsConfig{}, RulePrivileged, fndWith(fndHuman("u"), fndSilent), []idsnap.Record{fndGrant("u", "p1:admin", "")}, OutcomeUnknown},
		{"privileged/machine admin", FindingsConfig{}, RulePrivileged, fndWith(fndWith(fndHuman("u"), fndMachineRec), fndSilent), []idsnap.Record{fndGrant("u", "p1:admin", "")}, OutcomeUnknown},
		{"privileged/suspended admin", FindingsConfig{}, RulePrivileged, fndWith(fndWith(fndHuman("u"), fndSignedInDays(300)), fndStatus(idsnap.StatusSuspended)), []idsnap.Record{fndGrant("u", "p1:admin", "")}, OutcomePass},
		{"privileged/revoked admin grant", FindingsConfig{}, RulePrivileged, fndWith(fndHuman("u"), fndSignedInDays(300)), []idsnap.Record{fndGrant("u", "p1:admin", idsnap.StatusInactive)}, ""},
		{"privileged/member only", FindingsConfig{}, RulePrivileged, fndWith(fndHuman("u"), fndSignedInDays(300)), []idsnap.Record{fndGrant("u", "o1:member", "")}, ""},
		{"privileged/regexp pattern and own days", viewer, RulePrivileged, fndWith(fndHuman("u"), fndSignedInDays(10)), []idsnap.Record{fndGrant("u", "p1:viewer", "")}, OutcomeFail},
		{"privileged/regexp pattern replaces defaults", viewer, RulePrivileged, fndWith(fndHuman("u"), fndSignedInDays(300)), []idsnap.Record{fndGrant("u", "p1:admin", "")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, detail := fndOutcomeOf(t, tt.cfg, tt.rule, "u", append([]idsnap.Record{tt.user}, tt.extra...)...)
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
	kinde := fndInputOf("kinde", 7, fndAt, append(fndAccess(),
		fndWith(fndHuman("a"), fndSignedInDays(120)),
		fndWith(fndHuman("b"), fndSignedInDays(5)),
		fndWith(fndHuman("c"), fndNeverSignedIn(45)),
		fndWith(fndHuman("d"), fndStatus(idsnap.StatusSuspended)),
		fndGrant("d", "o1:member", ""),
	)...)
	// The same users, read from a snapshot taken 100 days earlier: a's last
	// sign-in is then 20 days old, and b and c (created after) do not
	// matter: only the snapshot's own time counts.
	old := fndInputOf("kinde-old", 3, fndAt.Add(-100*24*time.Hour), fndWith(fndHuman("a"), fndSignedInDays(120)))
	ory := fndInputOf("ory", 8, fndAt, fndWith(fndHuman("x"), fndSilent), fndWith(fndHuman("y"), fndSilent))
	res, err := Findings(t.Context(), []FindingsInput{ory, kinde, old}, FindingsConfig{}, PeopleConfig{})
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
	kinde := fndInputOf("kinde", 1, fndAt,
		fndHuman("alice"),
		fndWith(fndHuman("bob"), fndStatus(idsnap.StatusSuspended)),
		fndHuman("carol"),
		fndWith(fndHuman("dave"), func(r *idsnap.Record) { r.Email = "dave@other.com"; r.ExternalID = "ext-dave" }),
	)
	zitadel := fndInputOf("zitadel", 2, fndAt,
		fndWith(fndWith(fndHuman("z-alice"), func(r *idsnap.Record) { r.Email = "Alice+work@ACME.com" }), fndStatus(idsnap.StatusInactive)),
		fndWith(fndHuman("z-bob"), func(r *idsnap.Record) { r.Email = "bob@acme.com" }),
		fndWith(fndHuman("z-carol"), func(r *idsnap.Record) { r.Email = "carol@acme.com" }),
		fndWith(fndWith(fndHuman("z-dave"), func(r *idsnap.Record) { r.Email = "" }), fndStatus(idsnap.StatusDeleted)),
		fndWith(fndWith(fndHuman("z-dave2"), func(r *idsnap.Record) { r.Email = "dave2@x.com"; r.ExternalID = "ext-dave" }), fndStatus(idsnap.StatusDeleted)),
	)
	res, err := Findings(t.Context(), []FindingsInput{kinde, zitadel}, FindingsConfig{}, PeopleConfig{})
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
	s := res.Rules[fndRuleIndex(RuleStatusMismatch)]
	if s.Population != 8 || s.Fail != 3 { // alice, bob, carol, dave in each source but z-dave
		t.Errorf("status-mismatch population, fail = %d, %d, want 8, 3", s.Population, s.Fail)
	}
}

func TestFindingsInputErrors(t *testing.T) {
	ctx := t.Context()
	boom := errors.New("disk on fire")
	tests := []struct {
		name string
		in   []FindingsInput
		want string
	}{
		{"duplicate source", []FindingsInput{fndInputOf("k", 1, fndAt), fndInputOf("k", 2, fndAt)}, "source k given twice"},
		{"read error", []FindingsInput{{Snapshot: idsnap.Snapshot{ID: 4, Source: "k"}, Records: func(context.Context, func(idsnap.Record) error) error { return boom }}}, "k: read snapshot 4: disk on fire"},
		{"user after grants", []FindingsInput{{Snapshot: idsnap.Snapshot{ID: 4, Source: "k"}, Records: func(_ context.Context, fn func(idsnap.Record) error) error {
			if err := fn(fndGrant("a", "o:member", "")); err != nil {
				return err
			}
			return fn(fndHuman("a"))
		}}}, "records must come users first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Findings(ctx, tt.in, FindingsConfig{}, PeopleConfig{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Findings() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestFindingsConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  FindingsConfig
		want string // "" = valid
	}{
		{"zero is defaults", FindingsConfig{}, ""},
		{"negative days", FindingsConfig{Dormant: DaysParams{Days: -1}}, "dormant days = -1"},
		{"bad regexp", FindingsConfig{Privileged: PrivilegedParams{Patterns: []string{"re:("}}}, `pattern "re:("`},
		{"empty glob", FindingsConfig{Privileged: PrivilegedParams{Patterns: []string{""}}}, "pattern is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
	p := fndMustParams(t, FindingsConfig{Dormant: DaysParams{Days: 14}})
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
			re, err := fndCompilePattern(tt.pattern)
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

// fndGolden is a small multi-provider tenant with one of each finding.
func fndGolden(t testing.TB) *FindingsResult {
	kinde := fndInputOf("kinde-prod", 12, fndAt, append(fndAccess(),
		fndWith(fndHuman("kp_alice"), func(r *idsnap.Record) { r.Email = "alice@acme.com" }),
		fndWith(fndHuman("kp_bob"), fndSignedInDays(120)),
		fndWith(fndWith(fndHuman("kp_carol"), fndNeverSignedIn(45)), func(r *idsnap.Record) { r.Email = "carol+kinde@acme.com" }),
		fndWith(fndWith(fndHuman("kp_dan"), fndStatus(idsnap.StatusSuspended)), func(r *idsnap.Record) { r.Name = "=HYPERLINK(\"x\")" }),
		fndWith(fndHuman("kp_eve"), func(r *idsnap.Record) { r.EmailVerified = fndBool(false); r.Name = "Eve \x1b[31mRed" }),
		fndGrant("kp_bob", "p1:admin", ""),
		fndGrant("kp_dan", "o1:member", ""),
		fndGrant("kp_dan", "p1:viewer", ""),
		fndGrant("kp_alice", "p1:Org-Owner", ""),
	)...)
	zitadel := fndInputOf("zitadel", 13, fndAt.Add(-time.Hour),
		fndWith(fndWith(fndHuman("z1"), fndSilent), func(r *idsnap.Record) { r.Email = "Alice@Acme.com" }),
		fndWith(fndWith(fndWith(fndHuman("z2"), fndSilent), fndStatus(idsnap.StatusSuspended)), func(r *idsnap.Record) { r.Email = "carol@acme.com" }),
		fndWith(fndWith(fndHuman("svc"), fndMachineRec), func(r *idsnap.Record) { r.Name = "ci-bot"; r.Activity = nil }),
		idsnap.Record{Kind: idsnap.KindResource, ID: "p9", Name: "Billing"},
		idsnap.Record{Kind: idsnap.KindEntitlement, ID: "p9:owner", ResourceID: "p9", Name: "owner"},
		fndGrant("svc", "p9:owner", ""),
	)
	res, err := Findings(context.Background(), []FindingsInput{zitadel, kinde}, FindingsConfig{}, PeopleConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestFindingsGolden(t *testing.T) {
	res := fndGolden(t)
	for _, f := range []Format{FormatJSON, FormatTable, FormatCSV, FormatMarkdown} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := RenderFindings(&buf, f, res); err != nil {
				t.Fatal(err)
			}
			fndCheckGolden(t, filepath.Join("testdata", "findings."+string(f)+".golden"), buf.Bytes())
		})
	}
}

// TestFindingsJSONContract decodes the JSON as a script would and checks
// the documented keys, and that streaming writes what RenderJSON would.
func TestFindingsJSONContract(t *testing.T) {
	res := fndGolden(t)
	var buf bytes.Buffer
	if err := RenderFindings(&buf, FormatJSON, res); err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("findings JSON does not parse: %v", err)
	}
	if got := slices.Sorted(fndKeys(doc)); !slices.Equal(got, []string{"at", "findings", "rules"}) {
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
	if v.At["kinde-prod"].ID != 12 || !v.At["zitadel"].TakenAt.Equal(fndAt.Add(-time.Hour)) {
		t.Errorf("at = %+v, want kinde-prod #12 and zitadel at %s", v.At, fndAt.Add(-time.Hour))
	}
	if len(v.Rules) != len(fndRules) {
		t.Errorf("%d rules, want %d", len(v.Rules), len(fndRules))
	}
	for _, r := range v.Rules {
		if got := slices.Sorted(fndKeys(r)); !slices.Equal(got, []string{"fail", "id", "params", "pass", "population", "unknown", "version"}) {
			t.Errorf("rule keys = %v", got)
		}
	}
	if len(v.Findings) != res.Len() || len(v.Findings) == 0 {
		t.Fatalf("%d findings in JSON, result has %d", len(v.Findings), res.Len())
	}
	for _, f := range v.Findings {
		if got := slices.Sorted(fndKeys(f)); !slices.Equal(got, []string{"detail", "outcome", "principal", "rule", "source"}) {
			t.Errorf("finding keys = %v", got)
		}
		var o string
		_ = json.Unmarshal(f["outcome"], &o)
		if o != "FAIL" && o != "UNKNOWN" {
			t.Errorf("outcome %q, want FAIL or UNKNOWN", o)
		}
	}
	var whole bytes.Buffer
	all := slices.Collect(res.Findings())
	if err := RenderJSON(&whole, struct {
		At       map[string]FindingsAt `json:"at"`
		Rules    []FindingsRule        `json:"rules"`
		Findings []Finding             `json:"findings"`
	}{res.At, res.Rules, all}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), whole.Bytes()) {
		t.Errorf("streamed JSON differs from RenderJSON:\n%s\nwant\n%s", buf.Bytes(), whole.Bytes())
	}
	empty := &FindingsResult{b: &fndBuilder{}}
	buf.Reset()
	if err := RenderFindings(&buf, FormatJSON, empty); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"at\": {},\n  \"rules\": [],\n  \"findings\": []\n}\n"; buf.String() != want {
		t.Errorf("empty result JSON = %q, want %q", buf.String(), want)
	}
}

// TestFindingsOrder checks the promised order: rule, FAIL before UNKNOWN,
// source, principal id.
func TestFindingsOrder(t *testing.T) {
	res := fndGolden(t)
	all := slices.Collect(res.Findings())
	ok := slices.IsSortedFunc(all, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(fndRuleIndex(a.Rule), fndRuleIndex(b.Rule)),
			cmp.Compare(fndOutcomeRank(a.Outcome), fndOutcomeRank(b.Outcome)),
			strings.Compare(a.Source, b.Source),
			strings.Compare(a.Principal.ID, b.Principal.ID),
		)
	})
	if !ok {
		t.Errorf("findings out of order: %v", all)
	}
}

func fndOutcomeRank(o Outcome) int {
	if o == OutcomeUnknown {
		return 1
	}
	return 0
}

func fndKeys[V any](m map[string]V) func(func(string) bool) {
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
		if got := fndThousands(in); got != want {
			t.Errorf("fndThousands(%d) = %q, want %q", in, got, want)
		}
	}
}

// fndUpdating reads the package's -update flag (declared in diff_test.go)
// by name, so these tests do not depend on that file's variable.
func fndUpdating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// fndCheckGolden compares got with the golden file; -update rewrites it.
func fndCheckGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if fndUpdating() {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
