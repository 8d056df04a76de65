package evidence

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
)

// ReviewRequest is an access review as the user asked for it.
type ReviewRequest struct {
	At      report.When
	Sources []string // --source
	XLSX    bool
	// Location is the zone of times in the reasons a source is left out.
	Location *time.Location
	// Findings, when set, runs the findings rules on the review's states
	// and says which apply to a principal.
	Findings func(ctx context.Context, states []report.State) (func(source, principalID string) []string, error)
	// Roster, when set, gives a principal's roster columns; it is called
	// only after Findings, which may be what matched the roster.
	Roster func(source, principalID string) []string
	// Meta's Parameters, when set, join the export's own in the manifest.
	Meta
}

// ExportAccessReview resolves the review moment in every source of snaps
// (report.Strict: no later snapshot stands in), reads each state and
// writes the review to out. It returns the manifest and the sources left
// out, which the manifest's parameters name too.
func ExportAccessReview(ctx context.Context, out string, snaps []idsnap.Snapshot, req ReviewRequest, state report.StateFunc) (*Manifest, []report.Skipped, error) {
	states, opts, skipped, err := resolveReview(ctx, snaps, req, state)
	if err != nil {
		return nil, skipped, err
	}
	m, err := WriteAccessReview(ctx, out, AccessReviewOptions{Sources: states, XLSX: req.XLSX, Roster: req.Roster, Findings: opts.findings, Meta: opts.meta})
	return m, skipped, err
}

// reviewInput is what resolveReview hands an access review or a campaign.
type reviewInput struct {
	findings func(source, principalID string) []string
	meta     Meta // with the parameters and the filter sentence
}

// resolveReview resolves req.At in every source of snaps (report.Strict:
// no later snapshot stands in) and reads each state, with the findings
// that apply and the evidence's parameters.
func resolveReview(ctx context.Context, snaps []idsnap.Snapshot, req ReviewRequest, state report.StateFunc) ([]report.State, reviewInput, []report.Skipped, error) {
	var in reviewInput
	points, skipped, err := report.Resolve(snaps, req.At, report.Scope{Sources: req.Sources, Policy: report.Strict, Location: req.Location})
	if err != nil {
		return nil, in, nil, err
	}
	if len(points) == 0 {
		return nil, in, skipped, fmt.Errorf("no source has a snapshot at %s %s: nothing to export", req.At.Flag, req.At)
	}
	states := make([]report.State, len(points))
	names := make([]string, len(points))
	for i, p := range points {
		states[i], names[i] = state(p.Snapshot), p.Snapshot.Source
	}
	params := map[string]string{
		"at":       req.At.Text,
		"sources":  strings.Join(names, ","),
		"xlsx":     strconv.FormatBool(req.XLSX),
		"resolved": req.At.String(),
	}
	if len(skipped) > 0 {
		params["skipped"] = strings.Join(skippedText(skipped), "; ")
	}
	for k, v := range req.Parameters {
		params[k] = v
	}
	in.meta = req.Meta
	in.meta.Parameters = params
	in.meta.Filter = filterText(req.Sources, skipped)
	if req.Findings != nil {
		if in.findings, err = req.Findings(ctx, states); err != nil {
			return nil, in, skipped, err
		}
	}
	return states, in, skipped, nil
}

// skippedText is each skipped source as "name: reason".
func skippedText(skipped []report.Skipped) []string {
	out := make([]string, len(skipped))
	for i, s := range skipped {
		out[i] = s.Source + ": " + s.Reason
	}
	return out
}

// ChangesRequest is a changes export as the user asked for it.
type ChangesRequest struct {
	Since, Until report.When // Until "now": a time, the export's clock
	Sources      []string    // --source
	// Location is the zone of times in the reasons a source is left out.
	Location *time.Location
	// ExpectedInterval is the longest normal time between two pulls.
	ExpectedInterval time.Duration
	// Attach, when set, makes more files of the export from the period
	// read: the HTML report.
	Attach func(ctx context.Context, sources []SourceChanges, since, until time.Time) ([]File, error)
	// AcrossTenants reads the changes across a source's change of tenant;
	// by default the walk is split there (report.SplitSpan).
	AcrossTenants bool
	Meta
}

// ExportChanges resolves the period in every source of snaps, walks the
// consecutive snapshots from the one at Since to the one at Until, and
// writes the changes between each pair and the coverage to out. A source
// with no snapshot by Until is listed with empty coverage.
func ExportChanges(ctx context.Context, out string, snaps []idsnap.Snapshot, req ChangesRequest, changes report.ChangesFunc) (*Manifest, error) {
	if req.ExpectedInterval <= 0 {
		return nil, fmt.Errorf("--expected-interval must be more than zero")
	}
	sources, sinceAt, untilAt, err := Period(ctx, snaps, req, changes)
	if err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, fmt.Errorf("no source has snapshots in the period: nothing to export")
	}
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.Source.Name
	}
	params := map[string]string{
		"since":             req.Since.Text,
		"since_resolved":    req.Since.String(),
		"until":             req.Until.Text,
		"until_resolved":    req.Until.String(),
		"expected_interval": req.ExpectedInterval.String(),
		"sources":           strings.Join(names, ","),
	}
	if req.AcrossTenants {
		params["across_tenants"] = "true"
	}
	if req.Until.Text == "now" {
		params["until_resolved"] = req.Until.At.UTC().Format(time.RFC3339)
	}
	meta := req.Meta
	meta.Parameters = params
	var files []File
	if req.Attach != nil {
		if files, err = req.Attach(ctx, sources, sinceAt, untilAt); err != nil {
			return nil, err
		}
	}
	meta.Filter = filterText(req.Sources, nil)
	return WriteChanges(out, ChangesOptions{Sources: sources, Since: sinceAt, Until: untilAt, ExpectedInterval: req.ExpectedInterval, Files: files, Meta: meta})
}

