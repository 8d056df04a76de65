package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idsnap/idsnap"
)

// SourceDiff is what store reported for one source between two snapshots
// (store.Changes), unfiltered.
type SourceDiff struct {
	Source   string
	From, To Point
	Changes  []idsnap.Change
	// TenantChanges, set under --across-tenants, are the tenant changes
	// the comparison crosses; output marks it.
	TenantChanges []idsnap.TenantChange
}

// Skipped names a source that was not compared, and why.
type Skipped struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
}

// Filter narrows a diff; an empty list matches everything.
type Filter struct {
	Sources []string
	Changes []idsnap.ChangeType
	Kinds   []idsnap.Kind
}

func (f Filter) match(c idsnap.Change) bool {
	return (len(f.Changes) == 0 || slices.Contains(f.Changes, c.Type)) &&
		(len(f.Kinds) == 0 || slices.Contains(f.Kinds, c.Kind))
}

// ParseChangeTypes reads --change values; each may hold several, comma
// separated (joined,left).
func ParseChangeTypes(vals []string) ([]idsnap.ChangeType, error) {
	valid := []idsnap.ChangeType{idsnap.Joined, idsnap.Left, idsnap.Changed, idsnap.Granted, idsnap.Revoked}
	var out []idsnap.ChangeType
	for _, s := range splitList(vals) {
		t := idsnap.ChangeType(strings.ToLower(s))
		if !slices.Contains(valid, t) {
			return nil, fmt.Errorf("unknown change %q: use joined, left, changed, granted or revoked", s)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// ParseKinds reads --kind values; each may hold several, comma separated
// (user,grant).
func ParseKinds(vals []string) ([]idsnap.Kind, error) {
	var out []idsnap.Kind
	for _, s := range splitList(vals) {
		k := idsnap.Kind(strings.ToLower(s))
		if !slices.Contains(idsnap.Kinds, k) {
			return nil, fmt.Errorf("unknown kind %q: use user, resource, entitlement or grant", s)
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// Entry is one line of a diff: a change, or a user that left with the
// grants it lost folded in (one leaver, not dozens of revoked lines).
type Entry struct {
	idsnap.Change
	Grants []idsnap.Change // revoked grants of a leaver, by id
}

// Diff is a comparison ready to render: filtered, folded and ordered.
type Diff struct {
	Sources []SourceDiff // compared, by source name
	Skipped []Skipped    // not compared, by source name
	Entries []Entry      // ordered by source, kind, change, id
	// Location is the zone times are shown in by table, csv and markdown
	// (JSON keeps them as given); nil is UTC.
	Location *time.Location

	shown, hidden, folded map[string]int // per source: lines, changes filtered out, grants folded into leavers
}

// NewDiff filters the changes, folds each leaver's revoked grants into it
// and orders the result: by source, kind (user, resource, entitlement,
// grant), change (joined, left, changed, granted, revoked), then id.
// Folding happens after filtering, so --change revoked still lists a
// leaver's grants one by one.
func NewDiff(sources []SourceDiff, skipped []Skipped, f Filter) *Diff {
	d := &Diff{shown: map[string]int{}, hidden: map[string]int{}, folded: map[string]int{}}
	for _, sd := range sources {
		if len(f.Sources) > 0 && !slices.Contains(f.Sources, sd.Source) {
			continue
		}
		d.Sources = append(d.Sources, sd)
		var kept []idsnap.Change
		leavers := map[string]bool{}
		for _, c := range sd.Changes {
			if c.Source == "" {
				c.Source = sd.Source
			}
			if !f.match(c) {
				d.hidden[sd.Source]++
				continue
			}
			kept = append(kept, c)
			if c.Kind == idsnap.KindUser && c.Type == idsnap.Left {
				leavers[c.ID] = true
			}
		}
		folded := map[string][]idsnap.Change{}
		for _, c := range kept {
			if c.Kind == idsnap.KindGrant && c.Type == idsnap.Revoked {
				if p := grantPrincipal(c); leavers[p] {
					folded[p] = append(folded[p], c)
					d.folded[sd.Source]++
					continue
				}
			}
			d.shown[sd.Source]++
			d.Entries = append(d.Entries, Entry{Change: c})
		}
		for i := range d.Entries {
			e := &d.Entries[i]
			if e.Source == sd.Source && e.Kind == idsnap.KindUser && e.Type == idsnap.Left {
				e.Grants = folded[e.ID]
				slices.SortFunc(e.Grants, func(a, b idsnap.Change) int { return strings.Compare(a.ID, b.ID) })
			}
		}
	}
	slices.SortFunc(d.Sources, func(a, b SourceDiff) int { return strings.Compare(a.Source, b.Source) })
	d.Skipped = slices.Clone(skipped)
	slices.SortFunc(d.Skipped, func(a, b Skipped) int { return strings.Compare(a.Source, b.Source) })
	slices.SortStableFunc(d.Entries, func(a, b Entry) int { return compareChanges(a.Change, b.Change) })
	return d
}

func compareChanges(a, b idsnap.Change) int {
	return cmp.Or(
		strings.Compare(a.Source, b.Source),
		cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)),
		cmp.Compare(typeRank(a.Type), typeRank(b.Type)),
		strings.Compare(a.ID, b.ID),
	)
}

func kindRank(k idsnap.Kind) int {
	if i := slices.Index(idsnap.Kinds, k); i >= 0 {
		return i
	}
	return len(idsnap.Kinds)
}

func typeRank(t idsnap.ChangeType) int {
	order := []idsnap.ChangeType{idsnap.Joined, idsnap.Left, idsnap.Changed, idsnap.Granted, idsnap.Revoked}
	if i := slices.Index(order, t); i >= 0 {
		return i
	}
	return len(order)
}

// grantPrincipal is the principal a grant change is about: from its
// resolved ref, its record, or failing both its id (GrantID).
func grantPrincipal(c idsnap.Change) string {
	p, _, _ := grantRefs(c)
	return p.ID
}

// grantRefs names who, on what, holding what, falling back from store's
// resolved refs to the grant record's links and then its ids.
func grantRefs(c idsnap.Change) (p, r, e idsnap.Ref) {
	rec := c.After
	if rec == nil {
		rec = c.Before
	}
	if rec != nil {
		p.ID, r.ID, e.ID = rec.PrincipalID, rec.ResourceID, rec.EntitlementID
	}
	if p.ID == "" {
		p.ID, e.ID, _ = strings.Cut(c.ID, "|")
	}
	if c.Principal != nil {
		p = *c.Principal
	}
	if c.Resource != nil {
		r = *c.Resource
	}
	if c.Entitlement != nil {
		e = *c.Entitlement
	}
	if r.ID == "" {
		r.ID, _, _ = strings.Cut(e.ID, ":")
	}
	if e.Name == "" {
		if i := strings.LastIndexByte(e.ID, ':'); i >= 0 {
			e.Name = e.ID[i+1:]
		}
	}
	return p, r, e
}

// userOf is the record a user change shows: the newer version if any.
func userOf(c idsnap.Change) idsnap.Record {
	switch {
	case c.After != nil:
		return *c.After
	case c.Before != nil:
		return *c.Before
	}
	return idsnap.Record{}
}

// RenderDiff writes d in format f. Every format names the exact snapshots
// compared: a summary per source (table, markdown), from/to (JSON), or
// snapshot columns on every row (CSV, which also unfolds leavers' grants:
// one row per change).
func RenderDiff(w io.Writer, f Format, d *Diff) error {
	switch f {
	case FormatJSON:
		return renderSafeJSON(w, d.jsonValue())
	case FormatCSV:
		return RenderTable(w, f, d.csvTable())
	case FormatTable, FormatMarkdown, "":
		return d.renderText(w, f)
	}
	return fmt.Errorf("unknown format %q: use table, json, csv or markdown", f)
}

func (d *Diff) loc() *time.Location {
	if d.Location == nil {
		return time.UTC
	}
	return d.Location
}

func (d *Diff) fmtTime(t time.Time) string { return t.In(d.loc()).Format(time.RFC3339) }

// summary is the human lines naming what was compared, per source.
func (d *Diff) summary() []string {
	var lines []string
	for _, sd := range d.Sources {
		head := fmt.Sprintf("%s: #%d (%s) → #%d (%s)", sd.Source, sd.From.Snapshot.ID, d.fmtTime(sd.From.Snapshot.TakenAt), sd.To.Snapshot.ID, d.fmtTime(sd.To.Snapshot.TakenAt))
		switch {
		case sd.From.Snapshot.ID == sd.To.Snapshot.ID:
			head += ": same snapshot, no changes"
		default:
			head += ": " + plural(d.shown[sd.Source], "change")
			if n := d.folded[sd.Source]; n > 0 {
				head += fmt.Sprintf(" (and %s lost by leavers)", plural(n, "grant"))
			}
			if n := d.hidden[sd.Source]; n > 0 {
				head += fmt.Sprintf(" (%d more hidden by filters)", n)
			}
		}
		lines = append(lines, head)
		if sd.From.Earliest {
			lines = append(lines, fmt.Sprintf("note: %s has no snapshot that old; its earliest, #%d, stands in for the start", sd.Source, sd.From.Snapshot.ID))
		}
		for _, tc := range sd.TenantChanges {
			lines = append(lines, TenantNote(tc, true))
		}
		if sd.To.Earliest {
			lines = append(lines, fmt.Sprintf("note: %s has no snapshot that old; its earliest, #%d, stands in for the end", sd.Source, sd.To.Snapshot.ID))
		}
	}
	for _, s := range d.Skipped {
		lines = append(lines, fmt.Sprintf("%s: not compared: %s", s.Source, s.Reason))
	}
	if len(d.Sources) == 0 && len(d.Skipped) == 0 {
		lines = append(lines, "no sources to compare: pull one first (idsnap pull)")
	}
	return lines
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func (d *Diff) renderText(w io.Writer, f Format) error {
	for _, l := range d.summary() {
		l = fitLine(SafeText(l), lineWidth(w, f))
		if f == FormatMarkdown {
			l = "- " + l
		}
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	if len(d.Entries) == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	t := Table{Header: []string{"SOURCE", "CHANGE", "KIND", "ID", "NAME", "DETAIL"}, Shrink: []string{"DETAIL", "NAME", "ID"}}
	if f == FormatMarkdown {
		t.Header = []string{"Source", "Change", "Kind", "ID", "Name", "Detail"}
	}
	for _, e := range d.Entries {
		t.Rows = append(t.Rows, []string{e.Source, string(e.Type), string(e.Kind), e.ID, displayName(e.Change), detail(e)})
	}
	return RenderTable(w, f, t)
}

// displayName is who or what a change is about, for people to read.
func displayName(c idsnap.Change) string {
	switch c.Kind {
	case idsnap.KindUser:
		u := userOf(c)
		return person(u.Name, u.Email)
	case idsnap.KindGrant:
		p, _, _ := grantRefs(c)
		return person(p.Name, p.Email)
	}
	return userOf(c).Name
}

func person(name, email string) string {
	switch {
	case name != "" && email != "":
		return name + " <" + email + ">"
	case name != "":
		return name
	}
	return email
}

// detail says what happened: the fields that changed, what a grant gives,
// or the grants a leaver took along.
func detail(e Entry) string {
	var parts []string
	if e.Kind == idsnap.KindGrant {
		parts = append(parts, grantText(e.Change))
	}
	if len(e.Fields) > 0 {
		fs := make([]string, len(e.Fields))
		for i, fc := range e.Fields {
			fs[i] = fc.Field + ": " + valueText(fc.From) + " → " + valueText(fc.To)
		}
		parts = append(parts, strings.Join(fs, "; "))
	}
	if len(e.Grants) > 0 {
		gs := make([]string, len(e.Grants))
		for i, g := range e.Grants {
			gs[i] = grantText(g)
		}
		parts = append(parts, "lost "+plural(len(e.Grants), "grant")+": "+strings.Join(gs, "; "))
	}
	return strings.Join(parts, ": ")
}

// grantText reads like "member of Acme (acme_org)".
func grantText(c idsnap.Change) string {
	_, r, e := grantRefs(c)
	res := r.ID
	if r.Name != "" && r.Name != r.ID {
		res = r.Name + " (" + r.ID + ")"
	}
	return e.Name + " of " + res
}

func valueText(v any) string {
	switch v := v.(type) {
	case nil:
		return "(none)"
	case string:
		if v == "" {
			return `""`
		}
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// csvTable has fixed columns and one row per change: a leaver's folded
// grants come back as their own rows, right after it.
func (d *Diff) csvTable() Table {
	t := Table{Header: []string{"source", "from_snapshot", "to_snapshot", "change", "kind", "id", "email", "name",
		"principal_id", "resource_id", "resource_name", "entitlement_id", "entitlement_name", "detail"}}
	ends := map[string]SourceDiff{}
	for _, sd := range d.Sources {
		ends[sd.Source] = sd
	}
	row := func(c idsnap.Change) []string {
		sd := ends[c.Source]
		r := []string{c.Source, strconv.FormatInt(sd.From.Snapshot.ID, 10), strconv.FormatInt(sd.To.Snapshot.ID, 10), string(c.Type), string(c.Kind), c.ID}
		var email, name, pid, rid, rname, eid, ename string
		switch c.Kind {
		case idsnap.KindUser:
			u := userOf(c)
			email, name = u.Email, u.Name
		case idsnap.KindGrant:
			p, res, ent := grantRefs(c)
			email, name, pid, rid, rname, eid, ename = p.Email, p.Name, p.ID, res.ID, res.Name, ent.ID, ent.Name
		default:
			name = userOf(c).Name
		}
		det := detail(Entry{Change: c})
		if len(sd.TenantChanges) > 0 {
			det = acrossTenantsMark + det
		}
		r = append(r, email, name, pid, rid, rname, eid, ename, det)
		for i := range r {
			r[i] = Escape(r[i])
		}
		return r
	}
	for _, e := range d.Entries {
		t.Rows = append(t.Rows, row(e.Change))
		for _, g := range e.Grants {
			t.Rows = append(t.Rows, row(g))
		}
	}
	return t
}

// The JSON contract (docs/architecture.md, "The JSON contract").
type diffJSON struct {
	From    map[string]Point `json:"from"`
	To      map[string]Point `json:"to"`
	Changes []changeJSON     `json:"changes"`
	Skipped []Skipped        `json:"skipped,omitempty"`
	// TenantChanges are those compared across (--across-tenants); the
	// changes of their sources are marked across_tenants.
	TenantChanges []tenantChangeJSON `json:"tenant_changes,omitempty"`
}

type changeJSON struct {
	Source      string               `json:"source"`
	Snapshot    *snapshotJSON        `json:"snapshot,omitempty"` // history: where the change was seen
	Change      idsnap.ChangeType    `json:"change"`
	Kind        idsnap.Kind          `json:"kind"`
	ID          string               `json:"id"`
	Email       *string              `json:"email,omitempty"` // users always carry email and name
	Name        *string              `json:"name,omitempty"`
	Fields      []idsnap.FieldChange `json:"fields,omitempty"`
	Principal   *principalJSON       `json:"principal,omitempty"`
	Resource    *refJSON             `json:"resource,omitempty"`
	Entitlement *refJSON             `json:"entitlement,omitempty"`
	Grants      []changeJSON         `json:"grants,omitempty"`
	// AcrossTenants marks a change seen across a tenant change.
	AcrossTenants bool `json:"across_tenants,omitempty"`
}

type snapshotJSON struct {
	ID      int64     `json:"id"`
	TakenAt time.Time `json:"taken_at"`
}

type principalJSON struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type refJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func changeValue(c idsnap.Change) changeJSON {
	j := changeJSON{Source: c.Source, Change: c.Type, Kind: c.Kind, ID: c.ID, Fields: c.Fields}
	switch c.Kind {
	case idsnap.KindUser:
		u := userOf(c)
		j.Email, j.Name = &u.Email, &u.Name
	case idsnap.KindGrant:
		p, r, e := grantRefs(c)
		j.Principal = &principalJSON{ID: p.ID, Name: p.Name, Email: p.Email}
		j.Resource = &refJSON{ID: r.ID, Name: r.Name}
		j.Entitlement = &refJSON{ID: e.ID, Name: e.Name}
	default:
		if n := userOf(c).Name; n != "" {
			j.Name = &n
		}
	}
	return j
}

func entryValue(e Entry) changeJSON {
	j := changeValue(e.Change)
	for _, g := range e.Grants {
		j.Grants = append(j.Grants, changeValue(g))
	}
	return j
}

func (d *Diff) jsonValue() diffJSON {
	v := diffJSON{From: map[string]Point{}, To: map[string]Point{}, Changes: []changeJSON{}, Skipped: d.Skipped}
	across := map[string]bool{}
	for _, sd := range d.Sources {
		v.From[sd.Source], v.To[sd.Source] = sd.From, sd.To
		v.TenantChanges = append(v.TenantChanges, tenantChangesJSON(sd.TenantChanges, true)...)
		across[sd.Source] = len(sd.TenantChanges) > 0
	}
	for _, e := range d.Entries {
		j := entryValue(e)
		j.AcrossTenants = across[e.Source]
		v.Changes = append(v.Changes, j)
	}
	return v
}

// Escape is SafeText without the length cut, for CSV: CSV has no escape
// of its own, and exports end up in terminals and pasted into tickets, so
// control characters and bidi overrides are written as \x1b and \u202e.
// Line breaks inside a value go the same way, keeping one line per row.
func Escape(s string) string { return escapeText(s, 0) }

// renderSafeJSON is RenderJSON with bidi overrides, invisible format
// characters and DEL escaped as \uXXXX: lossless for any JSON reader, and
// harmless when a person reads the file in a terminal (encoding/json
// already escapes C0 controls).
func renderSafeJSON(w io.Writer, v any) error {
	b, err := indentJSON(v, "")
	if err != nil {
		return err
	}
	_, err = w.Write(append(escapeJSONRunes(b), '\n'))
	return err
}

// escapeJSONRunes rewrites unsafe runes in encoded JSON. They can only
// occur inside strings (JSON's syntax is ASCII), so a plain scan is safe.
func escapeJSONRunes(b []byte) []byte {
	unsafe := func(r rune) bool { return r == 0x7f || isBidiOrInvisible(r) }
	if !bytes.ContainsFunc(b, unsafe) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError && unsafe(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}
