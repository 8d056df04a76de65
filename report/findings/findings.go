package findings

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
	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/report/people"
)

// Rule is one rule's summary: its population (the principals it
// applies to) and how many of them had each outcome.
type Rule struct {
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
	Rule      string    `json:"rule"`
	Outcome   Outcome   `json:"outcome"`
	Source    string    `json:"source"`
	Principal Principal `json:"principal"`
	Detail    string    `json:"detail"`
}

// Principal names the principal of a finding.
type Principal struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// Result is what `idsnap findings` reports. Findings are kept
// compact (a million UNKNOWNs from a provider without sign-in data must fit)
// and materialised one at a time by Findings and the renderers.
type Result struct {
	At    map[string]report.Point // by source
	Rules []Rule

	b     *builder
	found []found
	more  []Finding // from rules run outside this package (the roster's), see Add

	indexOnce sync.Once
	byUser    []int32                // indices into found, sorted by user then rule
	moreFail  map[[2]string][]string // source, principal id → rules of more that FAIL
}

type found struct {
	user   int32
	rule   uint8
	fail   bool
	detail string
}

// Len is the number of findings (FAIL and UNKNOWN outcomes).
func (r *Result) Len() int { return len(r.found) + len(r.more) }

// Add appends rules run elsewhere (the roster's, which read more than one
// snapshot) and their findings, already in report order, after this
// package's own.
func (r *Result) Add(rules []Rule, found []Finding) {
	r.Rules = append(r.Rules, rules...)
	r.more = append(r.more, found...)
}

// Findings yields every finding: by rule in report order, FAILs before
// UNKNOWNs, then by source and principal id.
func (r *Result) Findings() iter.Seq[Finding] {
	return func(yield func(Finding) bool) {
		for i := range r.found {
			if !yield(r.finding(&r.found[i])) {
				return
			}
		}
		for _, f := range r.more {
			if !yield(f) {
				return
			}
		}
	}
}

func (r *Result) finding(f *found) Finding {
	u := &r.b.users[f.user]
	o := OutcomeUnknown
	if f.fail {
		o = OutcomeFail
	}
	return Finding{
		Rule: ruleDefs[f.rule].id, Outcome: o, Source: r.b.sources[u.src],
		Principal: Principal{ID: u.id, Email: u.email, Name: u.name},
		Detail:    f.detail,
	}
}

