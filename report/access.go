package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
)

// AccessRow is one grant held at a moment: who, on what, holding what.
type AccessRow struct {
	Source      string
	Snapshot    int64
	Principal   AccessPrincipal
	Resource    idsnap.Ref
	Entitlement idsnap.Ref
	GrantStatus idsnap.Status // the grant's own status, where the provider has one
}

// AccessPrincipal is the holder of a grant as the snapshot knew it.
type AccessPrincipal struct {
	ID     string        `json:"id"`
	Email  string        `json:"email"`
	Name   string        `json:"name"`
	Status idsnap.Status `json:"status"`

	// The rest is what the access review shows beside the above.

	// Listed: the snapshot lists the user; false for the holder of a grant
	// it does not list, known by id alone.
	Listed        bool               `json:"-"`
	Username      string             `json:"-"`
	EmailVerified *bool              `json:"-"`
	Type          idsnap.AccountType `json:"-"`
	CreatedAt     time.Time          `json:"-"`
	Activity      *idsnap.Activity   `json:"-"`
}

// AccessJoin turns one snapshot's state into grant rows. It relies on
// store.State's order (users, resources, entitlements, then grants) and
// keeps only what the rows display: per user its email, name and status,
// per resource and entitlement its name. Grants stream through untouched,
// so memory grows with principals, not grants.
type AccessJoin struct {
	source    string
	snapshot  int64
	principal string // filter: id, or email case-insensitively
	resource  string // filter: id, or name case-insensitively

	users        map[string]AccessPrincipal
	resources    map[string]string // id → name, only those the filter keeps
	entitlements map[string]string // id → name
	held         map[string]bool   // principals with a row
}

// NewAccessJoin joins the state of snapshot of source. principal and
// resource filter the rows when not empty.
func NewAccessJoin(source string, snapshot int64, principal, resource string) *AccessJoin {
	return &AccessJoin{
		source: source, snapshot: snapshot, principal: principal, resource: resource,
		users: map[string]AccessPrincipal{}, resources: map[string]string{}, entitlements: map[string]string{},
		held: map[string]bool{},
	}
}

// Add takes the next record of the state; for a grant that passes the
// filters it returns its row.
func (j *AccessJoin) Add(r idsnap.Record) (AccessRow, bool) {
	switch r.Kind {
	case idsnap.KindUser:
		if j.principal == "" || r.ID == j.principal ||
			(r.Email != "" && strings.EqualFold(r.Email, j.principal)) || (r.Username != "" && strings.EqualFold(r.Username, j.principal)) {
			j.users[r.ID] = AccessPrincipal{ID: r.ID, Email: r.Email, Name: r.Name, Status: r.Status,
				Listed: true, Username: r.Username, EmailVerified: r.EmailVerified, Type: r.Type, CreatedAt: r.CreatedAt, Activity: r.Activity}
		}
	case idsnap.KindResource:
		if j.resource == "" || r.ID == j.resource || strings.EqualFold(r.Name, j.resource) {
			j.resources[r.ID] = r.Name
		}
	case idsnap.KindEntitlement:
		if _, ok := j.resources[r.ResourceID]; ok {
			j.entitlements[r.ID] = r.Name
		}
	case idsnap.KindGrant:
		p, ok := j.users[r.PrincipalID]
		if !ok {
			if j.principal != "" {
				return AccessRow{}, false
			}
			// A grant to a principal the snapshot does not list: still
			// access, shown by id.
			p = AccessPrincipal{ID: r.PrincipalID}
		}
		resName, ok := j.resources[r.ResourceID]
		if !ok && j.resource != "" {
			return AccessRow{}, false
		}
		entName, ok := j.entitlements[r.EntitlementID]
		if !ok || entName == "" {
			// The entitlement's key, as a provider names it: a Kinde role
			// org:role:admin is "admin", as its entitlement record says.
			entName = r.EntitlementID[strings.LastIndexByte(r.EntitlementID, ':')+1:]
		}
		j.held[p.ID] = true
		return AccessRow{
			Source: j.source, Snapshot: j.snapshot, Principal: p,
			Resource:    idsnap.Ref{ID: r.ResourceID, Name: resName},
			Entitlement: idsnap.Ref{ID: r.EntitlementID, Name: entName},
			GrantStatus: r.Status,
		}, true
	}
	return AccessRow{}, false
}

