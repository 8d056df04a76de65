package report

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
)

// The charts are drawn by uPlot (MIT, htmlassets/uPlot.LICENSE), bundled
// into the binary and inlined into every report: about 50 kB, no
// dependencies, made for time series (our counts over snapshots) and
// maintained. Chart.js would be four times the size for no feature we
// use, and SVG drawn in Go would be a charting engine of our own to keep.
var (
	//go:embed htmlassets/uPlot.iife.min.js
	uplotJS string
	//go:embed htmlassets/uPlot.min.css
	uplotCSS string
	//go:embed htmlassets/uPlot.LICENSE
	uplotLicense string
	//go:embed htmlassets/report.js
	reportJS string
	//go:embed htmlassets/report.css
	reportCSS string
	//go:embed htmlassets/report.html.tmpl
	reportTmpl string
)

var htmlTmpl = template.Must(template.New("report").Parse(reportTmpl))

// HTMLReport is what the HTML report shows over a period. cmd reads it
// from the store (evidence.Period, findings.Run); RenderHTML only draws it.
type HTMLReport struct {
	Since, Until time.Time // the period
	Generated    time.Time
	Version      string // idsnap's
	Sources      []HTMLSource
	// Findings are the rules run over each source's last snapshot of the
	// period; nil leaves the section out.
	Findings *HTMLFindings
}

// HTMLSource is one source over the period.
type HTMLSource struct {
	Name, Provider string
	// Snapshots are every snapshot of the period, oldest first: the
	// baseline (its snapshot at the period's start) and each after it.
	Snapshots []idsnap.Snapshot
	// Changes are those between consecutive snapshots, each with the
	// SnapshotID of the snapshot that first showed it.
	Changes []idsnap.Change
	// TenantChanges split the period (see SplitSpan), or under
	// AcrossTenants were compared across; the report says which.
	TenantChanges []idsnap.TenantChange
	AcrossTenants bool
}

// HTMLFindings are the findings of the period's end: each rule with its
// population and outcomes, then every FAIL and UNKNOWN.
type HTMLFindings struct {
	Rules    []HTMLRule
	Findings []HTMLFinding
}

// HTMLRule is one rule's summary.
type HTMLRule struct {
	ID, Params                               string
	Version, Population, Fail, Pass, Unknown int
}

// HTMLFinding is one FAIL or UNKNOWN outcome.
type HTMLFinding struct {
	Rule, Outcome, Source, Principal, Email, Name, Detail string
}

type htmlView struct {
	Period, Generated, Version string
	Sources                    []htmlSource
	Changes                    []htmlChange
	HasFindings                bool
	Rules                      []HTMLRule
	Findings                   []HTMLFinding
	Snapshots                  []htmlSnapshot
	Data                       []htmlChart // read by report.js to draw the charts
	UplotJS, ReportJS          template.JS
	UplotCSS, ReportCSS        template.CSS
	License                    string
}

type htmlSource struct {
	Name, Provider, Latest string
	Users, Grants          int64
	Changes                int
	Notes                  []string // tenant changes
}

type htmlChange struct {
	Time, Source, Change, Kind, ID, Name, Detail string
	Snapshot                                     int64
}

type htmlSnapshot struct {
	ID                                       int64
	Source, Provider, TakenAt, Digest, Chain string
	Users, Resources, Entitlements, Grants   int64
}

// htmlChart is one source's series: counts per snapshot, changes per day
// (UTC), times in Unix seconds as uPlot takes them.
type htmlChart struct {
	Source  string  `json:"source"`
	T       []int64 `json:"t"`
	Users   []int64 `json:"users"`
	Grants  []int64 `json:"grants"`
	Days    []int64 `json:"days"`
	Joined  []int   `json:"joined"`
	Left    []int   `json:"left"`
	Granted []int   `json:"granted"`
	Revoked []int   `json:"revoked"`
}

