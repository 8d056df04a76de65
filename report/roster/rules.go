package roster

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/report/findings"
	"github.com/idsnap/idsnap/report/people"
)

// Rule ids, fixed by the CLI contract.
const (
	RuleTerminatedWithAccess = "terminated-with-access"
	RuleLeaverLate           = "leaver-deprovisioned-late"
	RuleNotInRoster          = "not-in-roster"
	RuleJoinerBeforeStart    = "joiner-before-start"
)

// DefaultLeaverHours is how long after a leaver's end date access may
// linger before leaver-deprovisioned-late FAILs.
const DefaultLeaverHours = 24

// RuleIDs lists the roster rules in report order.
func RuleIDs() []string {
	return []string{RuleTerminatedWithAccess, RuleLeaverLate, RuleNotInRoster, RuleJoinerBeforeStart}
}

// FindingsConfig is what the roster rules take from the [findings] table.
type FindingsConfig struct {
	LeaverLate HoursParams `toml:"leaver-deprovisioned-late"`
}

// HoursParams is a rule's only parameter: a number of hours.
type HoursParams struct {
	Hours int `toml:"hours"`
}

// Validate checks that hours is not negative.
func (c FindingsConfig) Validate() error {
	if c.LeaverLate.Hours < 0 {
		return fmt.Errorf("findings %s hours = %d: give a positive number of hours", RuleLeaverLate, c.LeaverLate.Hours)
	}
	return nil
}

func (c FindingsConfig) hours() int { return cmp.Or(c.LeaverLate.Hours, DefaultLeaverHours) }

// History is what the rules read beyond the snapshots at hand; store.DB
// has these methods. Snapshots lists oldest first.
type History interface {
	Snapshots(ctx context.Context, source string) ([]idsnap.Snapshot, error)
	History(ctx context.Context, source, principalID string) ([]idsnap.Change, error)
	FindUsers(ctx context.Context, query string) ([]idsnap.Record, error)
}

// Result is the roster rules' outcome, and each account's roster person
// for people and the access review.
type Result struct {
	Roster   *Roster
	Rules    []findings.Rule
	Findings []findings.Finding // by rule in report order, FAILs before UNKNOWNs, then source and principal id

	accts []account
}

// Person returns the roster person of an account of the snapshots checked
// and why it matched; nil when none does.
func (r *Result) Person(source, id string) (*Person, string) {
	k, ok := slices.BinarySearchFunc(r.accts, [2]string{source, id}, func(a account, t [2]string) int {
		return cmp.Or(strings.Compare(a.source(), t[0]), strings.Compare(a.id, t[1]))
	})
	if !ok || r.accts[k].person < 0 {
		return nil, ""
	}
	return &r.Roster.People[r.accts[k].person], r.accts[k].why
}

// IDsFor returns the roster rules that FAIL for an account.
func (r *Result) IDsFor(source, id string) []string {
	var ids []string
	for _, f := range r.Findings {
		if f.Outcome == findings.OutcomeFail && f.Source == source && f.Principal.ID == id && !slices.Contains(ids, f.Rule) {
			ids = append(ids, f.Rule)
		}
	}
	return ids
}

