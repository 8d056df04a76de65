package evidence

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
)

// Every evidence folder carries an IPE block (information produced by the
// entity): what an auditor tests for completeness and accuracy before
// relying on a report. For each snapshot read: the source, provider and
// tenant, the endpoints read with their parameters, when the pull began and
// ended, the records per kind, and the totals the provider itself reported
// with the rows read against them; plus the tool's version and commit, and
// one sentence saying that no rows were filtered out, or exactly which
// filter was applied. It is in manifest.json (signed with it) and, for
// people, in README.txt.

// ReadmeFile is the human-readable IPE statement in every evidence folder.
const ReadmeFile = "README.txt"

// NoFilter is the completeness statement of an export that left nothing out.
const NoFilter = "No rows were filtered out: the export holds every record of each snapshot listed."

// ManifestIPE is the manifest's IPE block.
type ManifestIPE struct {
	Tool ManifestTool `json:"tool"`
	// Filter says that no rows were filtered out, or exactly which filter
	// was applied.
	Filter  string      `json:"filter"`
	Sources []IPESource `json:"sources"`
}

// IPESource is what the IPE block says of one snapshot read.
type IPESource struct {
	Source         string                 `json:"source"`
	Provider       string                 `json:"provider"`
	BaseURL        string                 `json:"base_url"`
	Org            string                 `json:"org"`
	SnapshotID     int64                  `json:"snapshot_id"`
	PullStart      time.Time              `json:"pull_start"`
	PullEnd        *time.Time             `json:"pull_end"` // null: pulled before idsnap recorded it
	Endpoints      []idsnap.Endpoint      `json:"endpoints"`
	RecordsPerKind map[string]int64       `json:"records_per_kind"`
	ProviderTotals []idsnap.ProviderTotal `json:"provider_totals"`
	Totals         string                 `json:"provider_totals_note"`
}

// filterText is the IPE block's completeness sentence: the --source
// filter and the sources left out for want of a snapshot, or none.
func filterText(sources []string, skipped []report.Skipped) string {
	var parts []string
	if len(sources) > 0 {
		parts = append(parts, "Only the sources named with --source were read: "+strings.Join(sources, ", ")+"; no rows within them were filtered out.")
	}
	if len(skipped) > 0 {
		parts = append(parts, "Left out for want of a snapshot at the moment asked: "+strings.Join(skippedText(skipped), "; ")+".")
	}
	if len(parts) == 0 {
		return NoFilter
	}
	return strings.Join(parts, " ")
}

// evSnapshotCounts turns a snapshot's counts into the manifest's map.
func evSnapshotCounts(s idsnap.Snapshot) map[string]int64 {
	if s.Counts == nil {
		return nil
	}
	out := map[string]int64{}
	for _, k := range idsnap.Kinds {
		out[string(k)] = s.Counts[k]
	}
	return out
}

// evIPE builds the IPE block from the manifest's sources.
func evIPE(filter string, sources []ManifestSource) *ManifestIPE {
	ipe := &ManifestIPE{
		Tool:    ManifestTool{Name: "idsnap", Version: idsnap.Version, Commit: idsnap.Commit},
		Filter:  filter,
		Sources: []IPESource{},
	}
	if ipe.Filter == "" {
		ipe.Filter = NoFilter
	}
	for _, src := range sources {
		for _, s := range src.Snapshots {
			is := IPESource{
				Source: src.Name, Provider: src.Provider, BaseURL: src.BaseURL, Org: src.Org,
				SnapshotID: s.ID, PullStart: s.TakenAt, RecordsPerKind: s.RecordsPerKind,
				Endpoints: []idsnap.Endpoint{}, ProviderTotals: []idsnap.ProviderTotal{},
			}
			switch {
			case s.Pull == nil:
				is.Totals = "not recorded: pulled by an idsnap older than the pull record"
			case len(s.Pull.Totals) > 0:
				end := s.Pull.EndedAt
				is.PullEnd = &end
				is.Endpoints, is.ProviderTotals = s.Pull.Endpoints, s.Pull.Totals
				is.Totals = "every total the provider reported was matched by the distinct rows read (a mismatch fails the pull)"
			default:
				end := s.Pull.EndedAt
				is.PullEnd = &end
				is.Endpoints = s.Pull.Endpoints
				is.Totals = "the provider reports no totals for these endpoints; completeness rests on following every page to its end"
			}
			if is.Endpoints == nil {
				is.Endpoints = []idsnap.Endpoint{}
			}
			ipe.Sources = append(ipe.Sources, is)
		}
	}
	return ipe
}

