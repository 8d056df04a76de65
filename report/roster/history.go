package roster

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report/findings"
)

// accessAt says, per snapshot, whether the account had access then:
// present, not suspended, inactive or deleted, and holding a grant where
// it ever held one (an Ory identity holds none, so its status decides).
// changes are store.History's for the account.
func accessAt(snaps []idsnap.Snapshot, changes []idsnap.Change) []bool {
	changes = slices.Clone(changes)
	slices.SortStableFunc(changes, func(a, b idsnap.Change) int { return cmp.Compare(a.SnapshotID, b.SnapshotID) })
	ever := false
	for _, c := range changes {
		if c.Kind == idsnap.KindGrant {
			ever = true
		}
	}
	present, status := false, idsnap.Status("")
	grants := map[string]bool{}
	out := make([]bool, len(snaps))
	k := 0
	for i, s := range snaps {
		for ; k < len(changes) && changes[k].SnapshotID <= s.ID; k++ {
			c := changes[k]
			switch {
			case c.Kind == idsnap.KindUser && c.After != nil:
				present, status = true, c.After.Status
			case c.Kind == idsnap.KindUser:
				present = false
			case c.After != nil && (c.After.Status == "" || c.After.Status == idsnap.StatusActive):
				grants[c.ID] = true
			default:
				delete(grants, c.ID)
			}
		}
		gone := status == idsnap.StatusSuspended || status == idsnap.StatusInactive || status == idsnap.StatusDeleted
		out[i] = present && !gone && (!ever || len(grants) > 0)
	}
	return out
}

// leaverLate: the population is the accounts of terminated people whose
// end date has passed at the snapshot, found at that snapshot or, for
// accounts deleted since, by the person's emails in any version. The
// removal is bracketed by the last snapshot with access and the first
// without: FAIL when access outlived the end by more than hours at a
// snapshot, PASS when it was gone within hours, UNKNOWN when the bracket
// straddles the limit.
func (c *checker) leaverLate(ctx context.Context, add func(findings.Outcome, *account, string)) error {
	limit := time.Duration(c.hours) * time.Hour
	for pi := range c.res.Roster.People {
		p := &c.res.Roster.People[pi]
		if p.Status != Terminated || p.End.IsZero() {
			continue
		}
		accts, err := c.accountsOf(ctx, pi)
		if err != nil {
			return err
		}
		for _, a := range accts {
			if a.snap.TakenAt.Before(p.End) {
				continue
			}
			snaps, err := c.sourceSnaps(ctx, a.snap)
			if err != nil {
				return err
			}
			changes, err := c.h.History(ctx, a.source(), a.id)
			if err != nil {
				return err
			}
			o, d := judgeLeaver(snaps, accessAt(snaps, changes), p.End, limit)
			if o != findings.OutcomePass {
				d = p.Describe() + "; " + d + "; matched by " + a.why
			}
			add(o, a, d)
		}
	}
	return nil
}

// judgeLeaver decides leaver-deprovisioned-late for one account from
// whether it had access at each snapshot.
func judgeLeaver(snaps []idsnap.Snapshot, access []bool, end time.Time, limit time.Duration) (findings.Outcome, string) {
	deadline := end.Add(limit)
	snap := func(i int) string { return fmt.Sprintf("snapshot #%d (%s)", snaps[i].ID, stamp(snaps[i].TakenAt)) }
	before, removed := -1, -1
	for i, s := range snaps {
		if s.TakenAt.Before(end) {
			before = i
		} else if !access[i] {
			removed = i
			break
		}
	}
	switch {
	case before >= 0 && !access[before] && removed == before+1:
		return findings.OutcomePass, "" // gone before the end date
	case removed < 0:
		last := len(snaps) - 1
		if last < 0 || !snaps[last].TakenAt.After(deadline) {
			return findings.OutcomePass, "" // still within the allowance
		}
		return findings.OutcomeFail, fmt.Sprintf("still has access at %s, %dh after the end (limit %dh)",
			snap(last), hoursAfter(snaps[last].TakenAt, end), int64(limit/time.Hour))
	case !snaps[removed].TakenAt.After(deadline):
		return findings.OutcomePass, ""
	case removed > 0 && access[removed-1] && snaps[removed-1].TakenAt.After(deadline):
		return findings.OutcomeFail, fmt.Sprintf("still had access at %s, %dh after the end (limit %dh); gone by %s",
			snap(removed-1), hoursAfter(snaps[removed-1].TakenAt, end), int64(limit/time.Hour), snap(removed))
	case removed > 0:
		return findings.OutcomeUnknown, fmt.Sprintf("removed between %s and %s: no snapshot tells whether within %dh of the end",
			snap(removed-1), snap(removed), int64(limit/time.Hour))
	}
	return findings.OutcomeUnknown, fmt.Sprintf("gone by %s, the source's first snapshot, %dh after the end: nothing shows when it was removed",
		snap(removed), hoursAfter(snaps[removed].TakenAt, end))
}