// Match reads the inputs' users and gives each its roster person, for
// people and the access review, without running the rules.
func Match(ctx context.Context, in []report.State, r *Roster, pc people.Config) (*Result, error) {
	accts, err := scan(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := match(ctx, accts, r, pc); err != nil {
		return nil, err
	}
	return &Result{Roster: r, accts: accts}, nil
}

// Check runs the roster rules over the inputs (each source's snapshot at
// the moment reported on), reading history from h for the leaver and
// joiner rules. Times compare against snapshot times, never the clock.
func Check(ctx context.Context, in []report.State, r *Roster, pc people.Config, cfg FindingsConfig, h History) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	res, err := Match(ctx, in, r, pc)
	if err != nil {
		return nil, err
	}
	c := &checker{res: res, hours: cfg.hours(), h: h, snaps: map[string][]idsnap.Snapshot{},
		at: map[string]idsnap.Snapshot{}, keys: newKeys(r, pc)}
	for _, x := range in {
		c.at[x.Snapshot.Source] = x.Snapshot
	}
	for _, rule := range []struct {
		id     string
		params map[string]any
		run    func(ctx context.Context, add func(o findings.Outcome, a *account, detail string)) error
	}{
		{RuleTerminatedWithAccess, nil, c.terminatedWithAccess},
		{RuleLeaverLate, map[string]any{"hours": c.hours}, c.leaverLate},
		{RuleNotInRoster, nil, c.notInRoster},
		{RuleJoinerBeforeStart, nil, c.joinerBeforeStart},
	} {
		sum := findings.Rule{ID: rule.id, Version: 1, Params: r.Ref()}
		for k, v := range rule.params {
			sum.Params[k] = v
		}
		var fails, unknowns []findings.Finding
		err := rule.run(ctx, func(o findings.Outcome, a *account, detail string) {
			sum.Population++
			f := findings.Finding{Rule: rule.id, Outcome: o, Source: a.source(), Detail: detail,
				Principal: findings.Principal{ID: a.id, Email: a.email, Name: a.name}}
			switch o {
			case findings.OutcomeFail:
				sum.Fail++
				fails = append(fails, f)
			case findings.OutcomeUnknown:
				sum.Unknown++
				unknowns = append(unknowns, f)
			default:
				sum.Pass++
			}
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rule.id, err)
		}
		for _, fs := range [][]findings.Finding{fails, unknowns} {
			slices.SortStableFunc(fs, func(a, b findings.Finding) int {
				return cmp.Or(strings.Compare(a.Source, b.Source), strings.Compare(a.Principal.ID, b.Principal.ID))
			})
			res.Findings = append(res.Findings, fs...)
		}
		res.Rules = append(res.Rules, sum)
	}
	return res, nil
}

type checker struct {
	res   *Result
	hours int
	h     History
	snaps map[string][]idsnap.Snapshot // per source, oldest first, up to the snapshot reported on
	at    map[string]idsnap.Snapshot   // per source, the snapshot reported on
	keys  *keys
	// byPerson lists each roster person's accounts (indices into
	// res.accts), built when the leaver rule first needs it.
	byPerson map[int][]int
}

func (c *checker) person(a *account) *Person { return &c.res.Roster.People[a.person] }

// terminatedWithAccess: the population is the accounts of terminated
// people whose access should have ended by the snapshot (no end date, or
// one before it); FAIL where the account is not suspended, inactive or
// deleted, or still holds a grant.
func (c *checker) terminatedWithAccess(_ context.Context, add func(findings.Outcome, *account, string)) error {
	for i := range c.res.accts {
		a := &c.res.accts[i]
		if a.person < 0 {
			continue
		}
		p := c.person(a)
		if p.Status != Terminated || (!p.End.IsZero() && p.End.After(a.snap.TakenAt)) {
			continue
		}
		if !a.gone() || a.grants > 0 {
			add(findings.OutcomeFail, a, fmt.Sprintf("%s; account %s, %s at snapshot #%d (%s); matched by %s",
				p.Describe(), a.status, grantText(a.grants, a.labels), a.snap.ID, stamp(a.snap.TakenAt), a.why))
			continue
		}
		add(findings.OutcomePass, a, "")
	}
	return nil
}

// notInRoster: the population is active human accounts; FAIL where no
// roster person matches. Machine accounts have no HR record.
func (c *checker) notInRoster(_ context.Context, add func(findings.Outcome, *account, string)) error {
	for i := range c.res.accts {
		a := &c.res.accts[i]
		if a.machine || a.status != idsnap.StatusActive {
			continue
		}
		if a.person >= 0 {
			add(findings.OutcomePass, a, "")
			continue
		}
		what := "no roster row matches its email"
		if a.email == "" {
			what = "it has no email, and no roster employee id matches it"
		}
		if a.externalID != "" {
			what += " or its external id " + a.externalID
		}
		add(findings.OutcomeFail, a, fmt.Sprintf("%s; %s", what, grantText(a.grants, a.labels)))
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// hoursAfter is how many whole hours t is after end.
func hoursAfter(t, end time.Time) int64 { return int64(t.Sub(end) / time.Hour) }

// sourceSnaps lists source's snapshots up to the one reported on.
func (c *checker) sourceSnaps(ctx context.Context, at idsnap.Snapshot) ([]idsnap.Snapshot, error) {
	if s, ok := c.snaps[at.Source]; ok {
		return s, nil
	}
	all, err := c.h.Snapshots(ctx, at.Source)
	if err != nil {
		return nil, err
	}
	var s []idsnap.Snapshot
	for _, x := range all {
		if x.ID <= at.ID {
			s = append(s, x)
		}
	}
	c.snaps[at.Source] = s
	return s, nil
}