// Failed says whether rule had at least one FAIL.
func (r *Result) Failed(rule string) bool {
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
func (r *Result) IDsFor(source, principalID string) []string {
	r.indexOnce.Do(func() {
		r.byUser = make([]int32, 0, len(r.found))
		for i := range r.found {
			if r.found[i].fail {
				r.byUser = append(r.byUser, int32(i))
			}
		}
		// Stable: found is in rule order, which each user's list keeps.
		slices.SortStableFunc(r.byUser, func(a, b int32) int { return cmp.Compare(r.found[a].user, r.found[b].user) })
		r.moreFail = map[[2]string][]string{}
		for _, f := range r.more {
			if k := [2]string{f.Source, f.Principal.ID}; f.Outcome == OutcomeFail && !slices.Contains(r.moreFail[k], f.Rule) {
				r.moreFail[k] = append(r.moreFail[k], f.Rule)
			}
		}
	})
	more := r.moreFail[[2]string{source, principalID}]
	u := r.b.findUser(source, principalID)
	if u < 0 {
		return slices.Clone(more)
	}
	k, _ := slices.BinarySearchFunc(r.byUser, u, func(f int32, u int32) int { return cmp.Compare(r.found[f].user, u) })
	var ids []string
	for ; k < len(r.byUser) && r.found[r.byUser[k]].user == u; k++ {
		ids = append(ids, ruleDefs[r.found[r.byUser[k]].rule].id)
	}
	return append(ids, more...)
}

// account is all findings keep of a user: a million of them must fit, so
// no Raw, times as Unix seconds and booleans as bits.
type account struct {
	id, email, name, externalID string
	status                      idsnap.Status
	created, lastSignIn         int64
	grants                      int32 // active grants held
	src                         uint16
	flags                       uint8
}

const (
	machine       uint8 = 1 << iota
	hasCreated          // created is set
	activity            // the provider reports sign-ins for this user
	hasLastSignIn       // lastSignIn is set
	signedIn            // signed in at least once
	verifiedKnown       // the provider says whether the email is verified
	verified
)

// extraInfo is kept only for the users whose grants a detail names: those
// suspended, inactive, deleted or machine, and holders of privileged
// entitlements.
type extraInfo struct {
	grantLabels []string // the first three grants' entitlements
	privLabels  []string // the first three privileged ones
	privCount   int32
}

const maxLabels = 3

type entInfo struct {
	label string
	priv  bool
}

// builder reads the inputs into compact users.
type builder struct {
	p       *ruleParams
	sources []string
	at      []int64 // per source: the snapshot's time, Unix seconds
	lo      []int32 // per source: its first user; users of a source are sorted by id
	users   []account
	extra   map[int32]*extraInfo
}

func (b *builder) Len() int { return len(b.users) }

func (b *builder) Account(i int) (string, string, string, string) {
	u := &b.users[i]
	return b.sources[u.src], u.id, u.email, u.externalID
}

func (b *builder) sourceRange(s int) (int, int) {
	hi := len(b.users)
	if s+1 < len(b.lo) {
		hi = int(b.lo[s+1])
	}
	return int(b.lo[s]), hi
}

func (b *builder) findUserIn(s int, id string) int32 {
	lo, hi := b.sourceRange(s)
	k, ok := slices.BinarySearchFunc(b.users[lo:hi], id, func(u account, id string) int { return strings.Compare(u.id, id) })
	if !ok {
		return -1
	}
	return int32(lo + k)
}

func (b *builder) findUser(source, id string) int32 {
	s, ok := slices.BinarySearch(b.sources, source)
	if !ok {
		return -1
	}
	return b.findUserIn(s, id)
}

func (b *builder) extraOf(i int32) *extraInfo {
	x := b.extra[i]
	if x == nil {
		x = &extraInfo{}
		b.extra[i] = x
	}
	return x
}

func (b *builder) grantSummary(i int32, u *account) string {
	n := int(u.grants)
	s := strconv.Itoa(n) + " active grant"
	if n != 1 {
		s += "s"
	}
	if x := b.extra[i]; x != nil && len(x.grantLabels) > 0 {
		s += ": " + list(x.grantLabels, n)
	}
	return s
}

func accountOf(r *idsnap.Record, src int) account {
	u := account{id: r.ID, email: r.Email, name: r.Name, externalID: r.ExternalID, status: r.Status, src: uint16(src)}
	if u.name == "" {
		u.name = r.Username
	}
	if r.Type == idsnap.AccountMachine {
		u.flags |= machine
	}
	if !r.CreatedAt.IsZero() {
		u.created, u.flags = r.CreatedAt.Unix(), u.flags|hasCreated
	}
	if r.EmailVerified != nil {
		u.flags |= verifiedKnown
		if *r.EmailVerified {
			u.flags |= verified
		}
	}
	if a := r.Activity; a != nil {
		u.flags |= activity
		if !a.LastSignIn.IsZero() {
			u.lastSignIn, u.flags = a.LastSignIn.Unix(), u.flags|hasLastSignIn|signedIn
		}
		if a.SignIns > 0 {
			u.flags |= signedIn
		}
	}
	return u
}

// load reads one source. Store streams users before anything else, so
// grants can find their user by binary search in the sorted users.
func (b *builder) load(ctx context.Context, s int, in report.State) error {
	b.lo = append(b.lo, int32(len(b.users)))
	start := len(b.users)
	usersDone := false
	endUsers := func() error {
		usersDone = true
		us := b.users[start:]
		if !slices.IsSortedFunc(us, func(a, b account) int { return strings.Compare(a.id, b.id) }) {
			slices.SortFunc(us, func(a, b account) int { return strings.Compare(a.id, b.id) })
		}
		for i := 1; i < len(us); i++ {
			if us[i].id == us[i-1].id {
				return fmt.Errorf("user %q appears twice", us[i].id)
			}
		}
		return nil
	}
	resources := map[string]string{}
	ents := map[string]entInfo{}
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
			b.users = append(b.users, accountOf(&r, s))
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
			ents[r.ID] = entInfo{label: res + "/" + name, priv: b.p.privileged(key, r.Name)}
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

func (b *builder) grant(s int, r *idsnap.Record, ents map[string]entInfo) {
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
		ent = entInfo{label: r.EntitlementID, priv: b.p.privileged(key)}
	}
	if isGone(u.status) || !isHuman(u) {
		if x := b.extraOf(i); len(x.grantLabels) < maxLabels {
			x.grantLabels = append(x.grantLabels, ent.label)
		}
	}
	if ent.priv {
		x := b.extraOf(i)
		x.privCount++
		if len(x.privLabels) < maxLabels {
			x.privLabels = append(x.privLabels, ent.label)
		}
	}
}

func checkStates(in []report.State) error {
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

// Run runs every rule over the users of every input. Times compare
// against each source's snapshot time, never the clock, so a report on an
// old snapshot says what was true then. people links accounts for
// status-mismatch-across-providers.
func Run(ctx context.Context, in []report.State, cfg Config, pcfg people.Config) (*Result, error) {
	p, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	pc, err := pcfg.Compile()
	if err != nil {
		return nil, err
	}
	in = report.SortStates(in)
	if err := checkStates(in); err != nil {
		return nil, err
	}
	b := &builder{p: p, extra: map[int32]*extraInfo{}}
	res := &Result{At: map[string]report.Point{}, b: b}
	for s, src := range in {
		b.sources = append(b.sources, src.Snapshot.Source)
		b.at = append(b.at, src.Snapshot.TakenAt.Unix())
		res.At[src.Snapshot.Source] = report.Point{Snapshot: src.Snapshot}
		if err := b.load(ctx, s, src); err != nil {
			return nil, fmt.Errorf("%s: read snapshot %d: %w", src.Snapshot.Source, src.Snapshot.ID, err)
		}
	}
	e := &eval{b: b, p: p}
	if err := e.linkPeople(pc); err != nil {
		return nil, err
	}
	var fails, unknowns []found
	for ri, rule := range ruleDefs {
		sum := Rule{ID: rule.id, Version: rule.version, Params: rule.params(p)}
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
				fails = append(fails, found{user: i, rule: uint8(ri), fail: true, detail: d})
			case OutcomeUnknown:
				sum.Unknown++
				unknowns = append(unknowns, found{user: i, rule: uint8(ri), detail: d})
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
func (e *eval) linkPeople(pc *people.Matcher) error {
	b := e.b
	links, err := people.Link(b, pc)
	if err != nil {
		return err
	}
	e.linked = make([]bool, len(b.users))
	e.mismatch = map[int32]string{}
	for _, g := range people.Groups(links, len(b.users), true) {
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
				if v.src != u.src && isGone(v.status) {
					s := fmt.Sprintf("%s in %s as %s", v.status, b.sources[v.src], v.id)
					if v.email != "" && v.email != u.email {
						s += " (" + v.email + ")"
					}
					gone = append(gone, s)
				}
			}
			if len(gone) > 0 {
				n := len(gone)
				e.mismatch[i] = "active here; " + list(gone[:min(n, maxLabels)], n)
			}
		}
	}
	return nil
}

// Render writes r in format f. JSON is the documented object,
// streamed finding by finding; table and Markdown print the snapshots read,
// the rules summary, then the findings; CSV prints the findings alone, so
// it loads as one table.
func Render(w io.Writer, f report.Format, r *Result) error {
	switch f {
	case report.FormatJSON:
		return writeJSON(w, r)
	case report.FormatCSV:
		return writeCSV(w, r)
	}
	at := report.Table{Header: []string{"SOURCE", "SNAPSHOT", "TAKEN AT"}}
	for _, src := range slices.Sorted(maps.Keys(r.At)) {
		a := r.At[src]
		at.Rows = append(at.Rows, []string{src, strconv.FormatInt(a.Snapshot.ID, 10), a.Snapshot.TakenAt.UTC().Format(time.RFC3339)})
	}
	rules := report.Table{Header: []string{"RULE", "VERSION", "PARAMS", "POPULATION", "FAIL", "PASS", "UNKNOWN"}, Shrink: []string{"PARAMS"}}
	for _, s := range r.Rules {
		rules.Rows = append(rules.Rows, []string{
			s.ID, strconv.Itoa(s.Version), paramsText(s.Params),
			thousands(s.Population), thousands(s.Fail), thousands(s.Pass), thousands(s.Unknown),
		})
	}
	found := report.Table{Header: []string{"RULE", "OUTCOME", "SOURCE", "PRINCIPAL", "EMAIL", "NAME", "DETAIL"}, Shrink: []string{"DETAIL", "NAME", "EMAIL"}}
	found.Rows = make([][]string, 0, len(r.found))
	for x := range r.Findings() {
		found.Rows = append(found.Rows, row(x))
	}
	for i, t := range []report.Table{at, rules, found} {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := report.RenderTable(w, f, t); err != nil {
			return err
		}
	}
	return nil
}

func row(x Finding) []string {
	return []string{x.Rule, string(x.Outcome), x.Source, x.Principal.ID, x.Principal.Email, x.Principal.Name, x.Detail}
}

// writeCSV streams what report.RenderTable would write for the findings table,
// without holding every row.
func writeCSV(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"rule", "outcome", "source", "principal_id", "email", "name", "detail"}); err != nil {
		return err
	}
	for x := range r.Findings() {
		row := row(x)
		for i, c := range row {
			row[i] = report.SafeCSV(c)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeJSON writes exactly what report.RenderJSON would for the object
// {at, rules, findings}, encoding one finding at a time.
func writeJSON(w io.Writer, r *Result) error {
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
		rules = []Rule{}
	}
	at := r.At
	if at == nil {
		at = map[string]report.Point{}
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
	if r.Len() == 0 {
		bw.WriteString("[]")
	} else {
		bw.WriteString("[")
		i := 0
		for f := range r.Findings() {
			if i++; i > 1 {
				bw.WriteString(",")
			}
			bw.WriteString("\n    ")
			if err := part("    ", f); err != nil {
				return err
			}
		}
		bw.WriteString("\n  ]")
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// paramsText shows params as key=value pairs sorted by key.
func paramsText(p map[string]any) string {
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

// thousands writes n with thousands separators: 1,204.
func thousands(n int) string {
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

// HTML is r as the HTML report shows it.
func (r *Result) HTML() *report.HTMLFindings {
	h := &report.HTMLFindings{}
	for _, s := range r.Rules {
		h.Rules = append(h.Rules, report.HTMLRule{ID: s.ID, Version: s.Version, Params: paramsText(s.Params),
			Population: s.Population, Fail: s.Fail, Pass: s.Pass, Unknown: s.Unknown})
	}
	for x := range r.Findings() {
		h.Findings = append(h.Findings, report.HTMLFinding{Rule: x.Rule, Outcome: string(x.Outcome), Source: x.Source,
			Principal: x.Principal.ID, Email: x.Principal.Email, Name: x.Principal.Name, Detail: x.Detail})
	}
	return h
}
