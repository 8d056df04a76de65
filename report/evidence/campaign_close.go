package evidence

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
)

// A closed review is an evidence folder holding the campaign as it was put
// up for review (its manifest, signature, campaign.json and review.csv,
// copied byte for byte), the decisions exactly as received, the status of
// every row with the snapshot that proves it, the problems found in the
// decisions, and a summary. verify checks the copied campaign too: its
// manifest must still describe the copied files.

// Files of a closed review.
const (
	ClosedCampaignManifest  = "campaign-manifest.json"
	ClosedCampaignSignature = "campaign-manifest.json.minisig"
	ClosedCampaignReview    = "campaign-review.csv"
	ClosedDecisionsPrefix   = "decisions-received."
	ClosedStatusCSV         = "review-status.csv"
	ClosedProblemsCSV       = "problems.csv"
	ClosedSummary           = "summary.json"
)

// ClosedFilter is a closed review's completeness statement.
const ClosedFilter = "No rows were filtered out: every row of the campaign has a status row, every decision not accepted is in problems.csv, and the decisions file is kept byte for byte as received."

// ProblemsHeader is problems.csv's column list.
var ProblemsHeader = []string{"line", "row_id", "problem", "detail"}

// ClosedSummaryDoc is summary.json.
type ClosedSummaryDoc struct {
	CampaignID        string           `json:"campaign_id"`
	CampaignManifest  string           `json:"campaign_manifest_sha256"`
	Decisions         string           `json:"decisions_file"`
	DecisionsReceived string           `json:"decisions_received_as"`
	DecisionsSHA256   string           `json:"decisions_sha256"`
	StatusAt          string           `json:"status_at"`
	Complete          bool             `json:"complete"` // nothing pending or undecided
	Totals            StatusTotals     `json:"totals"`
	Reviewers         []ReviewerCounts `json:"reviewers"`
}

// CloseOptions configures CloseCampaign.
type CloseOptions struct {
	Campaign  *OpenedCampaign
	Decisions *Decisions
	Status    *ReviewStatus
	// Proof are the snapshots the status was judged against.
	Proof []idsnap.Snapshot
	Meta
}

// CloseCampaign writes the closed-review evidence folder to out.
func CloseCampaign(out string, opts CloseOptions) (*Manifest, error) {
	oc, st := opts.Campaign, opts.Status
	ext := opts.Decisions.Format
	received := ClosedDecisionsPrefix + ext
	sum := ClosedSummaryDoc{
		CampaignID:        oc.Campaign.ID,
		CampaignManifest:  sHA256Hex(oc.RawManifest),
		Decisions:         filepath.Base(opts.Decisions.Name),
		DecisionsReceived: received,
		DecisionsSHA256:   sHA256Hex(opts.Decisions.Raw),
		StatusAt:          st.At,
		Complete:          !st.Open(),
		Totals:            st.Totals,
		Reviewers:         st.Reviewers,
	}
	var sumBuf bytes.Buffer
	if err := report.RenderJSON(&sumBuf, sum); err != nil {
		return nil, fmt.Errorf("encode %s: %w", ClosedSummary, err)
	}
	f, err := create(out)
	if err != nil {
		return nil, err
	}
	m, err := func() (*Manifest, error) {
		files := []struct {
			name string
			fill func(io.Writer) (int, error)
		}{
			{ClosedCampaignManifest, evBytes(oc.RawManifest, -1)},
			{CampaignFile, evBytes(oc.RawCampaign, -1)},
			{ClosedCampaignReview, evBytes(oc.RawReview, len(oc.Order))},
			{received, evBytes(opts.Decisions.Raw, len(opts.Decisions.Rows))},
			{ClosedStatusCSV, func(w io.Writer) (int, error) { return evWriteTable(w, st.StatusTable()) }},
			{ClosedProblemsCSV, func(w io.Writer) (int, error) {
				t := report.Table{Header: ProblemsHeader}
				for _, p := range st.Problems {
					t.Rows = append(t.Rows, []string{fmt.Sprint(p.Line), p.RowID, p.Kind, p.Detail})
				}
				return evWriteTable(w, t)
			}},
			{ClosedSummary, evBytes(sumBuf.Bytes(), -1)},
		}
		if oc.RawSignature != nil {
			files = append(files, struct {
				name string
				fill func(io.Writer) (int, error)
			}{ClosedCampaignSignature, evBytes(oc.RawSignature, -1)})
		}
		for _, fl := range files {
			if err := f.add(fl.name, fl.fill); err != nil {
				return nil, err
			}
		}
		// The campaign's snapshots as its manifest recorded them, with the
		// pull record from its IPE block.
		var snaps []idsnap.Snapshot
		for _, s := range oc.Manifest.Sources {
			for _, ms := range s.Snapshots {
				snap := idsnap.Snapshot{ID: ms.ID, Source: s.Name, Provider: s.Provider, BaseURL: s.BaseURL, Org: s.Org,
					TakenAt: ms.TakenAt, Digest: ms.Digest, ChainDigest: ms.ChainDigest}
				if oc.Manifest.IPE != nil {
					for _, is := range oc.Manifest.IPE.Sources {
						if is.SnapshotID == ms.ID {
							snap.Counts = map[idsnap.Kind]int64{}
							for k, n := range is.RecordsPerKind {
								snap.Counts[idsnap.Kind(k)] = n
							}
							if is.PullEnd != nil {
								snap.Pull = &idsnap.PullInfo{EndedAt: *is.PullEnd, Endpoints: is.Endpoints, Totals: is.ProviderTotals}
							}
						}
					}
				}
				snaps = append(snaps, snap)
			}
		}
		snaps = append(snaps, opts.Proof...)
		meta := opts.Meta
		meta.Filter = ClosedFilter
		return f.finish(out, ExportReviewClosed, meta, manifestSources(snaps))
	}()
	if err != nil {
		f.abort()
		return nil, err
	}
	return m, nil
}

