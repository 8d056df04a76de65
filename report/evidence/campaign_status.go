package evidence

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
	"github.com/xuri/excelize/v2"
)

// Row statuses of a review.
const (
	StatusKept           = "kept"
	StatusRevokedDone    = "revoked-done"
	StatusRevokedPending = "revoked-pending"
	StatusUndecided      = "undecided"
)

// Problem kinds: each is a decision that was not accepted, reported so
// nobody believes it counted.
const (
	ProblemNotInCampaign   = "not-in-campaign"
	ProblemChangedField    = "changed-field"
	ProblemUnknownDecision = "unknown-decision"
	ProblemDecidedTwice    = "decided-twice"
	ProblemSelfReview      = "self-review"
	ProblemNoReviewer      = "no-reviewer"
)

// decisionWords maps what reviewers write, lower-cased, to a decision.
var decisionWords = map[string]string{
	"keep": "keep", "approve": "keep", "approved": "keep", "yes": "keep",
	"revoke": "revoke", "remove": "revoke", "no": "revoke",
}

// reviewedFields are the population columns a reviewer must not change.
// Times, booleans and findings are left out: a spreadsheet rewrites those
// on save without anyone meaning to.
var reviewedFields = []string{
	"snapshot_id", "source", "tenant", "principal_id", "login", "name", "email", "account_type", "status",
	"resource_id", "resource", "entitlement_id", "entitlement", "grant_status",
}

// Decisions is a returned decisions file: the reviewers' copy of
// review.csv, CSV or XLSX, as received.
type Decisions struct {
	Name   string // file name, for messages
	Raw    []byte
	Format string // "csv" or "xlsx"
	Header []string
	Rows   []DecisionRow
}

// DecisionRow is one data row of a decisions file.
type DecisionRow struct {
	Line  int // line (CSV) or row (XLSX) number, header = 1
	Cells map[string]string
}

// ParseDecisions reads a decisions file: XLSX when it is a zip file, else
// CSV (UTF-8, with or without a byte-order mark). Columns are matched by
// header, case-insensitively; extra columns are ignored; row_id and
// decision must be there.
func ParseDecisions(name string, raw []byte) (*Decisions, error) {
	d := &Decisions{Name: name, Raw: raw, Format: "csv"}
	var recs [][]string
	var lines []int
	if bytes.HasPrefix(raw, []byte("PK\x03\x04")) {
		d.Format = "xlsx"
		x, err := excelize.OpenReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: not a readable XLSX file: %w", name, err)
		}
		defer x.Close()
		sheets := x.GetSheetList()
		if len(sheets) == 0 {
			return nil, fmt.Errorf("%s: the workbook has no sheet", name)
		}
		if recs, err = x.GetRows(sheets[0]); err != nil {
			return nil, fmt.Errorf("%s: read sheet %q: %w", name, sheets[0], err)
		}
		for i := range recs {
			lines = append(lines, i+1)
		}
	} else {
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))))
		r.FieldsPerRecord = -1
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: not a readable CSV file: %w", name, err)
			}
			line, _ := r.FieldPos(0)
			recs, lines = append(recs, rec), append(lines, line)
		}
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: empty: return the reviewers' copy of %s", name, CampaignReviewCSV)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		h = strings.ToLower(strings.TrimSpace(h))
		d.Header = append(d.Header, h)
		if _, dup := col[h]; !dup && h != "" {
			col[h] = i
		}
	}
	for _, need := range []string{"row_id", "decision"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s: no %s column: return the reviewers' copy of %s with its header row", name, need, CampaignReviewCSV)
		}
	}
	for i, rec := range recs[1:] {
		row := DecisionRow{Line: lines[i+1], Cells: map[string]string{}}
		blank := true
		for h, c := range col {
			if c < len(rec) {
				row.Cells[h] = rec[c]
				blank = blank && strings.TrimSpace(rec[c]) == ""
			}
		}
		if !blank {
			d.Rows = append(d.Rows, row)
		}
	}
	return d, nil
}

// Problem is one decision that was not accepted.
type Problem struct {
	Line   int    `json:"line"`
	RowID  string `json:"row_id"`
	Kind   string `json:"problem"`
	Detail string `json:"detail"`
}

// String is the problem's one report line.
func (p Problem) String() string {
	id := p.RowID
	if id == "" {
		id = "(no row_id)"
	}
	return fmt.Sprintf("line %d: row %s: %s: %s", p.Line, report.SafeText(id), p.Kind, p.Detail)
}

