package people

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
)

// Config says how accounts in different sources are recognised as
// one person. It comes from the [people] table of the config file.
type Config struct {
	// DomainAliases maps an email domain onto the domain it stands for
	// (acme.io → acme.com), so alice@acme.io and alice@acme.com link.
	DomainAliases map[string]string `toml:"domain_aliases"`
	// Links join accounts the automatic steps miss; each is a pair of
	// "source:id" references. Links win over Unlinks.
	Links [][]string `toml:"links"`
	// Unlinks keep two accounts apart that the automatic steps would join,
	// e.g. two people who share a mailbox.
	Unlinks [][]string `toml:"unlinks"`
}

// The steps that can link two accounts, in the order matched_by lists them.
const (
	MatchEmailExact  = "email:exact"        // the same address, byte for byte (after Unicode NFC)
	MatchLowercase   = "email:lowercase"    // equal once lower-cased
	MatchPlusTag     = "email:plus-tag"     // equal once a +tag is cut from the local part
	MatchDomainAlias = "email:domain-alias" // equal once the domain is mapped through DomainAliases
	MatchExternalID  = "external_id"        // equal external ids, or one's external id is the other's id
	MatchManual      = "manual"             // a link in the config
	matchStepCount   = 6
)

const (
	maskExact uint8 = 1 << iota
	maskLower
	maskPlus
	maskAlias
	maskExternal
	maskManual
)

var matchNames = [matchStepCount]string{MatchEmailExact, MatchLowercase, MatchPlusTag, MatchDomainAlias, MatchExternalID, MatchManual}