// evWriteTable writes t as evidence CSV.
func evWriteTable(w io.Writer, t report.Table) (int, error) {
	c, err := newCSV(w, t.Header)
	if err != nil {
		return 0, err
	}
	for _, r := range t.Rows {
		if err := c.row(r); err != nil {
			return 0, err
		}
	}
	return c.close()
}

// evVerifyClosed checks, in a closed review that passed the folder checks,
// that the copied campaign is intact: its manifest lists campaign.json and
// review.csv with the digests of the copies, and summary.json names that
// manifest. With a public key, a signed campaign's signature must verify
// when the same key signed it.
func evVerifyClosed(dir string, m *Manifest, opts VerifyOptions) error {
	read := func(name string) ([]byte, error) {
		b, err := readLimited(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return b, nil
	}
	for _, need := range []string{ClosedCampaignManifest, CampaignFile, ClosedCampaignReview, ClosedSummary} {
		if !slices.ContainsFunc(m.Files, func(e ManifestFileEntry) bool { return e.Name == need }) {
			return fmt.Errorf("%s: missing from a closed review", need)
		}
	}
	cmb, err := read(ClosedCampaignManifest)
	if err != nil {
		return err
	}
	cm, err := decodeManifest(cmb)
	if err != nil {
		return fmt.Errorf("%s: unreadable: %w", ClosedCampaignManifest, err)
	}
	if cm.Export != ExportReviewCampaign {
		return fmt.Errorf("%s: a %s export, not a review campaign", ClosedCampaignManifest, cm.Export)
	}
	for copyName, orig := range map[string]string{CampaignFile: CampaignFile, ClosedCampaignReview: CampaignReviewCSV} {
		i := slices.IndexFunc(cm.Files, func(e ManifestFileEntry) bool { return e.Name == orig })
		if i < 0 {
			return fmt.Errorf("%s: does not list %s", ClosedCampaignManifest, orig)
		}
		b, err := read(copyName)
		if err != nil {
			return err
		}
		if sHA256Hex(b) != cm.Files[i].SHA256 {
			return fmt.Errorf("%s: not the campaign's %s: its SHA-256 differs from %s's entry", copyName, orig, ClosedCampaignManifest)
		}
	}
	sb, err := read(ClosedSummary)
	if err != nil {
		return err
	}
	var sum ClosedSummaryDoc
	if err := json.Unmarshal(sb, &sum); err != nil {
		return fmt.Errorf("%s: unreadable: %w", ClosedSummary, err)
	}
	if sum.CampaignManifest != sHA256Hex(cmb) {
		return fmt.Errorf("%s: names another campaign manifest than %s", ClosedSummary, ClosedCampaignManifest)
	}
	if db, err := read(sum.DecisionsReceived); err != nil || !strings.HasPrefix(sum.DecisionsReceived, ClosedDecisionsPrefix) || sHA256Hex(db) != sum.DecisionsSHA256 {
		return fmt.Errorf("%s: the decisions received do not match their recorded SHA-256", ClosedSummary)
	}
	if opts.PublicKey != nil && cm.Signature != nil && cm.Signature.KeyID == opts.PublicKey.ID.String() {
		sig, err := read(ClosedCampaignSignature)
		if err != nil {
			return err
		}
		if _, err := opts.PublicKey.Verify(cmb, sig); err != nil {
			return fmt.Errorf("%s: %w", ClosedCampaignSignature, err)
		}
	}
	// The status rows must be the campaign's rows, each once.
	rb, err := read(ClosedCampaignReview)
	if err != nil {
		return err
	}
	stb, err := read(ClosedStatusCSV)
	if err != nil {
		return err
	}
	campRows, err1 := csv.NewReader(bytes.NewReader(rb)).ReadAll()
	statRows, err2 := csv.NewReader(bytes.NewReader(stb)).ReadAll()
	if err1 != nil || err2 != nil || len(campRows) != len(statRows) {
		return fmt.Errorf("%s: does not hold one status row per campaign row", ClosedStatusCSV)
	}
	for i := 1; i < len(campRows); i++ {
		if campRows[i][0] != statRows[i][0] {
			return fmt.Errorf("%s: row %d is not the campaign's row %s", ClosedStatusCSV, i, campRows[i][0])
		}
	}
	return nil
}
