package report

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
)

// Policy says what a command does with a source a WHEN does not reach.
type Policy int

const (
	// Lenient is for reports (diff, access, findings, people): a source
	// without snapshots, or whose first snapshot is after the time asked
	// for, is skipped with the reason; latest~N past a source's first
	// reads the first, marked Earliest.
	Lenient Policy = iota
	// Strict is for evidence: a source without snapshots is an error, and
	// evidence "as of T" never stands in a later snapshot: a source the
	// WHEN does not reach (a time before its first snapshot, latest~N past
	// it) is left out, or is an error when named with --source.
	Strict
)

// Scope says which sources a command reads, and how.
type Scope struct {
	// Sources are those named with --source; none means every source with
	// snapshots. A snapshot-id WHEN confines the read to its own source.
	Sources []string
	Policy  Policy
	// Location is the zone of times in reasons; nil is UTC.
	Location *time.Location
}

// Span is where a period begins and ends in one source.
type Span struct {
	From, To Point
}

// Resolve picks, per source in scope, the snapshot at names (see
// When.Resolve) among snaps, every snapshot in the database. Points and
// skipped sources come sorted by source name.
func Resolve(snaps []idsnap.Snapshot, at When, scope Scope) ([]Point, []Skipped, error) {
	names, by, skipped, err := scope.sources(snaps, at)
	if err != nil {
		return nil, nil, err
	}
	var points []Point
	for _, name := range names {
		list := by[name]
		p, ok := at.Resolve(list)
		var why string
		switch {
		case !ok:
			why = "no snapshot matches " + at.label()
		case at.Kind == WhenTime && p.Earliest:
			why = tooOld(at, list[0], scope.Location)
		case p.Earliest && scope.Policy == Strict:
			why = fmt.Sprintf("fewer than %d snapshots", at.Back+1)
		}
		if why == "" {
			points = append(points, p)
			continue
		}
		if scope.Policy == Strict && slices.Contains(scope.Sources, name) {
			return nil, nil, fmt.Errorf("%s: %s", name, why)
		}
		skipped = append(skipped, Skipped{Source: name, Reason: why})
	}
	return points, sortSkipped(skipped), nil
}

// ResolveSpan picks, per source in scope, the snapshots since and until
// name. since may fall before a source's first snapshot (its earliest
// stands in, marked); a source whose first snapshot is after until is
// skipped: nothing is known of it then.
func ResolveSpan(snaps []idsnap.Snapshot, since, until When, scope Scope) ([]Span, []Skipped, error) {
	if since.Kind == WhenTime && until.Kind == WhenTime && since.At.After(until.At) {
		return nil, nil, fmt.Errorf("%s (%s) is after %s (%s): swap them", since.label(), since, until.label(), until)
	}
	names, by, skipped, err := scope.sources(snaps, since, until)
	if err != nil {
		return nil, nil, err
	}
	var spans []Span
	for _, name := range names {
		list := by[name]
		from, okFrom := since.Resolve(list)
		to, okTo := until.Resolve(list)
		switch {
		case !okFrom || !okTo:
			skipped = append(skipped, Skipped{Source: name, Reason: "no snapshot matches " + since.label() + " and " + until.label()})
		case until.Kind == WhenTime && to.Earliest:
			skipped = append(skipped, Skipped{Source: name, Reason: tooOld(until, list[0], scope.Location)})
		case from.Snapshot.ID > to.Snapshot.ID:
			return nil, nil, fmt.Errorf("%s: %s is #%d, newer than %s #%d: swap them", name, since.label(), from.Snapshot.ID, until.label(), to.Snapshot.ID)
		default:
			spans = append(spans, Span{From: from, To: to})
		}
	}
	return spans, sortSkipped(skipped), nil
}