func maskNames(m uint8) []string {
	out := []string{}
	for i, n := range matchNames {
		if m&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// NormalizeEmail returns the key under which email links to other accounts
// and the steps that changed it (MatchLowercase, MatchPlusTag,
// MatchDomainAlias). The key is "" for a value that is not an address
// (empty, no @, nothing before or after it): such accounts never link by
// email. aliases has lower-case keys and values, as Validate leaves them.
func NormalizeEmail(email string, aliases map[string]string) (key string, steps []string) {
	key = normalize(email, aliases, 0)
	if key == "" {
		return "", nil
	}
	for _, s := range []uint8{maskLower, maskPlus, maskAlias} {
		if normalize(email, aliases, s) != key {
			steps = append(steps, matchNames[maskIndex(s)])
		}
	}
	return key, steps
}

func maskIndex(m uint8) int {
	for i := range matchStepCount {
		if m == 1<<i {
			return i
		}
	}
	return -1
}

// normalize applies every normalisation step except those in skip.
// Lower-casing comes first so a domain alias matches whatever the case.
func normalize(email string, aliases map[string]string, skip uint8) string {
	email = strings.TrimSpace(email)
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 {
		return ""
	}
	local, domain := norm.NFC.String(email[:at]), norm.NFC.String(email[at+1:])
	if skip&maskLower == 0 {
		local, domain = strings.ToLower(local), strings.ToLower(domain)
	}
	if skip&maskPlus == 0 {
		// "+tag@x" keeps its local part: cutting would leave nothing to match on.
		if i := strings.IndexByte(local, '+'); i > 0 {
			local = local[:i]
		}
	}
	if skip&maskAlias == 0 {
		if to, ok := aliases[strings.ToLower(domain)]; ok {
			domain = to
		}
	}
	return local + "@" + domain
}

// ref is a parsed "source:id" reference from the config.
type ref struct{ source, id string }

func parseRef(s string) (ref, error) {
	src, id, ok := strings.Cut(s, ":")
	if !ok || src == "" || id == "" {
		return ref{}, fmt.Errorf("account %q: write it as source:id", s)
	}
	return ref{src, id}, nil
}

// Matcher is a validated Config.
type Matcher struct {
	aliases        map[string]string
	links, unlinks [][2]ref
	wanted         map[ref]int32 // every referenced account → its index, -1 until seen
}

// Validate checks the config: references are "source:id" pairs, no pair is
// both linked and unlinked, no domain aliases itself.
func (c Config) Validate() error {
	_, err := c.Compile()
	return err
}

func (c Config) Compile() (*Matcher, error) {
	pc := &Matcher{aliases: map[string]string{}, wanted: map[ref]int32{}}
	for from, to := range c.DomainAliases {
		from, to = strings.ToLower(strings.TrimSpace(from)), strings.ToLower(strings.TrimSpace(to))
		if from == "" || to == "" || from == to {
			return nil, fmt.Errorf("people domain alias %q = %q: give two different domains", from, to)
		}
		pc.aliases[from] = to
	}
	pairs := func(name string, in [][]string) ([][2]ref, error) {
		var out [][2]ref
		for _, p := range in {
			if len(p) != 2 {
				return nil, fmt.Errorf("people %s entry %q: give exactly two accounts", name, p)
			}
			a, err := parseRef(p[0])
			if err != nil {
				return nil, fmt.Errorf("people %s: %w", name, err)
			}
			b, err := parseRef(p[1])
			if err != nil {
				return nil, fmt.Errorf("people %s: %w", name, err)
			}
			pc.wanted[a], pc.wanted[b] = -1, -1
			out = append(out, [2]ref{a, b})
		}
		return out, nil
	}
	var err error
	if pc.links, err = pairs("links", c.Links); err != nil {
		return nil, err
	}
	if pc.unlinks, err = pairs("unlinks", c.Unlinks); err != nil {
		return nil, err
	}
	for _, u := range pc.unlinks {
		for _, l := range pc.links {
			if u == l || (u[0] == l[1] && u[1] == l[0]) {
				return nil, fmt.Errorf("people: %s:%s and %s:%s are both linked and unlinked: keep one", u[0].source, u[0].id, u[1].source, u[1].id)
			}
		}
	}
	return pc, nil
}

// Accounts is what linking reads: n accounts, looked up by index, so
// findings can link its compact users without copying them.
type Accounts interface {
	Len() int
	Account(i int) (source, id, email, externalID string)
}

// Links is the result of linking: per account its person's root and the
// steps that joined it.
type Links struct {
	parent []int32
	mask   []uint8
}

func (l *Links) find(i int32) int32 {
	for l.parent[i] != i {
		l.parent[i] = l.parent[l.parent[i]]
		i = l.parent[i]
	}
	return i
}

// Link joins accounts with union-find: manual links first, then email
// keys, then external ids. An automatic join that would put the two sides
// of an unlink into one person is skipped, so unlinks hold even where a
// third account would bridge them.
func Link(accts Accounts, cfg *Matcher) (*Links, error) {
	n := accts.Len()
	l := &Links{parent: make([]int32, n), mask: make([]uint8, n)}
	for i := range l.parent {
		l.parent[i] = int32(i)
	}
	if len(cfg.wanted) > 0 {
		for r := range cfg.wanted {
			cfg.wanted[r] = -1
		}
		for i := range n {
			src, id, _, _ := accts.Account(i)
			if _, ok := cfg.wanted[ref{src, id}]; ok {
				cfg.wanted[ref{src, id}] = int32(i)
			}
		}
	}
	var unlinks [][2]int32
	for _, u := range cfg.unlinks {
		a, b := cfg.wanted[u[0]], cfg.wanted[u[1]]
		if a >= 0 && b >= 0 {
			unlinks = append(unlinks, [2]int32{a, b})
		}
	}
	// A link naming an account no snapshot holds is skipped: the config
	// outlives accounts.
	for _, lk := range cfg.links {
		a, b := cfg.wanted[lk[0]], cfg.wanted[lk[1]]
		if a >= 0 && b >= 0 && a != b {
			l.parent[l.find(a)] = l.find(b)
			l.mask[a] |= maskManual
			l.mask[b] |= maskManual
		}
	}
	for _, u := range unlinks {
		if l.find(u[0]) == l.find(u[1]) {
			s0, i0, _, _ := accts.Account(int(u[0]))
			s1, i1, _, _ := accts.Account(int(u[1]))
			return nil, fmt.Errorf("people: links join %s:%s and %s:%s, which unlinks keeps apart: remove one", s0, i0, s1, i1)
		}
	}
	join := func(a, b int32, m uint8) {
		ra, rb := l.find(a), l.find(b)
		if ra != rb {
			for _, u := range unlinks {
				ru0, ru1 := l.find(u[0]), l.find(u[1])
				if (ru0 == ra && ru1 == rb) || (ru0 == rb && ru1 == ra) {
					return
				}
			}
			// The smaller root wins so the result does not depend on map order.
			if ra < rb {
				l.parent[rb] = ra
			} else {
				l.parent[ra] = rb
			}
		}
		l.mask[a] |= m
		l.mask[b] |= m
	}

	type firstSeen struct {
		idx   int32
		email string
	}
	byEmail := map[string]firstSeen{}
	extHolders := map[string][]int32{}
	for i := range n {
		_, _, email, ext := accts.Account(i)
		if key := normalize(email, cfg.aliases, 0); key != "" {
			if f, ok := byEmail[key]; ok {
				join(f.idx, int32(i), emailMask(f.email, email, cfg.aliases))
			} else {
				byEmail[key] = firstSeen{int32(i), email}
			}
		}
		if ext != "" {
			if h := extHolders[ext]; len(h) > 0 {
				join(h[0], int32(i), maskExternal)
			}
			extHolders[ext] = append(extHolders[ext], int32(i))
		}
	}
	byEmail = nil
	if len(extHolders) > 0 {
		for i := range n {
			src, id, _, _ := accts.Account(i)
			for _, h := range extHolders[id] {
				if hs, _, _, _ := accts.Account(int(h)); hs != src {
					join(h, int32(i), maskExternal)
				}
			}
		}
	}
	return l, nil
}

// emailMask names the steps needed to make a and b equal: a step is
// needed when leaving it out keeps them apart.
func emailMask(a, b string, aliases map[string]string) uint8 {
	var m uint8
	for _, s := range []uint8{maskLower, maskPlus, maskAlias} {
		if normalize(a, aliases, s) != normalize(b, aliases, s) {
			m |= s
		}
	}
	if m == 0 {
		return maskExact
	}
	return m
}

// Person is one human (or service) behind accounts in one or more sources.
type Person struct {
	// ID is stable across runs: the person's normalised email, or
	// "source:id" of its first account when it has none or shares it.
	ID       string    `json:"id"`
	Accounts []Account `json:"accounts"`
	// MatchedBy lists the steps that joined the accounts; empty for a
	// person with one account.
	MatchedBy []string `json:"matched_by"`
}

// Account is one account of a person.
type Account struct {
	Source string        `json:"source"`
	ID     string        `json:"id"`
	Email  string        `json:"email"`
	Status idsnap.Status `json:"status"`
}

// Result is what `idsnap people` prints.
type Result struct {
	People []Person `json:"people"`
}

// accountList is a plain list of accounts for People.
type accountList []account

type account struct {
	source, id, email, externalID string
	status                        idsnap.Status
}

func (l accountList) Len() int { return len(l) }
func (l accountList) Account(i int) (string, string, string, string) {
	a := &l[i]
	return a.source, a.id, a.email, a.externalID
}

// errUsersRead stops a state scan once users are read: store streams users
// first, and people needs nothing else.
var errUsersRead = errors.New("users read")

// Run links the users of every input into persons. With linkedOnly,
// persons with a single account are left out.
func Run(ctx context.Context, in []report.State, cfg Config, linkedOnly bool) (*Result, error) {
	pc, err := cfg.Compile()
	if err != nil {
		return nil, err
	}
	in = report.SortStates(in)
	var accts accountList
	for _, src := range in {
		err := src.Records(ctx, func(r idsnap.Record) error {
			if r.Kind != idsnap.KindUser {
				return errUsersRead
			}
			accts = append(accts, account{source: src.Snapshot.Source, id: r.ID, email: r.Email, externalID: r.ExternalID, status: r.Status})
			return nil
		})
		if err != nil && !errors.Is(err, errUsersRead) {
			return nil, fmt.Errorf("%s: read snapshot %d: %w", src.Snapshot.Source, src.Snapshot.ID, err)
		}
	}
	links, err := Link(accts, pc)
	if err != nil {
		return nil, err
	}
	groups := Groups(links, len(accts), linkedOnly)
	people := make([]Person, 0, len(groups))
	for _, g := range groups {
		p := Person{Accounts: make([]Account, len(g))}
		var m uint8
		for i, ai := range g {
			a := &accts[ai]
			p.Accounts[i] = Account{Source: a.source, ID: a.id, Email: a.email, Status: a.status}
			m |= links.mask[ai]
		}
		if len(g) > 1 {
			p.MatchedBy = maskNames(m)
		} else {
			p.MatchedBy = []string{}
		}
		people = append(people, p)
	}
	assignIDs(people, pc.aliases)
	return &Result{People: people}, nil
}

// Groups returns the persons as lists of account indices, each in
// account order (accounts come sorted by source, then id).
func Groups(l *Links, n int, linkedOnly bool) [][]int32 {
	// Slices indexed by root, not maps: a million accounts stay cheap.
	size := make([]int32, n)
	for i := range n {
		size[l.find(int32(i))]++
	}
	slot := make([]int32, n)
	var groups [][]int32
	for i := range n {
		r := l.find(int32(i))
		if linkedOnly && size[r] < 2 {
			continue
		}
		if slot[r] == 0 {
			groups = append(groups, make([]int32, 0, size[r]))
			slot[r] = int32(len(groups)) // 1-based: 0 means no group yet
		}
		k := slot[r] - 1
		groups[k] = append(groups[k], int32(i))
	}
	return groups
}

// assignIDs names each person by its smallest normalised email; where
// two persons would share one (an unlink split them) or there is none, by
// "source:id" of its first account. People end sorted by id.
func assignIDs(people []Person, aliases map[string]string) {
	uses := map[string]int{}
	cand := make([]string, len(people))
	for i, p := range people {
		for _, a := range p.Accounts {
			if k := normalize(a.Email, aliases, 0); k != "" && (cand[i] == "" || k < cand[i]) {
				cand[i] = k
			}
		}
		uses[cand[i]]++
	}
	for i := range people {
		if cand[i] != "" && uses[cand[i]] == 1 {
			people[i].ID = cand[i]
		} else {
			people[i].ID = people[i].Accounts[0].Source + ":" + people[i].Accounts[0].ID
		}
	}
	slices.SortFunc(people, func(a, b Person) int { return cmp.Compare(a.ID, b.ID) })
}

// Render writes r as JSON, or as a table with one row per account.
func Render(w io.Writer, f report.Format, r *Result) error {
	if f == report.FormatJSON {
		return report.RenderJSON(w, r)
	}
	t := report.Table{Header: []string{"PERSON", "SOURCE", "ID", "EMAIL", "STATUS", "MATCHED BY"}, Shrink: []string{"MATCHED BY", "EMAIL"}}
	for _, p := range r.People {
		for _, a := range p.Accounts {
			t.Rows = append(t.Rows, []string{p.ID, a.Source, a.ID, a.Email, string(a.Status), strings.Join(p.MatchedBy, ", ")})
		}
	}
	return report.RenderTable(w, f, t)
}