// evWriteReadme writes README.txt: the IPE block for people.
func evWriteReadme(w io.Writer, m *Manifest) error {
	var b strings.Builder
	fmt.Fprintf(&b, "idsnap evidence: %s export\n", m.Export)
	fmt.Fprintf(&b, "Generated %s by %s %s", stamp(m.GeneratedAt), m.Tool.Name, report.SafeText(m.Tool.Version))
	if m.Tool.Commit != "" {
		fmt.Fprintf(&b, " (commit %s)", report.SafeText(m.Tool.Commit))
	}
	fmt.Fprintf(&b, "\nCommand: %s\n\n", report.SafeText(strings.Join(m.CommandLine, " ")))
	b.WriteString("Information produced by the entity (IPE)\n\n")
	fmt.Fprintf(&b, "Completeness: %s\n", m.IPE.Filter)
	for _, s := range m.IPE.Sources {
		fmt.Fprintf(&b, "\nSource %s (%s), snapshot #%d\n", report.SafeText(s.Source), report.SafeText(s.Provider), s.SnapshotID)
		fmt.Fprintf(&b, "  Tenant: %s\n", report.SafeText(tenant(idsnap.Snapshot{BaseURL: s.BaseURL, Org: s.Org})))
		end := "end not recorded"
		if s.PullEnd != nil {
			end = "ended " + stamp(*s.PullEnd)
		}
		fmt.Fprintf(&b, "  Pull: started %s, %s\n", stamp(s.PullStart), end)
		var kinds []string
		for _, k := range idsnap.Kinds {
			if n, ok := s.RecordsPerKind[string(k)]; ok {
				kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
			}
		}
		if len(kinds) > 0 {
			fmt.Fprintf(&b, "  Records: %s\n", strings.Join(kinds, ", "))
		}
		if len(s.Endpoints) > 0 {
			b.WriteString("  Endpoints read:\n")
			for _, e := range s.Endpoints {
				fmt.Fprintf(&b, "    %s %s", e.Method, report.SafeText(e.Path))
				if e.Params != "" {
					fmt.Fprintf(&b, "  %s", report.SafeText(e.Params))
				}
				fmt.Fprintf(&b, "  (%s)\n", plural(e.Requests, "request"))
			}
		}
		fmt.Fprintf(&b, "  Provider totals: %s\n", s.Totals)
		for _, t := range s.ProviderTotals {
			fmt.Fprintf(&b, "    %s: %d reported, %d read, over %s\n", report.SafeText(t.Endpoint), t.Total, t.Read, plural(t.Listings, "listing"))
		}
	}
	b.WriteString("\nFiles (sizes and SHA-256 in manifest.json and SHA256SUMS):\n")
	for _, f := range m.Files {
		if f.Name == ReadmeFile {
			continue
		}
		if f.Rows != nil {
			fmt.Fprintf(&b, "  %s: %d rows\n", f.Name, *f.Rows)
		} else {
			fmt.Fprintf(&b, "  %s\n", f.Name)
		}
	}
	b.WriteString("\nCheck this folder with `idsnap verify DIR` (add --pubkey KEY.pub when signed)\nor `sha256sum -c SHA256SUMS`.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
