package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
)

// An access-review campaign is an evidence folder (manifest.json,
// SHA256SUMS, optional signature) whose data is the population to review,
// review.csv, and campaign.json describing it. Reviewers return their
// decisions in a copy of review.csv; the campaign folder itself is never
// edited, so what was put up for review stays provable. Rows are matched by
// row_id, a hash of what the row grants and the snapshot it was read from.

// Files of a campaign folder.
const (
	CampaignReviewCSV  = "review.csv"
	CampaignReviewXLSX = "review.xlsx"
	CampaignFile       = "campaign.json"
)

// Export names of the review evidence in manifest.json.
const (
	ExportReviewCampaign = "review-campaign"
	ExportReviewClosed   = "review-closed"
)

// CampaignFormat names campaign.json's layout.
const CampaignFormat = "idsnap-review-campaign/1"

// campaignPopulation is how many of AccessReviewHeader's columns describe
// the population: all but the five reviewer columns.
var campaignPopulation = len(AccessReviewHeader) - 5

// CampaignHeader is review.csv's column list: row_id, the access-review
// population columns, then the four columns reviewers fill in.
var CampaignHeader = append(append([]string{"row_id"}, AccessReviewHeader[:campaignPopulation]...),
	"decision", "reviewer", "decided_at", "comment")

// campaignHeader is CampaignHeader, with the roster columns before
// findings when a roster is configured. The columns before findings, the
// ones decisions are checked against, keep their place.
func campaignHeader(roster bool) []string {
	if !roster {
		return CampaignHeader
	}
	at := slices.Index(CampaignHeader, "findings")
	return slices.Concat(CampaignHeader[:at], AccessReviewRosterHeader, CampaignHeader[at:])
}

// CampaignDecisions are the words offered in the XLSX decision column; the
// synonyms in decisionWords are accepted too.
var CampaignDecisions = []string{"keep", "revoke"}

// Campaign is campaign.json.
type Campaign struct {
	Format      string             `json:"format"`
	ID          string             `json:"campaign_id"`
	CreatedAt   time.Time          `json:"created_at"`
	CommandLine []string           `json:"command_line"`
	At          string             `json:"at"`
	ReviewFile  string             `json:"review_file"`
	Snapshots   []CampaignSnapshot `json:"snapshots"`
	Population  CampaignCounts     `json:"population"`
}

// CampaignSnapshot is one snapshot a campaign reviews.
type CampaignSnapshot struct {
	Source      string           `json:"source"`
	Provider    string           `json:"provider"`
	Tenant      string           `json:"tenant"`
	ID          int64            `json:"snapshot_id"`
	TakenAt     time.Time        `json:"taken_at"`
	Digest      string           `json:"digest"`
	ChainDigest string           `json:"chain_digest"`
	Counts      map[string]int64 `json:"records_per_kind"`
	Rows        int              `json:"rows"`
}

// CampaignCounts is the population under review.
type CampaignCounts struct {
	Rows        int `json:"rows"`
	GrantRows   int `json:"grant_rows"`
	AccountRows int `json:"account_rows"` // active accounts holding no grant
	Principals  int `json:"principals"`
}

// CampaignFilter is what a campaign leaves out of review.csv, for the IPE
// block.
const CampaignFilter = "Every grant of each snapshot listed has a row; accounts holding no grant get a row only when active (an account without access needs no decision)."

// CampaignOptions configures StartCampaign.
type CampaignOptions struct {
	Sources  []report.State
	At       string // --at as given
	XLSX     bool
	Findings func(source, principalID string) []string
	// Roster, when set, adds the AccessReviewRosterHeader columns before
	// findings, as in an access-review export.
	Roster func(source, principalID string) []string
	Meta
}

