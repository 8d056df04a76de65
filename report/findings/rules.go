package findings

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
)

// Outcome is what a rule says about one principal.
type Outcome string

// Outcomes. UNKNOWN is for a principal the provider gives no data about (Ory
// and ZITADEL expose no sign-ins): never read it as PASS.
const (
	OutcomeFail    Outcome = "FAIL"
	OutcomePass    Outcome = "PASS"
	OutcomeUnknown Outcome = "UNKNOWN"
)

// Rule ids, fixed by the CLI contract.
const (
	RuleDormant        = "dormant"
	RuleNeverSignedIn  = "never-signed-in"
	RuleSuspendedGrant = "suspended-with-grants"
	RuleUnverified     = "unverified-email"
	RuleMachineGrants  = "machine-with-grants"
	RuleStatusMismatch = "status-mismatch-across-providers"
	RulePrivileged     = "privileged"
)

// Rule defaults.
const (
	DefaultDormantDays       = 90
	DefaultNeverSignedInDays = 30
)

// DefaultPrivilegedPatterns match role keys naming an administrator or owner.
var DefaultPrivilegedPatterns = []string{"*admin*", "*owner*"}

// Config holds the rules' parameters; a zero field means the
// default. It comes from the [findings] table of the config file.
type Config struct {
	Dormant       DaysParams       `toml:"dormant"`
	NeverSignedIn DaysParams       `toml:"never-signed-in"`
	Privileged    PrivilegedParams `toml:"privileged"`
}

// DaysParams is a rule's only parameter: a number of days.
type DaysParams struct {
	Days int `toml:"days"`
}

// PrivilegedParams says which entitlements are privileged and when a holder
// counts as dormant.
type PrivilegedParams struct {
	// Patterns are matched, case-insensitively, against an entitlement's
	// key (the part of its id after the resource id) and its name. A pattern
	// is a glob over the whole value (* any run of characters, ? one), or,
	// prefixed "re:", a Go regular expression that may match anywhere.
	Patterns []string `toml:"patterns"`
	// DormantDays defaults to the dormant rule's days.
	DormantDays int `toml:"dormant_days"`
}

// ruleParams is a Config with defaults filled in and patterns compiled.
type ruleParams struct {
	dormantDays, neverDays, privDays int
	patterns                         []string
	matchers                         []*regexp.Regexp
}

