package report

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idsnap/idsnap"
)

// FindingsInput is one source's state as of the snapshot a report reads.
type FindingsInput struct {
	Snapshot idsnap.Snapshot
	// Records streams the snapshot's records in store order: users, then
	// resources, entitlements and grants, each sorted by id (store.DB.State
	// bound to the snapshot's id).
	Records func(ctx context.Context, fn func(idsnap.Record) error) error
}

// FindingsAt names the snapshot findings read for one source, shaped as
// diff's from and to.
type FindingsAt struct {
	ID      int64     `json:"id"`
	TakenAt time.Time `json:"taken_at"`
}

// FindingsRule is one rule's summary: its population (the principals it
// applies to) and how many of them had each outcome.
type FindingsRule struct {
	ID         string         `json:"id"`
	Version    int            `json:"version"`
	Params     map[string]any `json:"params"`
	Population int            `json:"population"`
	Fail       int            `json:"fail"`
	Pass       int            `json:"pass"`
	Unknown    int            `json:"unknown"`
}

// Finding is one FAIL or UNKNOWN outcome of a rule for one principal.
type Finding struct {
	Rule      string           `json:"rule"`
	Outcome   Outcome          `json:"outcome"`
	Source    string           `json:"source"`
	Principal FindingPrincipal `json:"principal"`
	Detail    string           `json:"detail"`
}

// FindingPrincipal names the principal of a finding.
type FindingPrincipal struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// FindingsResult is what `idsnap findings` reports. Findings are kept
// compact (a million UNKNOWNs from a provider without sign-in data must fit)
// and materialised one at a time by Findings and the renderers.
type FindingsResult struct {
	At    map[string]FindingsAt // by source
	Rules []FindingsRule

	b     *fndBuilder
	found []fndFinding

	indexOnce sync.Once
	byUser    []int32 // indices into found, sorted by user then rule
}

type fndFinding struct {
	user   int32
	rule   uint8
	fail   bool
	detail string
}

// Len is the number of findings (FAIL and UNKNOWN outcomes).
func (r *FindingsResult) Len() int { return len(r.found) }

// Findings yields every finding: by rule in report order, FAILs before
// UNKNOWNs, then by source and principal id.
func (r *FindingsResult) Findings() iter.Seq[Finding] {
	return func(yield func(Finding) bool) {
		for i := range r.found {
			if !yield(r.finding(&r.found[i])) {
				return
			}
		}
	}
}

func (r *FindingsResult) finding(f *fndFinding) Finding {
	u := &r.b.users[f.user]
	o := OutcomeUnknown
	if f.fail {
		o = OutcomeFail
	}
	return Finding{
		Rule: fndRules[f.rule].id, Outcome: o, Source: r.b.sources[u.src],
		Principal: FindingPrincipal{ID: u.id, Email: u.email, Name: u.name},
		Detail:    f.detail,
	}
}

// Failed says whether rule had at least one FAIL.
func (r *FindingsResult) Failed(rule string) bool {
	for _, s := range r.Rules {
		if s.ID == rule {
			return s.Fail > 0
		}
	}
	return false
}

// IDsFor returns the ids of the rules that FAIL for the principal, in
// report order; nil when none does or the principal is unknown. UNKNOWN
// outcomes are left out: they say the provider is silent, not that the
// principal is at fault. Safe for concurrent use.
func (r *FindingsResult) IDsFor(source, principalID string) []string {
	r.indexOnce.Do(func() {
		r.byUser = make([]int32, 0, len(r.found))
		for i := range r.found {
			if r.found[i].fail {
				r.byUser = append(r.byUser, int32(i))
			}
		}
		// Stable: found is in rule order, which each user's list keeps.
		slices.SortStableFunc(r.byUser, func(a, b int32) int { return cmp.Compare(r.found[a].user, r.found[b].user) })
	})
	u := r.b.findUser(source, principalID)
	if u < 0 {
		return nil
	}
	k, _ := slices.BinarySearchFunc(r.byUser, u, func(f int32, u int32) int { return cmp.Compare(r.found[f].user, u) })
	var ids []string
	for ; k < len(r.byUser) && r.found[r.byUser[k]].user == u; k++ {
		ids = append(ids, fndRules[r.found[r.byUser[k]].rule].id)
	}
	return ids
}