// RowStatus is one campaign row's outcome.
type RowStatus struct {
	RowID         string `json:"row_id"`
	Source        string `json:"source"`
	PrincipalID   string `json:"principal_id"`
	Login         string `json:"login"`
	Email         string `json:"email"`
	ResourceID    string `json:"resource_id"`
	EntitlementID string `json:"entitlement_id"`
	Decision      string `json:"decision"`            // keep, revoke or empty
	Written       string `json:"decision_as_written"` // the cell as received
	Reviewer      string `json:"reviewer"`
	DecidedAt     string `json:"decided_at"`
	Comment       string `json:"comment"`
	Line          int    `json:"line,omitempty"` // of the accepted decision
	Status        string `json:"status"`
	// ProofSnapshot is the snapshot that shows a revocation done or still
	// pending (0 for kept and undecided rows).
	ProofSnapshot     int64  `json:"proof_snapshot_id,omitempty"`
	ProofTakenAt      string `json:"proof_snapshot_time,omitempty"`
	ProofDigest       string `json:"proof_snapshot_digest,omitempty"`
	Evidence          string `json:"evidence,omitempty"`
	ProblemsOnThisRow int    `json:"problems,omitempty"`
}

// StatusTotals counts rows by status.
type StatusTotals struct {
	Rows           int `json:"rows"`
	Kept           int `json:"kept"`
	RevokedDone    int `json:"revoked_done"`
	RevokedPending int `json:"revoked_pending"`
	Undecided      int `json:"undecided"`
	Problems       int `json:"problems"`
}

// ReviewerCounts are one reviewer's accepted decisions by outcome.
type ReviewerCounts struct {
	Reviewer       string `json:"reviewer"`
	Kept           int    `json:"kept"`
	RevokedDone    int    `json:"revoked_done"`
	RevokedPending int    `json:"revoked_pending"`
}

// ReviewStatus is a campaign's state given its decisions and a later
// snapshot of each source.
type ReviewStatus struct {
	CampaignID string           `json:"campaign_id"`
	At         string           `json:"at"`
	Proof      []ManifestSource `json:"proof_snapshots"`
	Totals     StatusTotals     `json:"totals"`
	Reviewers  []ReviewerCounts `json:"reviewers"`
	Problems   []Problem        `json:"problems"`
	Rows       []RowStatus      `json:"rows"`
}

// Open says whether anything still needs doing: a revocation pending or a
// row undecided.
func (s *ReviewStatus) Open() bool {
	return s.Totals.RevokedPending > 0 || s.Totals.Undecided > 0
}