// accountsOf returns person pi's accounts: those of the snapshots
// reported on, and those deleted since that some version knew under one
// of the person's addresses (store.FindUsers matches email ignoring case).
func (c *checker) accountsOf(ctx context.Context, pi int) ([]*account, error) {
	if c.byPerson == nil {
		c.byPerson = map[int][]int{}
		for i := range c.res.accts {
			if p := c.res.accts[i].person; p >= 0 {
				c.byPerson[p] = append(c.byPerson[p], i)
			}
		}
	}
	var out []*account
	seen := map[[2]string]bool{}
	for _, i := range c.byPerson[pi] {
		a := &c.res.accts[i]
		out = append(out, a)
		seen[[2]string{a.source(), a.id}] = true
	}
	p := &c.res.Roster.People[pi]
	for _, q := range append([]string{p.Email}, p.Aliases...) {
		recs, err := c.h.FindUsers(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			at, ok := c.at[r.Source]
			if !ok || seen[[2]string{r.Source, r.ID}] {
				continue
			}
			person, why := c.keys.direct(c.res.Roster, r.Email, r.ExternalID)
			if person != pi {
				continue
			}
			seen[[2]string{r.Source, r.ID}] = true
			out = append(out, &account{snap: at, id: r.ID, email: r.Email, name: cmp.Or(r.Name, r.Username),
				externalID: r.ExternalID, status: idsnap.StatusDeleted, person: pi, why: why + ", deleted since"})
		}
	}
	return out, nil
}

// joinerBeforeStart: the population is the accounts of people with a
// start date; FAIL where the account was created, or it or a grant was in
// a snapshot, before the start; UNKNOWN where the provider gives no
// creation time and no snapshot precedes the start.
func (c *checker) joinerBeforeStart(ctx context.Context, add func(findings.Outcome, *account, string)) error {
	for i := range c.res.accts {
		a := &c.res.accts[i]
		if a.person < 0 || c.person(a).Start.IsZero() {
			continue
		}
		p := c.person(a)
		fail := func(what string, t time.Time) {
			add(findings.OutcomeFail, a, fmt.Sprintf("%s; %s %s, %s before the start %s; matched by %s",
				p.Describe(), what, stamp(t), span(p.Start.Sub(t)), stamp(p.Start), a.why))
		}
		switch {
		case !a.created.IsZero() && a.created.Before(p.Start):
			fail("account created", a.created)
			continue
		case !a.firstGrant.IsZero() && a.firstGrant.Before(p.Start):
			fail("grant created", a.firstGrant)
			continue
		case !a.created.IsZero():
			add(findings.OutcomePass, a, "")
			continue
		}
		snaps, err := c.sourceSnaps(ctx, a.snap)
		if err != nil {
			return err
		}
		if len(snaps) == 0 || !snaps[0].TakenAt.Before(p.Start) {
			add(findings.OutcomeUnknown, a, fmt.Sprintf("%s; the provider gives no creation time and the first snapshot is after the start %s", p.Describe(), stamp(p.Start)))
			continue
		}
		changes, err := c.h.History(ctx, a.source(), a.id)
		if err != nil {
			return err
		}
		taken := map[int64]time.Time{}
		for _, s := range snaps {
			taken[s.ID] = s.TakenAt
		}
		early := time.Time{}
		for _, ch := range changes {
			if t, ok := taken[ch.SnapshotID]; ok && (ch.Type == idsnap.Joined || ch.Type == idsnap.Granted) && t.Before(p.Start) && (early.IsZero() || t.Before(early)) {
				early = t
			}
		}
		if !early.IsZero() {
			fail("seen in the snapshot of", early)
			continue
		}
		add(findings.OutcomePass, a, "")
	}
	return nil
}

// span writes a duration in days, or hours under two days.
func span(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%dh", int64(d/time.Hour))
	}
	return fmt.Sprintf("%d days", int64(d/(24*time.Hour)))
}