// fndUser is all findings keep of a user: a million of them must fit, so
// no Raw, times as Unix seconds and booleans as bits.
type fndUser struct {
	id, email, name, externalID string
	status                      idsnap.Status
	created, lastSignIn         int64
	grants                      int32 // active grants held
	src                         uint16
	flags                       uint8
}

const (
	fndMachine       uint8 = 1 << iota
	fndHasCreated          // created is set
	fndActivity            // the provider reports sign-ins for this user
	fndHasLastSignIn       // lastSignIn is set
	fndSignedIn            // signed in at least once
	fndVerifiedKnown       // the provider says whether the email is verified
	fndVerified
)

// fndExtra is kept only for the users whose grants a detail names: those
// suspended, inactive, deleted or machine, and holders of privileged
// entitlements.
type fndExtra struct {
	grantLabels []string // the first three grants' entitlements
	privLabels  []string // the first three privileged ones
	privCount   int32
}

const fndMaxLabels = 3

type fndEnt struct {
	label string
	priv  bool
}

// fndBuilder reads the inputs into compact users.
type fndBuilder struct {
	p       *fndParams
	sources []string
	at      []int64 // per source: the snapshot's time, Unix seconds
	lo      []int32 // per source: its first user; users of a source are sorted by id
	users   []fndUser
	extra   map[int32]*fndExtra
}

func (b *fndBuilder) Len() int { return len(b.users) }

func (b *fndBuilder) Account(i int) (string, string, string, string) {
	u := &b.users[i]
	return b.sources[u.src], u.id, u.email, u.externalID
}

func (b *fndBuilder) sourceRange(s int) (int, int) {
	hi := len(b.users)
	if s+1 < len(b.lo) {
		hi = int(b.lo[s+1])
	}
	return int(b.lo[s]), hi
}

func (b *fndBuilder) findUserIn(s int, id string) int32 {
	lo, hi := b.sourceRange(s)
	k, ok := slices.BinarySearchFunc(b.users[lo:hi], id, func(u fndUser, id string) int { return strings.Compare(u.id, id) })
	if !ok {
		return -1
	}
	return int32(lo + k)
}

func (b *fndBuilder) findUser(source, id string) int32 {
	s, ok := slices.BinarySearch(b.sources, source)
	if !ok {
		return -1
	}
	return b.findUserIn(s, id)
}

func (b *fndBuilder) extraOf(i int32) *fndExtra {
	x := b.extra[i]
	if x == nil {
		x = &fndExtra{}
		b.extra[i] = x
	}
	return x
}

func (b *fndBuilder) grantSummary(i int32, u *fndUser) string {
	n := int(u.grants)
	s := strconv.Itoa(n) + " active grant"
	if n != 1 {
		s += "s"
	}
	if x := b.extra[i]; x != nil && len(x.grantLabels) > 0 {
		s += ": " + fndList(x.grantLabels, n)
	}
	return s
}

func fndUserOf(r *idsnap.Record, src int) fndUser {
	u := fndUser{id: r.ID, email: r.Email, name: r.Name, externalID: r.ExternalID, status: r.Status, src: uint16(src)}
	if u.name == "" {
		u.name = r.Username
	}
	if r.Type == idsnap.AccountMachine {
		u.flags |= fndMachine
	}
	if !r.CreatedAt.IsZero() {
		u.created, u.flags = r.CreatedAt.Unix(), u.flags|fndHasCreated
	}
	if r.EmailVerified != nil {
		u.flags |= fndVerifiedKnown
		if *r.EmailVerified {
			u.flags |= fndVerified
		}
	}
	if a := r.Activity; a != nil {
		u.flags |= fndActivity
		if !a.LastSignIn.IsZero() {
			u.lastSignIn, u.flags = a.LastSignIn.Unix(), u.flags|fndHasLastSignIn|fndSignedIn
		}
		if a.SignIns > 0 {
			u.flags |= fndSignedIn
		}
	}
	return u
}