// CampaignStatus matches decisions to the campaign's rows and checks each
// revocation against now, each source's state at the status moment (a
// source missing from now leaves its revocations pending). A decision that
// does not belong, changes who or what is reviewed, uses an unknown word,
// repeats a row, has no reviewer or reviews the reviewer's own access is
// not accepted: it is reported as a problem and its row stays undecided.
func CampaignStatus(ctx context.Context, oc *OpenedCampaign, d *Decisions, now []report.State, at string) (*ReviewStatus, error) {
	st := &ReviewStatus{CampaignID: oc.Campaign.ID, At: at, Reviewers: []ReviewerCounts{}, Problems: []Problem{}}
	problem := func(r DecisionRow, kind, detail string) {
		st.Problems = append(st.Problems, Problem{Line: r.Line, RowID: strings.TrimSpace(r.Cells["row_id"]), Kind: kind, Detail: detail})
	}
	type candidate struct {
		row      DecisionRow
		decision string
	}
	byRow := map[string][]candidate{}
	problemRows := map[string]int{}
	for _, r := range d.Rows {
		id := strings.TrimSpace(r.Cells["row_id"])
		camp, ok := oc.Rows[id]
		if !ok {
			problem(r, ProblemNotInCampaign, fmt.Sprintf("campaign %s has no such row; the decision is ignored", oc.Campaign.ID))
			continue
		}
		written := strings.TrimSpace(r.Cells["decision"])
		if changed := changedFields(r, camp); len(changed) > 0 {
			problem(r, ProblemChangedField, fmt.Sprintf("%s differs from the campaign; the decision is not accepted", strings.Join(changed, ", ")))
			problemRows[id]++
			continue
		}
		if written == "" {
			continue
		}
		dec, ok := decisionWords[strings.ToLower(written)]
		if !ok {
			problem(r, ProblemUnknownDecision, fmt.Sprintf("%q is not a decision: write keep (approve, yes) or revoke (remove, no)", report.SafeText(written)))
			problemRows[id]++
			continue
		}
		byRow[id] = append(byRow[id], candidate{r, dec})
	}

	accepted := map[string]candidate{}
	for _, id := range oc.Order {
		cs := byRow[id]
		switch {
		case len(cs) == 0:
			continue
		case len(cs) > 1:
			var lines []string
			for _, c := range cs {
				lines = append(lines, strconv.Itoa(c.row.Line))
			}
			problem(cs[1].row, ProblemDecidedTwice, fmt.Sprintf("decided on lines %s; none is accepted", strings.Join(lines, ", ")))
			problemRows[id]++
			continue
		}
		c := cs[0]
		camp := oc.Rows[id]
		reviewer := strings.TrimSpace(c.row.Cells["reviewer"])
		if reviewer == "" {
			problem(c.row, ProblemNoReviewer, "a decision without a reviewer is not accepted: fill in reviewer")
			problemRows[id]++
			continue
		}
		if isSelf(reviewer, camp) {
			problem(c.row, ProblemSelfReview, fmt.Sprintf("%s reviewed their own access; another reviewer must decide", report.SafeText(reviewer)))
			problemRows[id]++
			continue
		}
		accepted[id] = c
	}

	states := map[string]*proofState{}
	var proofSnaps []idsnap.Snapshot
	for _, s := range now {
		p, err := newProofState(ctx, s)
		if err != nil {
			return nil, err
		}
		states[s.Snapshot.Source] = p
		proofSnaps = append(proofSnaps, s.Snapshot)
	}
	st.Proof = manifestSources(proofSnaps)
	reviewers := map[string]*ReviewerCounts{}
	for _, id := range oc.Order {
		camp := oc.Rows[id]
		rs := RowStatus{
			RowID: id, Source: camp[cSource], PrincipalID: camp[cPrincipal], Login: camp[cLogin], Email: camp[cEmail],
			ResourceID: camp[cResource], EntitlementID: camp[cEntitlement], Status: StatusUndecided,
			ProblemsOnThisRow: problemRows[id],
		}
		if c, ok := accepted[id]; ok {
			rs.Decision, rs.Written, rs.Line = c.decision, strings.TrimSpace(c.row.Cells["decision"]), c.row.Line
			rs.Reviewer = strings.TrimSpace(c.row.Cells["reviewer"])
			rs.DecidedAt = strings.TrimSpace(c.row.Cells["decided_at"])
			rs.Comment = c.row.Cells["comment"]
			rc := reviewers[rs.Reviewer]
			if rc == nil {
				rc = &ReviewerCounts{Reviewer: rs.Reviewer}
				reviewers[rs.Reviewer] = rc
			}
			if c.decision == "keep" {
				rs.Status = StatusKept
				rc.Kept++
			} else {
				states[rs.Source].judge(&rs)
				if rs.Status == StatusRevokedDone {
					rc.RevokedDone++
				} else {
					rc.RevokedPending++
				}
			}
		}
		switch rs.Status {
		case StatusKept:
			st.Totals.Kept++
		case StatusRevokedDone:
			st.Totals.RevokedDone++
		case StatusRevokedPending:
			st.Totals.RevokedPending++
		default:
			st.Totals.Undecided++
		}
		st.Rows = append(st.Rows, rs)
	}
	st.Totals.Rows = len(st.Rows)
	st.Totals.Problems = len(st.Problems)
	for _, rc := range reviewers {
		st.Reviewers = append(st.Reviewers, *rc)
	}
	slices.SortFunc(st.Reviewers, func(a, b ReviewerCounts) int { return strings.Compare(a.Reviewer, b.Reviewer) })
	slices.SortStableFunc(st.Problems, func(a, b Problem) int { return a.Line - b.Line })
	return st, nil
}

// changedFields lists the reviewed population columns present in the
// decisions row whose value is not the campaign's. A spreadsheet may drop
// the quote that neutralised a formula prefix; that is no change.
func changedFields(r DecisionRow, camp []string) []string {
	var out []string
	for _, h := range reviewedFields {
		got, ok := r.Cells[h]
		if !ok {
			continue
		}
		want := camp[slices.Index(CampaignHeader, h)]
		if got != want && cell(got) != want {
			out = append(out, h)
		}
	}
	return out
}

// isSelf says whether reviewer names the account the row reviews: its
// email, login or id, case-insensitively.
func isSelf(reviewer string, camp []string) bool {
	for _, c := range []int{cEmail, cLogin, cPrincipal} {
		if v := strings.TrimSpace(camp[c]); v != "" && strings.EqualFold(v, reviewer) {
			return true
		}
	}
	return false
}

// proofState is what a later snapshot says about accounts and grants.
type proofState struct {
	snap   idsnap.Snapshot
	users  map[string]idsnap.Status
	grants map[string]bool
}