// sources groups snaps by source, oldest first, and picks the sources to
// read: a snapshot id's own source when a WHEN is one, else those named,
// else every source with snapshots. A named source without snapshots is
// skipped, or under Strict an error.
func (s Scope) sources(snaps []idsnap.Snapshot, whens ...When) (names []string, by map[string][]idsnap.Snapshot, skipped []Skipped, err error) {
	by = map[string][]idsnap.Snapshot{}
	sourceOf := map[int64]string{}
	for _, sn := range snaps {
		by[sn.Source] = append(by[sn.Source], sn)
		sourceOf[sn.ID] = sn.Source
	}
	for _, list := range by {
		slices.SortFunc(list, func(a, b idsnap.Snapshot) int { return cmp.Compare(a.ID, b.ID) })
	}
	var scope string
	var scopeWhen When
	for _, w := range whens {
		if w.Kind != WhenSnapshot {
			continue
		}
		src, ok := sourceOf[w.Snapshot]
		if !ok {
			return nil, nil, nil, fmt.Errorf("%s: snapshot #%d does not exist: list them with idsnap snapshots", w.label(), w.Snapshot)
		}
		if scope != "" && src != scope {
			return nil, nil, nil, fmt.Errorf("%s is a snapshot of %s and %s one of %s: compare snapshots of one source", scopeWhen, scope, w, src)
		}
		scope, scopeWhen = src, w
	}
	var named []string
	switch {
	case scope != "" && len(s.Sources) > 0 && !slices.Contains(s.Sources, scope):
		return nil, nil, nil, fmt.Errorf("the snapshot given is of source %s, which --source leaves out", scope)
	case scope != "":
		named = []string{scope}
	case len(s.Sources) > 0:
		named = s.Sources
	default:
		for n := range by {
			named = append(named, n)
		}
	}
	named = slices.Compact(slices.Sorted(slices.Values(named)))
	for _, n := range named {
		switch {
		case len(by[n]) > 0:
			names = append(names, n)
		case s.Policy == Strict:
			return nil, nil, nil, fmt.Errorf("source %s has no snapshots: pull it first or leave it out", n)
		default:
			skipped = append(skipped, Skipped{Source: n, Reason: "no snapshots: pull it first (idsnap pull --source " + n + ")"})
		}
	}
	return names, by, skipped, nil
}

func sortSkipped(s []Skipped) []Skipped {
	slices.SortFunc(s, func(a, b Skipped) int { return strings.Compare(a.Source, b.Source) })
	return s
}

// tooOld is why a source is left out when a time precedes its first
// snapshot: nothing is known of it then.
func tooOld(w When, first idsnap.Snapshot, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return fmt.Sprintf("no snapshot at or before %s (its first is #%d, %s)",
		w.At.In(loc).Format(time.RFC3339), first.ID, first.TakenAt.In(loc).Format(time.RFC3339))
}

// ChangesFunc reads what changed in a source from snapshot from to
// snapshot to (store.DB.Changes).
type ChangesFunc func(ctx context.Context, from, to int64) ([]idsnap.Change, error)

// StateFunc is a snapshot's state (store.DB.State bound to its id).
type StateFunc func(idsnap.Snapshot) State

// DiffQuery is what the diff command asks: the period, the sources, what
// to keep.
type DiffQuery struct {
	Since, Until When
	Scope
	Filter Filter
	// AcrossTenants compares a source across a change of tenant; without
	// it such a source is not compared (see SplitSpan).
	AcrossTenants bool
}