// Column positions in CampaignHeader.
var (
	cSnapshot    = slices.Index(CampaignHeader, "snapshot_id")
	cSource      = slices.Index(CampaignHeader, "source")
	cPrincipal   = slices.Index(CampaignHeader, "principal_id")
	cLogin       = slices.Index(CampaignHeader, "login")
	cEmail       = slices.Index(CampaignHeader, "email")
	cStatus      = slices.Index(CampaignHeader, "status")
	cResource    = slices.Index(CampaignHeader, "resource_id")
	cEntitlement = slices.Index(CampaignHeader, "entitlement_id")
	cDecision    = slices.Index(CampaignHeader, "decision")
)

// RowID is a campaign row's stable id: the same grant in the same snapshot
// always gets the same id, in any campaign. The "r" prefix keeps a
// spreadsheet from reading a digit-only id as a number.
func RowID(source, principal, resource, entitlement string, snapshot int64) string {
	h := sha256.New()
	for _, s := range []string{source, principal, resource, entitlement, strconv.FormatInt(snapshot, 10)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "r" + hex.EncodeToString(h.Sum(nil))[:20]
}

// CampaignRows builds review.csv's rows: every grant, and every active
// account holding none (an inactive account without access needs no
// decision), with empty decision columns.
func CampaignRows(ctx context.Context, sources []report.State, findings, roster func(source, principalID string) []string) ([][]string, error) {
	all, err := AccessReviewRows(ctx, sources, findings)
	if err != nil {
		return nil, err
	}
	var rows [][]string
	for _, r := range all {
		pop := r[:campaignPopulation]
		if pop[cEntitlement-1] == "" && pop[cStatus-1] != string(idsnap.StatusActive) {
			continue
		}
		snap, _ := strconv.ParseInt(pop[cSnapshot-1], 10, 64)
		id := RowID(pop[cSource-1], pop[cPrincipal-1], pop[cResource-1], pop[cEntitlement-1], snap)
		row := append([]string{id}, pop...)
		if roster != nil {
			at := slices.Index(CampaignHeader, "findings")
			row = slices.Concat(row[:at], roster(row[cSource], row[cPrincipal]), row[at:])
		}
		rows = append(rows, append(row, "", "", "", ""))
	}
	return rows, nil
}

// StartReview resolves the review moment as ExportAccessReview does and
// writes a campaign folder to out.
func StartReview(ctx context.Context, out string, snaps []idsnap.Snapshot, req ReviewRequest, state report.StateFunc) (*Manifest, *Campaign, []report.Skipped, error) {
	states, in, skipped, err := resolveReview(ctx, snaps, req, state)
	if err != nil {
		return nil, nil, skipped, err
	}
	m, camp, err := StartCampaign(ctx, out, CampaignOptions{Sources: states, At: req.At.Text, XLSX: req.XLSX, Findings: in.findings, Roster: req.Roster, Meta: in.meta})
	return m, camp, skipped, err
}

// JudgeCampaign checks that snaps, the database's snapshots, hold those
// the campaign reviewed (revocations proven against another history prove
// nothing), resolves at in each of the campaign's sources (a source the
// WHEN does not reach is skipped: its revocations stay pending) and judges
// the decisions. It returns the status and the states it was judged on.
func JudgeCampaign(ctx context.Context, oc *OpenedCampaign, d *Decisions, snaps []idsnap.Snapshot, at report.When, loc *time.Location, state report.StateFunc) (*ReviewStatus, []report.State, []report.Skipped, error) {
	var names []string
	for _, cs := range oc.Campaign.Snapshots {
		i := slices.IndexFunc(snaps, func(s idsnap.Snapshot) bool { return s.ID == cs.ID })
		if i < 0 || snaps[i].Source != cs.Source || snaps[i].ChainDigest != cs.ChainDigest {
			return nil, nil, nil, fmt.Errorf("the database does not hold snapshot #%d of %s that campaign %s reviewed: give the --db the campaign was started from", cs.ID, cs.Source, oc.Campaign.ID)
		}
		names = append(names, cs.Source)
	}
	if at.Kind == report.WhenSnapshot {
		i := slices.IndexFunc(snaps, func(s idsnap.Snapshot) bool { return s.ID == at.Snapshot })
		if i < 0 || !slices.Contains(names, snaps[i].Source) {
			return nil, nil, nil, fmt.Errorf("%s names no snapshot of a source the campaign reviews", at.Flag)
		}
	}
	points, skipped, err := report.Resolve(snaps, at, report.Scope{Sources: names, Policy: report.Lenient, Location: loc})
	if err != nil {
		return nil, nil, nil, err
	}
	states := make([]report.State, len(points))
	for i, p := range points {
		states[i] = state(p.Snapshot)
	}
	st, err := CampaignStatus(ctx, oc, d, states, at.String())
	return st, states, skipped, err
}

// StartCampaign writes a campaign folder to out, which must not exist or
// be empty.
func StartCampaign(ctx context.Context, out string, opts CampaignOptions) (*Manifest, *Campaign, error) {
	rows, err := CampaignRows(ctx, opts.Sources, opts.Findings, opts.Roster)
	header := campaignHeader(opts.Roster != nil)
	if err != nil {
		return nil, nil, err
	}
	var csvBuf bytes.Buffer
	c, err := newCSV(&csvBuf, header)
	if err == nil {
		for _, r := range rows {
			if err = c.row(r); err != nil {
				break
			}
		}
	}
	if err == nil {
		_, err = c.close()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("write %s: %w", CampaignReviewCSV, err)
	}
	camp := newCampaign(rows, csvBuf.Bytes(), opts)
	var campBuf bytes.Buffer
	if err := report.RenderJSON(&campBuf, camp); err != nil {
		return nil, nil, fmt.Errorf("encode %s: %w", CampaignFile, err)
	}

	f, err := create(out)
	if err != nil {
		return nil, nil, err
	}
	m, err := func() (*Manifest, error) {
		if err := f.add(CampaignReviewCSV, evBytes(csvBuf.Bytes(), len(rows))); err != nil {
			return nil, err
		}
		if opts.XLSX {
			if err := f.add(CampaignReviewXLSX, func(w io.Writer) (int, error) {
				return writeXLSX(w, header, rows, CampaignDecisions, opts.Meta)
			}); err != nil {
				return nil, err
			}
		}
		if err := f.add(CampaignFile, evBytes(campBuf.Bytes(), -1)); err != nil {
			return nil, err
		}
		snaps := make([]idsnap.Snapshot, len(opts.Sources))
		for i, s := range opts.Sources {
			snaps[i] = s.Snapshot
		}
		meta := opts.Meta
		meta.Filter = strings.TrimPrefix(strings.TrimSuffix(meta.Filter, NoFilter)+" "+CampaignFilter, " ")
		return f.finish(out, ExportReviewCampaign, meta, manifestSources(snaps))
	}()
	if err != nil {
		f.abort()
		return nil, nil, err
	}
	return m, camp, nil
}

func newCampaign(rows [][]string, csvBytes []byte, opts CampaignOptions) *Campaign {
	sum := sha256.Sum256(csvBytes)
	camp := &Campaign{
		Format:      CampaignFormat,
		ID:          hex.EncodeToString(sum[:8]),
		CreatedAt:   opts.GeneratedAt.UTC().Truncate(time.Second),
		CommandLine: RedactArgs(opts.Args),
		At:          opts.At,
		ReviewFile:  CampaignReviewCSV,
		Snapshots:   []CampaignSnapshot{},
	}
	perSource := map[string]int{}
	principals := map[string]bool{}
	for _, r := range rows {
		perSource[r[cSource]]++
		principals[r[cSource]+"\x00"+r[cPrincipal]] = true
		if r[cEntitlement] == "" {
			camp.Population.AccountRows++
		} else {
			camp.Population.GrantRows++
		}
	}
	camp.Population.Rows = len(rows)
	camp.Population.Principals = len(principals)
	for _, st := range opts.Sources {
		s := st.Snapshot
		counts := map[string]int64{}
		for k, n := range s.Counts {
			counts[string(k)] = n
		}
		camp.Snapshots = append(camp.Snapshots, CampaignSnapshot{
			Source: s.Source, Provider: s.Provider, Tenant: tenant(s), ID: s.ID, TakenAt: s.TakenAt.UTC(),
			Digest: s.Digest, ChainDigest: s.ChainDigest, Counts: counts, Rows: perSource[s.Source],
		})
	}
	if camp.CommandLine == nil {
		camp.CommandLine = []string{}
	}
	return camp
}

// evBytes fills an evidence file with b.
func evBytes(b []byte, rows int) func(io.Writer) (int, error) {
	return func(w io.Writer) (int, error) {
		_, err := w.Write(b)
		return rows, err
	}
}

// OpenedCampaign is a campaign folder read back: checked intact first.
type OpenedCampaign struct {
	Dir      string
	Manifest *Manifest
	Campaign *Campaign
	// Rows are review.csv's rows by row_id, in file order in Order.
	Rows  map[string][]string
	Order []string
	// Raw are the bytes of the files a closed review copies.
	RawManifest, RawCampaign, RawReview, RawSignature []byte
}

// OpenCampaign checks a campaign folder as verify does (every digest, no
// file missing or extra) and reads it: decisions are only ever matched
// against an intact campaign.
func OpenCampaign(ctx context.Context, dir string) (*OpenedCampaign, error) {
	res, err := Verify(ctx, dir, VerifyOptions{})
	if err != nil {
		return nil, fmt.Errorf("campaign %s is not intact: %w", dir, err)
	}
	if res.Manifest.Export != ExportReviewCampaign {
		return nil, fmt.Errorf("%s is a %s export, not a review campaign: give the folder review start wrote", dir, res.Manifest.Export)
	}
	oc := &OpenedCampaign{Dir: dir, Manifest: res.Manifest, Rows: map[string][]string{}}
	read := func(name string) ([]byte, error) {
		b, err := readLimited(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("campaign %s: %s: %w", dir, name, err)
		}
		return b, nil
	}
	if oc.RawManifest, err = read(ManifestFile); err != nil {
		return nil, err
	}
	if oc.RawCampaign, err = read(CampaignFile); err != nil {
		return nil, err
	}
	if oc.RawReview, err = read(CampaignReviewCSV); err != nil {
		return nil, err
	}
	if res.Manifest.Signature != nil {
		if oc.RawSignature, err = read(SignatureFile); err != nil {
			return nil, err
		}
	}
	if err := json.Unmarshal(oc.RawCampaign, &oc.Campaign); err != nil || oc.Campaign.Format != CampaignFormat {
		return nil, fmt.Errorf("campaign %s: %s is not a %s file", dir, CampaignFile, CampaignFormat)
	}
	recs, err := csv.NewReader(bytes.NewReader(oc.RawReview)).ReadAll()
	if err != nil || len(recs) == 0 || !slices.Equal(recs[0], CampaignHeader) && !slices.Equal(recs[0], campaignHeader(true)) {
		return nil, fmt.Errorf("campaign %s: %s does not have the campaign columns", dir, CampaignReviewCSV)
	}
	for _, r := range recs[1:] {
		oc.Rows[r[0]] = r
		oc.Order = append(oc.Order, r[0])
	}
	return oc, nil
}

// Sources names the campaign's sources with the snapshot each was read from.
func (oc *OpenedCampaign) Sources() map[string]CampaignSnapshot {
	out := map[string]CampaignSnapshot{}
	for _, s := range oc.Campaign.Snapshots {
		out[s.Source] = s
	}
	return out
}

// ReadDecisions reads and parses a returned decisions file, bounded like
// evidence.
func ReadDecisions(path string) (*Decisions, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("--decisions: %w", err)
	}
	b, err := readLimited(path)
	if err != nil {
		return nil, fmt.Errorf("--decisions %s: %w", path, err)
	}
	return ParseDecisions(path, b)
}