// load reads one source. Store streams users before anything else, so
// grants can find their user by binary search in the sorted users.
func (b *fndBuilder) load(ctx context.Context, s int, in FindingsInput) error {
	b.lo = append(b.lo, int32(len(b.users)))
	start := len(b.users)
	usersDone := false
	endUsers := func() error {
		usersDone = true
		us := b.users[start:]
		if !slices.IsSortedFunc(us, func(a, b fndUser) int { return strings.Compare(a.id, b.id) }) {
			slices.SortFunc(us, func(a, b fndUser) int { return strings.Compare(a.id, b.id) })
		}
		for i := 1; i < len(us); i++ {
			if us[i].id == us[i-1].id {
				return fmt.Errorf("user %q appears twice", us[i].id)
			}
		}
		return nil
	}
	resources := map[string]string{}
	ents := map[string]fndEnt{}
	err := in.Records(ctx, func(r idsnap.Record) error {
		if r.Kind != idsnap.KindUser && !usersDone {
			if err := endUsers(); err != nil {
				return err
			}
		}
		switch r.Kind {
		case idsnap.KindUser:
			if usersDone {
				return fmt.Errorf("user %q after other records: records must come users first", r.ID)
			}
			if len(b.users) >= 1<<31-1 {
				return fmt.Errorf("more than %d users: findings cannot hold them", 1<<31-1)
			}
			b.users = append(b.users, fndUserOf(&r, s))
		case idsnap.KindResource:
			name := r.Name
			if name == "" {
				name = r.ID
			}
			resources[r.ID] = name
		case idsnap.KindEntitlement:
			key := strings.TrimPrefix(r.ID, r.ResourceID+":")
			res, ok := resources[r.ResourceID]
			if !ok {
				res = r.ResourceID
			}
			name := r.Name
			if name == "" {
				name = key
			}
			ents[r.ID] = fndEnt{label: res + "/" + name, priv: b.p.privileged(key, r.Name)}
		case idsnap.KindGrant:
			b.grant(s, &r, ents)
		}
		return nil
	})
	if err == nil && !usersDone {
		err = endUsers()
	}
	return err
}

func (b *fndBuilder) grant(s int, r *idsnap.Record, ents map[string]fndEnt) {
	if r.Status != "" && r.Status != idsnap.StatusActive {
		return
	}
	i := b.findUserIn(s, r.PrincipalID)
	if i < 0 {
		return
	}
	u := &b.users[i]
	u.grants++
	ent, ok := ents[r.EntitlementID]
	if !ok {
		key := r.EntitlementID
		if k := strings.LastIndexByte(key, ':'); k >= 0 {
			key = key[k+1:]
		}
		ent = fndEnt{label: r.EntitlementID, priv: b.p.privileged(key)}
	}
	if fndGone(u.status) || !fndIsHuman(u) {
		if x := b.extraOf(i); len(x.grantLabels) < fndMaxLabels {
			x.grantLabels = append(x.grantLabels, ent.label)
		}
	}
	if ent.priv {
		x := b.extraOf(i)
		x.privCount++
		if len(x.privLabels) < fndMaxLabels {
			x.privLabels = append(x.privLabels, ent.label)
		}
	}
}

// fndSortInputs returns the inputs sorted by source name.
func fndSortInputs(in []FindingsInput) []FindingsInput {
	in = slices.Clone(in)
	slices.SortFunc(in, func(a, b FindingsInput) int { return strings.Compare(a.Snapshot.Source, b.Snapshot.Source) })
	return in
}