// Compare is the diff of each source in scope from the snapshot at Since
// to the one at Until.
func Compare(ctx context.Context, snaps []idsnap.Snapshot, q DiffQuery, changes ChangesFunc) (*Diff, error) {
	spans, skipped, err := ResolveSpan(snaps, q.Since, q.Until, q.Scope)
	if err != nil {
		return nil, err
	}
	sources := make([]SourceDiff, 0, len(spans))
	var refused []Skipped
	for _, sp := range spans {
		from, to := sp.From.Snapshot, sp.To.Snapshot
		sd := SourceDiff{Source: from.Source, From: sp.From, To: sp.To}
		if _, tcs := SplitSpan(snaps, sp); len(tcs) > 0 {
			if !q.AcrossTenants {
				refused = append(refused, Skipped{Source: from.Source, Reason: TenantRefusal(tcs[0])})
				continue
			}
			sd.TenantChanges = tcs
		}
		if from.ID != to.ID {
			if sd.Changes, err = changes(ctx, from.ID, to.ID); err != nil {
				return nil, fmt.Errorf("%s: compare #%d with #%d: %w", from.Source, from.ID, to.ID, err)
			}
		}
		sources = append(sources, sd)
	}
	if len(sources) == 0 && len(refused) == 1 {
		return nil, fmt.Errorf("%s: %s", refused[0].Source, refused[0].Reason)
	}
	d := NewDiff(sources, append(skipped, refused...), q.Filter)
	d.Location = q.Location
	return d, nil
}

// States resolves at per source in scope into the states findings and
// people read, and the sources skipped. With nothing to read it fails
// saying why.
func States(snaps []idsnap.Snapshot, at When, scope Scope, state StateFunc) ([]State, []Skipped, error) {
	points, skipped, err := Resolve(snaps, at, scope)
	if err != nil {
		return nil, nil, err
	}
	if len(points) == 0 {
		for _, s := range skipped {
			if slices.ContainsFunc(snaps, func(sn idsnap.Snapshot) bool { return sn.Source == s.Source }) {
				return nil, skipped, fmt.Errorf("no source has a snapshot at %s: give a later %s", at, at.label())
			}
		}
		return nil, skipped, fmt.Errorf("no snapshots to report on: pull first (idsnap pull)")
	}
	states := make([]State, len(points))
	for i, p := range points {
		states[i] = state(p.Snapshot)
	}
	return states, skipped, nil
}

// AccessQuery is what the access command asks.
type AccessQuery struct {
	At When
	Scope
	// Principal and Resource filter the rows when not empty.
	Principal, Resource string
	// Notes takes, for JSON and CSV, the line a table prints in its
	// summary: that no user matched Principal, or no resource Resource.
	// nil drops it.
	Notes io.Writer
}

// WriteAccess writes in format f, per source in scope, every grant held at
// q.At.
func WriteAccess(ctx context.Context, w io.Writer, f Format, snaps []idsnap.Snapshot, q AccessQuery, state StateFunc) error {
	points, skipped, err := Resolve(snaps, q.At, q.Scope)
	if err != nil {
		return err
	}
	aw, err := NewAccessWriter(w, f, points, skipped, q.Location)
	if err != nil {
		return err
	}
	matched, matchedRes := false, false
	for _, p := range points {
		j := NewAccessJoin(p.Snapshot.Source, p.Snapshot.ID, q.Principal, q.Resource)
		err := state(p.Snapshot).Records(ctx, func(r idsnap.Record) error {
			if row, ok := j.Add(r); ok {
				return aw.Write(row)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: read snapshot #%d: %w", p.Snapshot.Source, p.Snapshot.ID, err)
		}
		matched = matched || j.Matched()
		matchedRes = matchedRes || j.MatchedResource()
	}
	// "0 grants" alone would read as a user who holds nothing, or a
	// resource nobody may use.
	var notes []string
	if q.Principal != "" && !matched {
		notes = append(notes, fmt.Sprintf("no user %q in the snapshots read: give a user id, email or username as the provider has it", q.Principal))
	}
	if q.Resource != "" && !matchedRes {
		notes = append(notes, fmt.Sprintf("no resource %q in the snapshots read: give a resource id or name as the provider has it", q.Resource))
	}
	if len(notes) == 0 {
		return aw.Close()
	}
	note := strings.Join(notes, "; ")
	if f == FormatJSON || f == FormatCSV {
		if q.Notes != nil {
			fmt.Fprintf(q.Notes, "idsnap: %s\n", SafeText(note))
		}
	} else {
		aw.Note = note
	}
	return aw.Close()
}
