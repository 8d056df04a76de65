package evidence

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
)

// Files of a changes export.
const (
	ChangesCSV  = "changes.csv"
	CoverageCSV = "coverage.csv"
)

// ChangesHeader is the fixed column list of changes.csv: one row per
// change, and one per changed field of a "changed" change.
var ChangesHeader = []string{
	"source", "snapshot_id", "snapshot_time", "previous_snapshot_id",
	"change", "kind", "id", "email", "name",
	"principal_id", "principal_name", "principal_email",
	"resource_id", "resource_name", "entitlement_id", "entitlement_name",
	"field", "from", "to",
}

// CoverageHeader is the fixed column list of coverage.csv: a row per
// snapshot read, and a row per gap longer than the expected interval.
var CoverageHeader = []string{
	"source", "row", "snapshot_id", "taken_at", "digest", "chain_digest",
	"gap_from", "gap_to", "gap_hours", "note",
}

// DefaultExpectedInterval is a daily pull with slack for a late run.
const DefaultExpectedInterval = 26 * time.Hour

// SourceChanges is one source's history over the period: the baseline
// snapshot (latest at or before the start; nil when the source has none
// that old), the snapshots after it up to the end, and the changes between
// each consecutive pair, so access granted and revoked inside the period
// is reported too.
type SourceChanges struct {
	Source    SourceInfo
	Baseline  *idsnap.Snapshot
	Snapshots []idsnap.Snapshot // after the baseline, oldest first
	Changes   []idsnap.Change   // SnapshotID set: the snapshot where each was first seen
	// TenantChanges are where the source's tenant changed in the period:
	// the changes across them are not read, unless AcrossTenants.
	TenantChanges []idsnap.TenantChange
	AcrossTenants bool
}

// ChangesOptions configures a changes export.
type ChangesOptions struct {
	Sources []SourceChanges
	// Since and Until bound the period; Until is the export time when the
	// user gave none.
	Since, Until time.Time
	// ExpectedInterval is the longest normal time between two pulls of a
	// source; longer gaps get a coverage row. Zero: DefaultExpectedInterval.
	ExpectedInterval time.Duration
	// Files are more files of the export, after the CSVs: the HTML report.
	Files []File
	Meta
}

// File is a file an export carries besides its CSVs, listed in the
// manifest like them.
type File struct {
	Name  string
	Write func(io.Writer) error
}

// ChangesRows flattens the changes of every source into changes.csv rows,
// sorted by source, snapshot, kind, id, change, field.
func ChangesRows(sources []SourceChanges) [][]string {
	var rows [][]string
	for _, sc := range sources {
		times := map[int64]time.Time{}
		prev := map[int64]int64{}
		last := int64(0)
		if sc.Baseline != nil {
			times[sc.Baseline.ID] = sc.Baseline.TakenAt
			last = sc.Baseline.ID
		}
		for _, s := range sc.Snapshots {
			times[s.ID], prev[s.ID], last = s.TakenAt, last, s.ID
		}
		for _, c := range sc.Changes {
			var email, name string
			if r := cmp.Or(c.After, c.Before); r != nil {
				email, name = r.Email, r.Name
			}
			p, res, ent := refOf(c.Principal), refOf(c.Resource), refOf(c.Entitlement)
			pv := ""
			if id := prev[c.SnapshotID]; id != 0 {
				pv = strconv.FormatInt(id, 10)
			}
			row := []string{
				sc.Source.Name, strconv.FormatInt(c.SnapshotID, 10), stamp(times[c.SnapshotID]), pv,
				string(c.Type), string(c.Kind), c.ID, email, name,
				p.ID, p.Name, p.Email, res.ID, res.Name, ent.ID, ent.Name,
			}
			if len(c.Fields) == 0 {
				rows = append(rows, append(row, "", "", ""))
				continue
			}
			for _, f := range c.Fields {
				rows = append(rows, append(slices.Clone(row), f.Field, valueText(f.From), valueText(f.To)))
			}
		}
	}
	kindOrder := func(k string) int { return slices.Index(idsnap.Kinds, idsnap.Kind(k)) }
	slices.SortStableFunc(rows, func(a, b []string) int {
		ai, _ := strconv.ParseInt(a[1], 10, 64)
		bi, _ := strconv.ParseInt(b[1], 10, 64)
		return cmp.Or(strings.Compare(a[0], b[0]), cmp.Compare(ai, bi), cmp.Compare(kindOrder(a[5]), kindOrder(b[5])),
			strings.Compare(a[6], b[6]), strings.Compare(a[4], b[4]), strings.Compare(a[16], b[16]))
	})
	return rows
}

func refOf(r *idsnap.Ref) idsnap.Ref {
	if r == nil {
		return idsnap.Ref{}
	}
	return *r
}