// RenderHTML writes r as one self-contained HTML file: styles, scripts,
// the chart library and data inline, nothing fetched. Every value from a
// provider is text to html/template, and control and bidi characters are
// shown escaped as on a terminal, so a hostile name renders as text.
func RenderHTML(w io.Writer, r HTMLReport) error {
	v := htmlView{
		Period:    r.Since.UTC().Format(time.RFC3339) + " to " + r.Until.UTC().Format(time.RFC3339),
		Generated: r.Generated.UTC().Format(time.RFC3339),
		Version:   r.Version,
		UplotJS:   template.JS(uplotJS), ReportJS: template.JS(reportJS),
		UplotCSS: template.CSS(uplotCSS), ReportCSS: template.CSS(reportCSS),
		License: uplotLicense,
	}
	sources := slices.Clone(r.Sources)
	slices.SortFunc(sources, func(a, b HTMLSource) int { return strings.Compare(a.Name, b.Name) })
	for _, s := range sources {
		snaps := s.Snapshots
		if len(snaps) == 0 {
			continue
		}
		last := snaps[len(snaps)-1]
		v.Sources = append(v.Sources, htmlSource{
			Name: Escape(s.Name), Provider: Escape(s.Provider), Latest: fmt.Sprintf("#%d, %s", last.ID, last.TakenAt.UTC().Format(time.RFC3339)),
			Users: last.Counts[idsnap.KindUser], Grants: last.Counts[idsnap.KindGrant], Changes: len(s.Changes),
			Notes: tenantNotes(s.TenantChanges, s.AcrossTenants),
		})
		taken := map[int64]time.Time{}
		chart := htmlChart{Source: s.Name}
		for _, sn := range snaps {
			taken[sn.ID] = sn.TakenAt
			chart.T = append(chart.T, sn.TakenAt.Unix())
			chart.Users = append(chart.Users, sn.Counts[idsnap.KindUser])
			chart.Grants = append(chart.Grants, sn.Counts[idsnap.KindGrant])
			v.Snapshots = append(v.Snapshots, htmlSnapshot{
				ID: sn.ID, Source: Escape(sn.Source), Provider: Escape(sn.Provider), TakenAt: sn.TakenAt.UTC().Format(time.RFC3339),
				Digest: sn.Digest, Chain: sn.ChainDigest,
				Users: sn.Counts[idsnap.KindUser], Resources: sn.Counts[idsnap.KindResource],
				Entitlements: sn.Counts[idsnap.KindEntitlement], Grants: sn.Counts[idsnap.KindGrant],
			})
		}
		perDay := map[int64]*[4]int{}
		changes := slices.Clone(s.Changes)
		slices.SortStableFunc(changes, func(a, b idsnap.Change) int {
			return cmp.Or(cmp.Compare(a.SnapshotID, b.SnapshotID), compareChanges(a, b))
		})
		for _, c := range changes {
			at := taken[c.SnapshotID].UTC()
			day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC).Unix()
			n := perDay[day]
			if n == nil {
				n = new([4]int)
				perDay[day] = n
			}
			switch {
			case c.Kind == idsnap.KindUser && c.Type == idsnap.Joined:
				n[0]++
			case c.Kind == idsnap.KindUser && c.Type == idsnap.Left:
				n[1]++
			case c.Kind == idsnap.KindGrant && c.Type == idsnap.Granted:
				n[2]++
			case c.Kind == idsnap.KindGrant && c.Type == idsnap.Revoked:
				n[3]++
			}
			v.Changes = append(v.Changes, htmlChange{
				Time: at.Format(time.RFC3339), Snapshot: c.SnapshotID,
				Source: Escape(s.Name), Change: string(c.Type), Kind: string(c.Kind), ID: Escape(c.ID),
				Name: Escape(displayName(c)), Detail: Escape(detail(Entry{Change: c})),
			})
		}
		// Every day of the period has a bar, zero included, so quiet days show.
		if len(chart.T) > 0 {
			first, end := time.Unix(chart.T[0], 0).UTC(), time.Unix(chart.T[len(chart.T)-1], 0).UTC()
			for d := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, time.UTC); !d.After(end); d = d.AddDate(0, 0, 1) {
				n := perDay[d.Unix()]
				if n == nil {
					n = new([4]int)
				}
				chart.Days = append(chart.Days, d.Unix())
				chart.Joined, chart.Left = append(chart.Joined, n[0]), append(chart.Left, n[1])
				chart.Granted, chart.Revoked = append(chart.Granted, n[2]), append(chart.Revoked, n[3])
			}
		}
		v.Data = append(v.Data, chart)
	}
	slices.SortFunc(v.Snapshots, func(a, b htmlSnapshot) int { return cmp.Compare(a.ID, b.ID) })
	if f := r.Findings; f != nil {
		v.HasFindings = true
		for _, x := range f.Rules {
			x.Params = Escape(x.Params)
			v.Rules = append(v.Rules, x)
		}
		for _, x := range f.Findings {
			v.Findings = append(v.Findings, HTMLFinding{Rule: Escape(x.Rule), Outcome: Escape(x.Outcome), Source: Escape(x.Source),
				Principal: Escape(x.Principal), Email: Escape(x.Email), Name: Escape(x.Name), Detail: Escape(x.Detail)})
		}
	}
	return htmlTmpl.Execute(w, v)
}

// HTMLFile is the HTML report's name in an evidence folder.
const HTMLFile = "report.html"