func fndCheckInputs(in []FindingsInput) error {
	for i := 1; i < len(in); i++ {
		if in[i].Snapshot.Source == in[i-1].Snapshot.Source {
			return fmt.Errorf("source %s given twice: name each source once", in[i].Snapshot.Source)
		}
	}
	if len(in) > 1<<16 {
		return fmt.Errorf("%d sources: findings handles at most %d", len(in), 1<<16)
	}
	return nil
}

// Findings runs every rule over the users of every input. Times compare
// against each source's snapshot time, never the clock, so a report on an
// old snapshot says what was true then. people links accounts for
// status-mismatch-across-providers.
func Findings(ctx context.Context, in []FindingsInput, cfg FindingsConfig, people PeopleConfig) (*FindingsResult, error) {
	p, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	pc, err := people.compile()
	if err != nil {
		return nil, err
	}
	in = fndSortInputs(in)
	if err := fndCheckInputs(in); err != nil {
		return nil, err
	}
	b := &fndBuilder{p: p, extra: map[int32]*fndExtra{}}
	res := &FindingsResult{At: map[string]FindingsAt{}, b: b}
	for s, src := range in {
		b.sources = append(b.sources, src.Snapshot.Source)
		b.at = append(b.at, src.Snapshot.TakenAt.Unix())
		res.At[src.Snapshot.Source] = FindingsAt{ID: src.Snapshot.ID, TakenAt: src.Snapshot.TakenAt.UTC()}
		if err := b.load(ctx, s, src); err != nil {
			return nil, fmt.Errorf("%s: read snapshot %d: %w", src.Snapshot.Source, src.Snapshot.ID, err)
		}
	}
	e := &fndEval{b: b, p: p}
	if err := e.linkPeople(pc); err != nil {
		return nil, err
	}
	var fails, unknowns []fndFinding
	for ri, rule := range fndRules {
		sum := FindingsRule{ID: rule.id, Version: rule.version, Params: rule.params(p)}
		fails, unknowns = fails[:0], unknowns[:0]
		for i := range int32(len(b.users)) {
			in, o, d := rule.eval(e, i)
			if !in {
				continue
			}
			sum.Population++
			switch o {
			case OutcomeFail:
				sum.Fail++
				fails = append(fails, fndFinding{user: i, rule: uint8(ri), fail: true, detail: d})
			case OutcomeUnknown:
				sum.Unknown++
				unknowns = append(unknowns, fndFinding{user: i, rule: uint8(ri), detail: d})
			default:
				sum.Pass++
			}
		}
		res.found = append(append(res.found, fails...), unknowns...)
		res.Rules = append(res.Rules, sum)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// linkPeople finds, for status-mismatch-across-providers, the accounts
// whose person spans sources and the active ones among them whose person
// is suspended, inactive or deleted elsewhere.
func (e *fndEval) linkPeople(pc *pplConfig) error {
	b := e.b
	links, err := pplLink(b, pc)
	if err != nil {
		return err
	}
	e.linked = make([]bool, len(b.users))
	e.mismatch = map[int32]string{}
	for _, g := range pplGroups(links, len(b.users), true) {
		first := b.users[g[0]].src
		spans := false
		for _, i := range g[1:] {
			if b.users[i].src != first {
				spans = true
				break
			}
		}
		if !spans {
			continue
		}
		for _, i := range g {
			e.linked[i] = true
		}
		for _, i := range g {
			u := &b.users[i]
			if u.status != idsnap.StatusActive {
				continue
			}
			var gone []string
			for _, j := range g {
				v := &b.users[j]
				if v.src != u.src && fndGone(v.status) {
					s := fmt.Sprintf("%s in %s as %s", v.status, b.sources[v.src], v.id)
					if v.email != "" && v.email != u.email {
						s += " (" + v.email + ")"
					}
					gone = append(gone, s)
				}
			}
			if len(gone) > 0 {
				n := len(gone)
				e.mismatch[i] = "active here; " + fndList(gone[:min(n, fndMaxLabels)], n)
			}
		}
	}
	return nil
}

// RenderFindings writes r in format f. JSON is the documented object,
// streamed finding by finding; table and Markdown print the snapshots read,
// the rules summary, then the findings; CSV prints the findings alone, so
// it loads as one table.
func RenderFindings(w io.Writer, f Format, r *FindingsResult) error {
	switch f {
	case FormatJSON:
		return fndWriteJSON(w, r)
	case FormatCSV:
		return fndWriteCSV(w, r)
	}
	at := Table{Header: []string{"SOURCE", "SNAPSHOT", "TAKEN AT"}}
	for _, src := range slices.Sorted(maps.Keys(r.At)) {
		a := r.At[src]
		at.Rows = append(at.Rows, []string{src, strconv.FormatInt(a.ID, 10), a.TakenAt.UTC().Format(time.RFC3339)})
	}
	rules := Table{Header: []string{"RULE", "VERSION", "PARAMS", "POPULATION", "FAIL", "PASS", "UNKNOWN"}}
	for _, s := range r.Rules {
		rules.Rows = append(rules.Rows, []string{
			s.ID, strconv.Itoa(s.Version), fndParamsText(s.Params),
			fndThousands(s.Population), fndThousands(s.Fail), fndThousands(s.Pass), fndThousands(s.Unknown),
		})
	}
	found := Table{Header: []string{"RULE", "OUTCOME", "SOURCE", "PRINCIPAL", "EMAIL", "NAME", "DETAIL"}}
	found.Rows = make([][]string, 0, len(r.found))
	for x := range r.Findings() {
		found.Rows = append(found.Rows, fndRow(x))
	}
	for i, t := range []Table{at, rules, found} {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := RenderTable(w, f, t); err != nil {
			return err
		}
	}
	return nil
}

func fndRow(x Finding) []string {
	return []string{x.Rule, string(x.Outcome), x.Source, x.Principal.ID, x.Principal.Email, x.Principal.Name, x.Detail}
}

// fndWriteCSV streams what RenderTable would write for the findings table,
// without holding every row.
func fndWriteCSV(w io.Writer, r *FindingsResult) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"rule", "outcome", "source", "principal_id", "email", "name", "detail"}); err != nil {
		return err
	}
	for x := range r.Findings() {
		row := fndRow(x)
		for i, c := range row {
			row[i] = SafeCSV(c)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// fndWriteJSON writes exactly what RenderJSON would for the object
// {at, rules, findings}, encoding one finding at a time.
func fndWriteJSON(w io.Writer, r *FindingsResult) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	part := func(prefix string, v any) error {
		buf.Reset()
		enc.SetIndent(prefix, "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
		_, err := bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		return err
	}
	rules := r.Rules
	if rules == nil {
		rules = []FindingsRule{}
	}
	at := r.At
	if at == nil {
		at = map[string]FindingsAt{}
	}
	bw.WriteString("{\n  \"at\": ")
	if err := part("  ", at); err != nil {
		return err
	}
	bw.WriteString(",\n  \"rules\": ")
	if err := part("  ", rules); err != nil {
		return err
	}
	bw.WriteString(",\n  \"findings\": ")
	if len(r.found) == 0 {
		bw.WriteString("[]")
	} else {
		bw.WriteString("[")
		for i := range r.found {
			if i > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n    ")
			if err := part("    ", r.finding(&r.found[i])); err != nil {
				return err
			}
		}
		bw.WriteString("\n  ]")
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// fndParamsText shows params as key=value pairs sorted by key.
func fndParamsText(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := p[k]
		if ss, ok := v.([]string); ok {
			v = strings.Join(ss, ",")
		}
		parts[i] = fmt.Sprintf("%s=%v", k, v)
	}
	return strings.Join(parts, " ")
}

// fndThousands writes n with thousands separators: 1,204.
func fndThousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