// valueText prints a field's value: strings as they are, times in UTC RFC
// 3339, anything else as compact JSON; nil (absent) as empty.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case time.Time:
		return stamp(x)
	case *time.Time:
		if x == nil {
			return ""
		}
		return stamp(*x)
	case fmt.Stringer:
		return x.String()
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String { // Status, AccountType, ...
		return rv.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// CoverageRows lists, per source, the baseline and every snapshot of the
// period with its digests, and a "gap" row wherever two pulls (or the start
// or end of the period and the nearest pull) are further apart than
// expected: a missed daily pull is visible as a row.
func CoverageRows(sources []SourceChanges, since, until time.Time, expected time.Duration) [][]string {
	if expected <= 0 {
		expected = DefaultExpectedInterval
	}
	var rows [][]string
	snapRow := func(src, kind string, s idsnap.Snapshot, note string) []string {
		return []string{src, kind, strconv.FormatInt(s.ID, 10), stamp(s.TakenAt), s.Digest, s.ChainDigest, "", "", "", note}
	}
	gapRow := func(src string, from, to time.Time, note string) []string {
		return []string{src, "gap", "", "", "", "", stamp(from), stamp(to), strconv.FormatFloat(to.Sub(from).Hours(), 'f', 1, 64), note}
	}
	srcs := slices.Clone(sources)
	slices.SortFunc(srcs, func(a, b SourceChanges) int { return strings.Compare(a.Source.Name, b.Source.Name) })
	for _, sc := range srcs {
		name := sc.Source.Name
		// mark is the last moment known to be covered by a pull.
		mark := since
		if sc.Baseline != nil {
			note := "latest snapshot at or before the start"
			if sc.Baseline.TakenAt.After(since) {
				// The source's first pull came after the start: what held
				// before it is unknown.
				rows = append(rows, gapRow(name, since, sc.Baseline.TakenAt, "no snapshot at or before the start"))
				note = "first snapshot of the source, taken after the start"
			}
			rows = append(rows, snapRow(name, "baseline", *sc.Baseline, note))
			mark = sc.Baseline.TakenAt
		} else {
			note := "no snapshot at or before the start"
			if len(sc.Snapshots) == 0 {
				note = "no snapshot in the period"
			}
			rows = append(rows, gapRow(name, since, cmp.Or(firstTime(sc.Snapshots), until), note))
		}
		for _, s := range sc.Snapshots {
			if sc.Baseline != nil && s.TakenAt.Sub(mark) > expected {
				rows = append(rows, gapRow(name, mark, s.TakenAt, "no snapshot for longer than the expected interval "+expected.String()))
			}
			rows = append(rows, snapRow(name, "snapshot", s, tenantCoverageNote(sc, s.ID)))
			mark = s.TakenAt
		}
		if (sc.Baseline != nil || len(sc.Snapshots) > 0) && until.Sub(mark) > expected {
			rows = append(rows, gapRow(name, mark, until, "no snapshot between the last pull and the end of the period"))
		}
	}
	return rows
}

// tenantCoverageNote says, on the coverage row of the first snapshot of a
// new tenant, that the tenant changed and whether changes across it were
// read.
func tenantCoverageNote(sc SourceChanges, id int64) string {
	for _, tc := range sc.TenantChanges {
		if tc.After.ID != id {
			continue
		}
		what := "; changes across it are not compared (--across-tenants compares them)"
		if sc.AcrossTenants {
			what = "; compared across it (--across-tenants)"
		}
		return fmt.Sprintf("tenant changed since snapshot %d: %s%s", tc.Before.ID, tc.Detail(), what)
	}
	return ""
}

func firstTime(snaps []idsnap.Snapshot) time.Time {
	if len(snaps) == 0 {
		return time.Time{}
	}
	return snaps[0].TakenAt
}

// WriteChanges writes a changes evidence folder to out, which must not
// exist or be empty.
func WriteChanges(out string, opts ChangesOptions) (*Manifest, error) {
	rows := ChangesRows(opts.Sources)
	cov := CoverageRows(opts.Sources, opts.Since, opts.Until, opts.ExpectedInterval)
	f, err := create(out)
	if err != nil {
		return nil, err
	}
	m, err := exportChanges(f, out, rows, cov, opts)
	if err != nil {
		f.abort()
		return nil, err
	}
	return m, nil
}

func exportChanges(f *folder, out string, rows, cov [][]string, opts ChangesOptions) (*Manifest, error) {
	for _, file := range []struct {
		name   string
		header []string
		rows   [][]string
	}{{ChangesCSV, ChangesHeader, rows}, {CoverageCSV, CoverageHeader, cov}} {
		err := f.add(file.name, func(w io.Writer) (int, error) {
			c, err := newCSV(w, file.header)
			if err != nil {
				return 0, err
			}
			for _, r := range file.rows {
				if err := c.row(r); err != nil {
					return 0, err
				}
			}
			return c.close()
		})
		if err != nil {
			return nil, err
		}
	}
	for _, file := range opts.Files {
		if err := f.add(file.Name, func(w io.Writer) (int, error) { return -1, file.Write(w) }); err != nil {
			return nil, err
		}
	}
	// Every source asked for is in the provenance, even one with no
	// snapshot in reach: its absence is part of the evidence.
	var sources []ManifestSource
	for _, sc := range opts.Sources {
		var snaps []idsnap.Snapshot
		if sc.Baseline != nil {
			snaps = append(snaps, *sc.Baseline)
		}
		snaps = append(snaps, sc.Snapshots...)
		ms := manifestSources(snaps)
		src := ManifestSource{Name: sc.Source.Name, Provider: sc.Source.Provider, BaseURL: sc.Source.BaseURL, Org: sc.Source.Org, Snapshots: []ManifestSnapshot{}}
		if len(ms) == 1 {
			src.Snapshots = ms[0].Snapshots
		}
		sources = append(sources, src)
	}
	slices.SortFunc(sources, func(a, b ManifestSource) int { return strings.Compare(a.Name, b.Name) })
	return f.finish(out, "changes", opts.Meta, sources)
}