// Matched reports whether the snapshot lists a user the principal filter
// kept; with no filter, whether it lists any user.
func (j *AccessJoin) Matched() bool { return len(j.users) > 0 }

// MatchedResource says whether a resource passed the resource filter.
func (j *AccessJoin) MatchedResource() bool { return len(j.resources) > 0 }

// Unheld lists, by id, the principals the filter kept that held no grant
// the filter kept: the access review gives each a row of its own. Call it
// after the last record.
func (j *AccessJoin) Unheld() []AccessPrincipal {
	var out []AccessPrincipal
	for id, p := range j.users {
		if !j.held[id] {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b AccessPrincipal) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// AccessWriter renders access rows as they come. CSV and JSON stream, so a
// tenant of a million principals prints in constant memory; table and
// Markdown must measure columns, so they keep the rows until Close.
type AccessWriter struct {
	w     io.Writer
	f     Format
	loc   *time.Location
	rows  [][]string
	csv   *csv.Writer
	n     int
	taken map[string]string // source → its snapshot's time, for CSV rows
	err   error

	// Note, when set before Close, ends the table's summary line: why
	// there are no rows. JSON and CSV have no place for it.
	Note string
}

// NewAccessWriter starts output: the snapshots read (at) and the sources
// that had none (skipped) come first, in every format. loc is the zone for
// times in table, csv and markdown; nil is UTC.
func NewAccessWriter(w io.Writer, f Format, at []Point, skipped []Skipped, loc *time.Location) (*AccessWriter, error) {
	if loc == nil {
		loc = time.UTC
	}
	at = slices.Clone(at)
	slices.SortFunc(at, func(a, b Point) int { return strings.Compare(a.Snapshot.Source, b.Snapshot.Source) })
	aw := &AccessWriter{w: w, f: f, loc: loc, taken: map[string]string{}}
	for _, a := range at {
		aw.taken[a.Snapshot.Source] = a.Snapshot.TakenAt.In(loc).Format(time.RFC3339)
	}
	switch f {
	case FormatJSON:
		m := map[string]Point{}
		for _, a := range at {
			m[a.Snapshot.Source] = a
		}
		head := struct {
			At      map[string]Point `json:"at"`
			Skipped []Skipped        `json:"skipped,omitempty"`
		}{m, skipped}
		b, err := indentJSON(head, "")
		if err != nil {
			return nil, err
		}
		// The head object minus its closing brace, then the grants list.
		b = bytes.TrimSuffix(b, []byte("\n}"))
		_, err = fmt.Fprintf(w, "%s,\n  \"grants\": [", escapeJSONRunes(b))
		return aw, err
	case FormatCSV:
		aw.csv = csv.NewWriter(w)
		return aw, aw.csv.Write([]string{"source", "snapshot", "taken_at", "principal_id", "email", "name", "status",
			"resource_id", "resource_name", "entitlement_id", "entitlement_name", "grant_status"})
	case FormatTable, FormatMarkdown, "":
		for _, a := range at {
			l := fmt.Sprintf("%s: as of #%d (%s)", a.Snapshot.Source, a.Snapshot.ID, a.Snapshot.TakenAt.In(loc).Format(time.RFC3339))
			if a.Earliest {
				l += "; no snapshot that old, its earliest stands in"
			}
			if err := aw.line(l); err != nil {
				return nil, err
			}
		}
		for _, s := range skipped {
			if err := aw.line(fmt.Sprintf("%s: not read: %s", s.Source, s.Reason)); err != nil {
				return nil, err
			}
		}
		return aw, nil
	}
	return nil, fmt.Errorf("unknown format %q: use table, json, csv or markdown", f)
}

func (aw *AccessWriter) line(l string) error {
	l = fitLine(SafeText(l), lineWidth(aw.w, aw.f))
	if aw.f == FormatMarkdown {
		l = "- " + l
	}
	_, err := fmt.Fprintln(aw.w, l)
	return err
}

// indentJSON is RenderJSON's encoding of v, every line after the first
// prefixed, without the trailing newline.
func indentJSON(v any, prefix string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

type accessJSON struct {
	Source      string          `json:"source"`
	Snapshot    int64           `json:"snapshot"`
	Principal   AccessPrincipal `json:"principal"`
	Resource    refJSON         `json:"resource"`
	Entitlement refJSON         `json:"entitlement"`
	Status      idsnap.Status   `json:"status,omitempty"` // the grant's own
}

// Write adds one row.
func (aw *AccessWriter) Write(r AccessRow) error {
	if aw.err != nil {
		return aw.err
	}
	aw.n++
	switch aw.f {
	case FormatJSON:
		b, err := indentJSON(accessJSON{
			Source: r.Source, Snapshot: r.Snapshot, Principal: r.Principal,
			Resource:    refJSON{ID: r.Resource.ID, Name: r.Resource.Name},
			Entitlement: refJSON{ID: r.Entitlement.ID, Name: r.Entitlement.Name},
			Status:      r.GrantStatus,
		}, "    ")
		if err != nil {
			aw.err = err
			return err
		}
		sep := ",\n    "
		if aw.n == 1 {
			sep = "\n    "
		}
		_, aw.err = fmt.Fprintf(aw.w, "%s%s", sep, escapeJSONRunes(b))
	case FormatCSV:
		cells := []string{r.Source, strconv.FormatInt(r.Snapshot, 10), aw.taken[r.Source], r.Principal.ID, r.Principal.Email, r.Principal.Name,
			string(r.Principal.Status), r.Resource.ID, r.Resource.Name, r.Entitlement.ID, r.Entitlement.Name, string(r.GrantStatus)}
		for i, c := range cells {
			cells[i] = SafeCSV(Escape(c))
		}
		aw.err = aw.csv.Write(cells)
	default:
		status := string(r.Principal.Status)
		if r.GrantStatus != "" && r.GrantStatus != idsnap.StatusActive {
			status += " (grant " + string(r.GrantStatus) + ")"
		}
		res := r.Resource.ID
		if r.Resource.Name != "" && r.Resource.Name != r.Resource.ID {
			res = r.Resource.Name + " (" + r.Resource.ID + ")"
		}
		aw.rows = append(aw.rows, []string{r.Source, r.Principal.ID, person(r.Principal.Name, r.Principal.Email), status, res, r.Entitlement.Name})
	}
	return aw.err
}

// Close ends the output: closes the JSON list, flushes CSV, draws the
// table.
func (aw *AccessWriter) Close() error {
	if aw.err != nil {
		return aw.err
	}
	switch aw.f {
	case FormatJSON:
		end := "\n  ]\n}\n"
		if aw.n == 0 {
			end = "]\n}\n"
		}
		_, err := io.WriteString(aw.w, end)
		return err
	case FormatCSV:
		aw.csv.Flush()
		return aw.csv.Error()
	}
	summary := plural(aw.n, "grant")
	if aw.Note != "" {
		summary += "; " + aw.Note
	}
	if err := aw.line(summary); err != nil {
		return err
	}
	if aw.n == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(aw.w); err != nil {
		return err
	}
	t := Table{Header: []string{"SOURCE", "PRINCIPAL", "NAME", "STATUS", "RESOURCE", "ENTITLEMENT"}, Rows: aw.rows, Shrink: []string{"NAME", "RESOURCE", "ENTITLEMENT", "PRINCIPAL"}}
	if aw.f == FormatMarkdown {
		t.Header = []string{"Source", "Principal", "Name", "Status", "Resource", "Entitlement"}
	}
	return RenderTable(aw.w, aw.f, t)
}