// Period resolves req's period in every source of snaps and reads, per
// source by name, its snapshots and the changes between each consecutive
// pair; a source with no snapshot by Until comes with none. sinceAt and
// untilAt are the period's bounds as times: a snapshot WHEN stands for the
// time that snapshot was taken. The HTML report reads it too.
func Period(ctx context.Context, snaps []idsnap.Snapshot, req ChangesRequest, changes report.ChangesFunc) (sources []SourceChanges, sinceAt, untilAt time.Time, err error) {
	snaps = slices.Clone(snaps)
	slices.SortFunc(snaps, func(a, b idsnap.Snapshot) int { return cmp.Compare(a.ID, b.ID) })
	spans, skipped, err := report.ResolveSpan(snaps, req.Since, req.Until, report.Scope{Sources: req.Sources, Policy: report.Strict, Location: req.Location})
	if err != nil {
		return nil, sinceAt, untilAt, err
	}
	sinceAt, untilAt = req.Since.At, req.Until.At
	for _, sp := range spans {
		if req.Since.Kind != report.WhenTime {
			sinceAt = sp.From.Snapshot.TakenAt
		}
		if req.Until.Kind != report.WhenTime {
			untilAt = sp.To.Snapshot.TakenAt
		}
		sc, err := walkTenants(ctx, snaps, sp, req.AcrossTenants, changes)
		if err != nil {
			return nil, sinceAt, untilAt, err
		}
		sources = append(sources, sc)
	}
	for _, s := range skipped {
		// Nothing pulled by Until: coverage shows the source empty.
		sources = append(sources, SourceChanges{Source: sourceInfo(lastOf(snaps, s.Source))})
	}
	slices.SortFunc(sources, func(a, b SourceChanges) int { return strings.Compare(a.Source.Name, b.Source.Name) })
	return sources, sinceAt, untilAt, nil
}

// walk reads a source's changes between each consecutive pair of its
// snapshots from sp.From to sp.To, so access granted and revoked inside the
// period shows too. snaps is sorted by id.
func walk(ctx context.Context, snaps []idsnap.Snapshot, sp report.Span, changes report.ChangesFunc) (SourceChanges, error) {
	base, end := sp.From.Snapshot, sp.To.Snapshot
	sc := SourceChanges{Source: sourceInfo(lastOf(snaps, base.Source)), Baseline: &base}
	prev := base.ID
	for _, s := range snaps {
		if s.Source != base.Source || s.ID <= base.ID || s.ID > end.ID {
			continue
		}
		cs, err := changes(ctx, prev, s.ID)
		if err != nil {
			return sc, fmt.Errorf("%s: changes from #%d to #%d: %w", base.Source, prev, s.ID, err)
		}
		for i := range cs {
			cs[i].Source, cs[i].SnapshotID = base.Source, s.ID
		}
		sc.Snapshots = append(sc.Snapshots, s)
		sc.Changes = append(sc.Changes, cs...)
		prev = s.ID
	}
	return sc, nil
}

// walkTenants walks sp as walk does, but not across a change of tenant
// unless across: each tenant's part is walked on its own, and the first
// snapshot of a new tenant is listed without changes.
func walkTenants(ctx context.Context, snaps []idsnap.Snapshot, sp report.Span, across bool, changes report.ChangesFunc) (SourceChanges, error) {
	parts, tcs := report.SplitSpan(snaps, sp)
	if across {
		parts = []report.Span{sp}
	}
	var sc SourceChanges
	for i, part := range parts {
		p, err := walk(ctx, snaps, part, changes)
		if err != nil {
			return sc, err
		}
		if i == 0 {
			sc = p
			continue
		}
		sc.Snapshots = append(append(sc.Snapshots, *p.Baseline), p.Snapshots...)
		sc.Changes = append(sc.Changes, p.Changes...)
	}
	sc.TenantChanges, sc.AcrossTenants = tcs, across
	return sc, nil
}

// lastOf is source's newest snapshot in snaps.
func lastOf(snaps []idsnap.Snapshot, source string) idsnap.Snapshot {
	var last idsnap.Snapshot
	for _, s := range snaps {
		if s.Source == source && s.ID > last.ID {
			last = s
		}
	}
	return last
}

func sourceInfo(s idsnap.Snapshot) SourceInfo {
	return SourceInfo{Name: s.Source, Provider: s.Provider, BaseURL: s.BaseURL, Org: s.Org}
}