func newProofState(ctx context.Context, s report.State) (*proofState, error) {
	p := &proofState{snap: s.Snapshot, users: map[string]idsnap.Status{}, grants: map[string]bool{}}
	err := s.Records(ctx, func(r idsnap.Record) error {
		switch r.Kind {
		case idsnap.KindUser:
			p.users[r.ID] = r.Status
		case idsnap.KindGrant:
			p.grants[idsnap.GrantID(r.PrincipalID, r.EntitlementID)] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: read snapshot #%d: %w", s.Snapshot.Source, s.Snapshot.ID, err)
	}
	return p, nil
}

// judge sets a revoke row's status from the snapshot: done when the grant
// is gone or the account is gone, suspended, deactivated or deleted.
func (p *proofState) judge(rs *RowStatus) {
	rs.Status = StatusRevokedPending
	if p == nil {
		rs.Evidence = "no snapshot of " + rs.Source + " at the status moment"
		return
	}
	rs.ProofSnapshot, rs.ProofTakenAt, rs.ProofDigest = p.snap.ID, stamp(p.snap.TakenAt), p.snap.Digest
	at := fmt.Sprintf("snapshot #%d", p.snap.ID)
	status, exists := p.users[rs.PrincipalID]
	switch {
	case rs.EntitlementID != "" && !p.grants[idsnap.GrantID(rs.PrincipalID, rs.EntitlementID)]:
		rs.Status, rs.Evidence = StatusRevokedDone, "grant absent from "+at
	case !exists && rs.EntitlementID == "":
		rs.Status, rs.Evidence = StatusRevokedDone, "account absent from "+at
	case status == idsnap.StatusSuspended || status == idsnap.StatusInactive || status == idsnap.StatusDeleted:
		rs.Status, rs.Evidence = StatusRevokedDone, fmt.Sprintf("account %s in %s", status, at)
	case rs.EntitlementID != "":
		rs.Evidence = "grant still held in " + at
	default:
		rs.Evidence = "account still active in " + at
	}
}

// StatusHeader is the column list of a review's per-row status.
var StatusHeader = []string{
	"row_id", "source", "principal_id", "login", "email", "resource_id", "entitlement_id",
	"decision", "decision_as_written", "reviewer", "decided_at", "comment", "decisions_line",
	"status", "proof_snapshot_id", "proof_snapshot_time", "proof_snapshot_digest", "evidence", "problems",
}

// StatusTable is the per-row status as a table.
func (s *ReviewStatus) StatusTable() report.Table {
	t := report.Table{Header: StatusHeader}
	for _, r := range s.Rows {
		line, proof, probs := "", "", ""
		if r.Line > 0 {
			line = strconv.Itoa(r.Line)
		}
		if r.ProofSnapshot > 0 {
			proof = strconv.FormatInt(r.ProofSnapshot, 10)
		}
		if r.ProblemsOnThisRow > 0 {
			probs = strconv.Itoa(r.ProblemsOnThisRow)
		}
		t.Rows = append(t.Rows, []string{
			r.RowID, r.Source, r.PrincipalID, r.Login, r.Email, r.ResourceID, r.EntitlementID,
			r.Decision, r.Written, r.Reviewer, r.DecidedAt, r.Comment, line,
			r.Status, proof, r.ProofTakenAt, r.ProofDigest, r.Evidence, probs,
		})
	}
	return t
}

// Summary is the status's first report line.
func (s *ReviewStatus) Summary() string {
	t := s.Totals
	return fmt.Sprintf("campaign %s: %d rows: %d kept, %d revoked-done, %d revoked-pending, %d undecided; %d problems",
		s.CampaignID, t.Rows, t.Kept, t.RevokedDone, t.RevokedPending, t.Undecided, t.Problems)
}

// RenderReviewStatus writes the status: as JSON everything; as CSV the
// per-row status; as a table or Markdown the summary line, the counts per
// reviewer and one line per problem.
func RenderReviewStatus(w io.Writer, f report.Format, s *ReviewStatus) error {
	switch f {
	case report.FormatJSON:
		return report.RenderJSON(w, s)
	case report.FormatCSV:
		return report.RenderTable(w, f, s.StatusTable())
	}
	if _, err := fmt.Fprintln(w, s.Summary()); err != nil {
		return err
	}
	if len(s.Reviewers) > 0 {
		t := report.Table{Header: []string{"reviewer", "kept", "revoked-done", "revoked-pending"}}
		for _, r := range s.Reviewers {
			t.Rows = append(t.Rows, []string{r.Reviewer, strconv.Itoa(r.Kept), strconv.Itoa(r.RevokedDone), strconv.Itoa(r.RevokedPending)})
		}
		if err := report.RenderTable(w, f, t); err != nil {
			return err
		}
	}
	for _, p := range s.Problems {
		if _, err := fmt.Fprintln(w, "problem: "+p.String()); err != nil {
			return err
		}
	}
	return nil
}