func (c Config) compile() (*ruleParams, error) {
	p := &ruleParams{dormantDays: c.Dormant.Days, neverDays: c.NeverSignedIn.Days, privDays: c.Privileged.DormantDays}
	for _, d := range []struct {
		name string
		v    *int
		def  int
	}{
		{RuleDormant + " days", &p.dormantDays, DefaultDormantDays},
		{RuleNeverSignedIn + " days", &p.neverDays, DefaultNeverSignedInDays},
		{RulePrivileged + " dormant_days", &p.privDays, 0},
	} {
		if *d.v < 0 {
			return nil, fmt.Errorf("findings %s = %d: give a positive number of days", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if p.privDays == 0 {
		p.privDays = p.dormantDays
	}
	p.patterns = c.Privileged.Patterns
	if len(p.patterns) == 0 {
		p.patterns = DefaultPrivilegedPatterns
	}
	for _, pat := range p.patterns {
		re, err := compilePattern(pat)
		if err != nil {
			return nil, err
		}
		p.matchers = append(p.matchers, re)
	}
	return p, nil
}

// Validate checks the parameters: days not negative, patterns compile.
func (c Config) Validate() error {
	_, err := c.compile()
	return err
}

func compilePattern(pat string) (*regexp.Regexp, error) {
	if re, ok := strings.CutPrefix(pat, "re:"); ok {
		r, err := regexp.Compile("(?i)" + re)
		if err != nil {
			return nil, fmt.Errorf("findings privileged pattern %q: %w", pat, err)
		}
		return r, nil
	}
	if pat == "" {
		return nil, fmt.Errorf("findings privileged pattern is empty: give a glob such as *admin*")
	}
	var b strings.Builder
	b.WriteString("(?is)^")
	for _, r := range pat {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String()), nil
}

func (p *ruleParams) privileged(values ...string) bool {
	for _, re := range p.matchers {
		for _, v := range values {
			if v != "" && re.MatchString(v) {
				return true
			}
		}
	}
	return false
}

// ruleDef is one rule: eval reports whether u is in the rule's population
// and, if so, its outcome and a one-line detail.
type ruleDef struct {
	id      string
	version int
	params  func(p *ruleParams) map[string]any
	eval    func(e *eval, u int32) (in bool, o Outcome, detail string)
	// help is the rule in one short line for --help, with its default
	// parameters.
	help func(p *ruleParams) string
}

// ruleDefs is every rule, in the order reports list them.
//
//   - dormant: active human accounts (machine accounts authenticate with
//     keys, sign-in data does not describe them) with no sign-in for at
//     least `days` days before the snapshot was taken. An account that never
//     signed in is dormant once it was created at least `days` days before
//     the snapshot; a newer one is PASS here (never-signed-in covers it).
//   - never-signed-in: active human accounts created at least `days` days
//     before the snapshot that never signed in.
//   - suspended-with-grants: suspended, inactive or deleted accounts still
//     holding an active grant.
//   - unverified-email: active human accounts with an email the provider
//     says is not verified.
//   - machine-with-grants: an inventory rule: every machine account
//     holding an active grant is a FAIL so it is listed for review.
//   - status-mismatch-across-providers: an active account whose person (see
//     People) has an account in another source that is suspended, inactive
//     or deleted; the population is accounts linked across sources.
//   - privileged: the population is the holders of an active grant of an
//     entitlement matching `patterns`; FAIL where an active holder is
//     dormant by `dormant_days` (as the dormant rule judges it, but for
//     machine accounts too), UNKNOWN where its sign-ins are unknown, PASS
//     otherwise, holders that are not active included
//     (suspended-with-grants reports those).
//
// Each rule reports UNKNOWN where the provider gives no data it needs.
var ruleDefs = []ruleDef{
	{id: RuleDormant, version: 1, params: func(p *ruleParams) map[string]any { return map[string]any{"days": p.dormantDays} }, eval: evalDormant,
		help: func(p *ruleParams) string {
			return fmt.Sprintf("active human, no sign-in for days (%d)", p.dormantDays)
		}},
	{id: RuleNeverSignedIn, version: 1, params: func(p *ruleParams) map[string]any { return map[string]any{"days": p.neverDays} }, eval: evalNeverSignedIn,
		help: func(p *ruleParams) string {
			return fmt.Sprintf("active human created days (%d) ago, never signed in", p.neverDays)
		}},
	{id: RuleSuspendedGrant, version: 1, params: noParams, eval: evalSuspendedWithGrants,
		help: fixedHelp("suspended, inactive or deleted, holding a grant")},
	{id: RuleUnverified, version: 1, params: noParams, eval: evalUnverifiedEmail,
		help: fixedHelp("active human whose email is not verified")},
	{id: RuleMachineGrants, version: 1, params: noParams, eval: evalMachineWithGrants,
		help: fixedHelp("inventory: machine accounts holding grants")},
	{id: RuleStatusMismatch, version: 1, params: noParams, eval: evalStatusMismatch,
		help: fixedHelp("active here, suspended or gone in another source")},
	{id: RulePrivileged, version: 1, params: func(p *ruleParams) map[string]any {
		return map[string]any{"patterns": p.patterns, "dormant_days": p.privDays}
	}, eval: evalPrivileged,
		help: func(p *ruleParams) string {
			return fmt.Sprintf("holders of patterns (%s): FAIL if dormant", strings.Join(p.patterns, ", "))
		}},
}

func fixedHelp(s string) func(*ruleParams) string { return func(*ruleParams) string { return s } }

// Help lists the rules for --help, one per line: id, then what it checks
// with its default parameters.
func Help() string {
	p, err := Config{}.compile()
	if err != nil { // the defaults are constants: TestHelp catches this
		return "  " + err.Error() + "\n"
	}
	width := 0
	for _, r := range ruleDefs {
		width = max(width, len(r.id))
	}
	var b strings.Builder
	for _, r := range ruleDefs {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, r.id, r.help(p))
	}
	return b.String()
}

func noParams(*ruleParams) map[string]any { return map[string]any{} }

// RuleIDs lists every rule id in report order.
func RuleIDs() []string {
	ids := make([]string, len(ruleDefs))
	for i, r := range ruleDefs {
		ids[i] = r.id
	}
	return ids
}

// CheckRuleIDs returns an error naming the first id that is no rule.
func CheckRuleIDs(ids []string) error {
	for _, id := range ids {
		if ruleIndex(id) < 0 {
			return fmt.Errorf("unknown rule %q: use one of %s", id, strings.Join(RuleIDs(), ", "))
		}
	}
	return nil
}

func ruleIndex(id string) int {
	for i, r := range ruleDefs {
		if r.id == id {
			return i
		}
	}
	return -1
}

// eval is what rules read: the users, per-source snapshot times, and
// what linking found.
type eval struct {
	b *builder
	p *ruleParams
	// mismatch holds the detail of each status-mismatch FAIL; linked marks
	// accounts whose person spans sources.
	mismatch map[int32]string
	linked   []bool
}

const day = 24 * 60 * 60

func date(unix int64) string { return time.Unix(unix, 0).UTC().Format(time.DateOnly) }

func daysAgo(at, t int64) int64 {
	d := at - t
	if d < 0 {
		return 0 // a clock ahead of the snapshot: treat as just now
	}
	return d / day
}

func isHuman(u *account) bool { return u.flags&machine == 0 }

func isGone(s idsnap.Status) bool {
	return s == idsnap.StatusSuspended || s == idsnap.StatusInactive || s == idsnap.StatusDeleted
}

const noActivity = "the provider exposes no sign-in data"

// dormancy judges an account by its sign-ins against a threshold of days:
// the dormant rule and the privileged rule share it.
func (e *eval) dormancy(u *account, days int) (Outcome, string) {
	if u.flags&activity == 0 {
		return OutcomeUnknown, noActivity
	}
	at := e.b.at[u.src]
	limit := int64(days) * day
	switch {
	case u.flags&hasLastSignIn != 0:
		ago := daysAgo(at, u.lastSignIn)
		if at-u.lastSignIn >= limit {
			return OutcomeFail, fmt.Sprintf("last sign-in %s, %d days before the snapshot", date(u.lastSignIn), ago)
		}
		return OutcomePass, ""
	case u.flags&signedIn != 0:
		return OutcomeUnknown, "signed in, but the provider gives no last sign-in time"
	case u.flags&hasCreated == 0:
		return OutcomeUnknown, "never signed in; creation time unknown"
	case at-u.created >= limit:
		return OutcomeFail, fmt.Sprintf("never signed in; created %s, %d days before the snapshot", date(u.created), daysAgo(at, u.created))
	}
	return OutcomePass, ""
}

func evalDormant(e *eval, i int32) (bool, Outcome, string) {
	u := &e.b.users[i]
	if u.status != idsnap.StatusActive || !isHuman(u) {
		return false, "", ""
	}
	o, d := e.dormancy(u, e.p.dormantDays)
	return true, o, d
}

func evalNeverSignedIn(e *eval, i int32) (bool, Outcome, string) {
	u := &e.b.users[i]
	if u.status != idsnap.StatusActive || !isHuman(u) {
		return false, "", ""
	}
	at := e.b.at[u.src]
	switch {
	case u.flags&activity == 0:
		return true, OutcomeUnknown, noActivity
	case u.flags&(hasLastSignIn|signedIn) != 0:
		return true, OutcomePass, ""
	case u.flags&hasCreated == 0:
		return true, OutcomeUnknown, "never signed in; creation time unknown"
	case at-u.created >= int64(e.p.neverDays)*day:
		return true, OutcomeFail, fmt.Sprintf("never signed in; created %s, %d days before the snapshot", date(u.created), daysAgo(at, u.created))
	}
	return true, OutcomePass, ""
}

func evalSuspendedWithGrants(e *eval, i int32) (bool, Outcome, string) {
	u := &e.b.users[i]
	if !isGone(u.status) {
		return false, "", ""
	}
	if u.grants == 0 {
		return true, OutcomePass, ""
	}
	return true, OutcomeFail, string(u.status) + "; " + e.b.grantSummary(i, u)
}

func evalUnverifiedEmail(e *eval, i int32) (bool, Outcome, string) {
	u := &e.b.users[i]
	if u.status != idsnap.StatusActive || !isHuman(u) || u.email == "" {
		return false, "", ""
	}
	switch {
	case u.flags&verifiedKnown == 0:
		return true, OutcomeUnknown, "the provider does not say whether the email is verified"
	case u.flags&verified == 0:
		return true, OutcomeFail, "email " + u.email + " is not verified"
	}
	return true, OutcomePass, ""
}

func evalMachineWithGrants(e *eval, i int32) (bool, Outcome, string) {
	u := &e.b.users[i]
	if isHuman(u) {
		return false, "", ""
	}
	if u.grants == 0 {
		return true, OutcomePass, ""
	}
	return true, OutcomeFail, "inventory: " + string(u.status) + " machine account; " + e.b.grantSummary(i, u)
}

func evalStatusMismatch(e *eval, i int32) (bool, Outcome, string) {
	if !e.linked[i] {
		return false, "", ""
	}
	if d, ok := e.mismatch[i]; ok {
		return true, OutcomeFail, d
	}
	return true, OutcomePass, ""
}

func evalPrivileged(e *eval, i int32) (bool, Outcome, string) {
	x := e.b.extra[i]
	if x == nil || x.privCount == 0 {
		return false, "", ""
	}
	u := &e.b.users[i]
	if u.status != idsnap.StatusActive {
		return true, OutcomePass, ""
	}
	o, d := e.dormancy(u, e.p.privDays)
	if o == OutcomePass {
		return true, o, ""
	}
	return true, o, "holds " + list(x.privLabels, int(x.privCount)) + "; " + d
}

// list joins up to three labels and says how many more there are.
func list(labels []string, total int) string {
	s := strings.Join(labels, ", ")
	if more := total - len(labels); more > 0 {
		s += " and " + strconv.Itoa(more) + " more"
	}
	return s
}
