package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
	"github.com/idsnap/idsnap/fetch/ory/orytest"
	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
)

// world is one company's identity estate across the three providers: the
// same people, spelled differently in each (case, plus-tags), linked by
// employee ids in some, with organizations, projects, roles and grants.
// Everything is built through the fakes' exported Tenant APIs, and every
// random choice comes from one generator seeded by --seed, so the same seed
// and epoch give the same world on every day.
type world struct {
	mu    sync.Mutex
	rng   *rand.Rand
	epoch time.Time // day 0, midnight UTC
	day   int
	seq   int // people generated so far, for unique emails

	kinde   *kindetest.Tenant
	ory     *orytest.Tenant
	zitadel *zitadeltest.Tenant

	kindeDefault string              // the default organization's code
	kindeOrgs    []string            // every organization's code
	projects     []string            // ZITADEL project ids
	roles        map[string][]string // project id → role keys

	staff []*staffer // everyone hired, for HR's roster (hr.go)
}

// person is one human the generator created, before it becomes accounts.
type person struct {
	first, last, email, employeeID string
}

// The name pools mix scripts and diacritics on purpose: reports must render
// them, and normalisation must not mangle them.
var (
	firstNames = []string{"Ana", "Björn", "Chloé", "Dmitri", "Eun-ji", "François", "Gülşen", "Hiroshi", "Ingrid", "José",
		"Kateřina", "Łukasz", "Mårten", "Nadia", "Øyvind", "Priya", "Quentin", "Renée", "Søren", "Thảo", "Ugo", "Vera",
		"Władysław", "Xiu", "Yusuf", "Zoë", "Aoife", "Bongani", "Carmen", "Dagný", "Emeka", "Fatima", "Giulia", "Hannah",
		"Jürgen", "Kofi", "Leilani", "Mateus", "Noémie", "Paweł", "Raúl", "Sakura", "Tomás", "Valentina", "Wen", "Ximena",
		"Yara", "Zeynep", "Omar", "Siobhán"}
	lastNames = []string{"Andersson", "Bäcker", "Černý", "Dubois", "Eriksen", "Fernández", "García", "Hämäläinen", "Ibáñez",
		"Jovanović", "Kowalczyk", "López", "Müller", "Nguyễn", "O'Brien", "Petrović", "Quispe", "Rodríguez", "Schröder",
		"Takahashi", "Újvári", "Vásquez", "Wójcik", "Xu", "Yılmaz", "Zapata", "Ødegård", "Núñez", "Smith", "Chen", "Kim",
		"Singh", "Okafor", "Haddad", "Cohen", "Rossi", "Żółć", "Ólafsdóttir"}
	// A few people are known by names in other scripts, as their colleagues
	// typed them.
	nativeNames = [][3]string{{"太郎", "田中", "taro.tanaka"}, {"Олена", "Шевченко", "olena.shevchenko"},
		{"عمر", "حداد", "omar.haddad"}, {"Γιώργος", "Παπαδόπουλος", "giorgos.papadopoulos"}, {"지민", "박", "jimin.park"}}
)

// fold spells a name in the ASCII an email address uses.
var fold = strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss", "å", "a", "ø", "o", "æ", "ae", "é", "e", "è", "e",
	"ë", "e", "á", "a", "à", "a", "í", "i", "ó", "o", "ú", "u", "ñ", "n", "ç", "c", "č", "c", "ř", "r", "ł", "l", "ś", "s",
	"ş", "s", "ğ", "g", "ı", "i", "ý", "y", "ž", "z", "ż", "z", "ź", "z", "ć", "c", "ń", "n", "š", "s", "đ", "d", "ả", "a",
	"ễ", "e", "ð", "d", "'", "", " ", "")

func slug(s string) string { return fold.Replace(strings.ToLower(s)) }

const domain = "acme.example"

// newWorld builds the world of day 0: about people humans, a share of them
// in two or three providers.
func newWorld(seed int64, people int, epoch time.Time) *world {
	w := &world{
		rng:     rand.New(rand.NewPCG(uint64(seed), 0x1d5117)),
		epoch:   epoch.UTC().Truncate(24 * time.Hour),
		kinde:   kindetest.NewTenant(),
		ory:     orytest.NewTenant(seed),
		zitadel: zitadeltest.NewTenant("Acme", "acme.zitadel.cloud"),
		roles:   map[string][]string{},
	}
	w.ory.SetClock(w.now)
	w.buildStructure()
	for range people {
		p := w.newPerson()
		// Where a person has accounts: Kinde is the customer-facing app
		// most staff use, Ory the support portal, ZITADEL internal tools.
		inKinde, inOry, inZitadel := w.chance(0.65), w.chance(0.4), w.chance(0.5)
		if !inKinde && !inOry && !inZitadel {
			inKinde = true
		}
		w.hire(p, inKinde, inOry, inZitadel, true)
	}
	w.addMachines()
	w.planHR(seed)
	return w
}

// now is the world's clock: midnight of the current day plus a little.
func (w *world) now() time.Time { return w.epoch.Add(time.Duration(w.day)*24*time.Hour + 9*time.Hour) }

func (w *world) chance(p float64) bool { return w.rng.Float64() < p }

func (w *world) pick(s []string) string { return s[w.rng.IntN(len(s))] }

func (w *world) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[w.rng.IntN(16)]
	}
	return string(b)
}

func (w *world) newPerson() person {
	w.seq++
	p := person{employeeID: fmt.Sprintf("E%05d", 10000+w.seq)}
	local := ""
	if w.rng.IntN(40) == 0 {
		n := nativeNames[w.rng.IntN(len(nativeNames))]
		p.first, p.last, local = n[0], n[1], n[2]
	} else {
		p.first, p.last = w.pick(firstNames), w.pick(lastNames)
		local = slug(p.first) + "." + slug(p.last)
	}
	p.email = fmt.Sprintf("%s%d@%s", local, w.seq, domain)
	return p
}

// buildStructure creates what people are granted: Kinde organizations and
// ZITADEL projects with their roles.
func (w *world) buildStructure() {
	for i, name := range []string{"Acme", "Engineering", "Sales EMEA", "Support", "Müller & Söhne GmbH", "東京オフィス"} {
		code := "org_" + w.hex(11)
		w.kinde.AddOrg(kindetest.Org{Code: code, Name: name, IsDefault: i == 0, AutoMembership: i == 0})
		w.kindeOrgs = append(w.kindeOrgs, code)
		if i == 0 {
			w.kindeDefault = code
		}
	}
	for _, p := range []struct {
		name  string
		roles []string
	}{
		{"Billing", []string{"admin", "invoice.read", "invoice.write"}},
		{"Customer Portal", []string{"admin", "editor", "viewer"}},
		{"Internal Tools", []string{"admin", "operator"}},
		{"Data Warehouse", []string{"admin", "analyst", "reader"}},
	} {
		id := w.zitadel.AddProject(zitadeltest.Project{Name: p.name, RoleAssertion: true})
		w.projects = append(w.projects, id)
		for _, r := range p.roles {
			w.zitadel.AddRole(id, r, strings.ToUpper(r[:1])+r[1:], "")
		}
		w.roles[id] = p.roles
	}
}

// hire gives a person accounts. At day 0 their history is made up (some
// dormant, some never signed in); later hires start fresh.
func (w *world) hire(p person, inKinde, inOry, inZitadel, history bool) []string {
	var events []string
	now := w.now()
	s := &staffer{person: p}
	w.staff = append(w.staff, s)
	linked := w.chance(0.4) // HR's employee id made it into the providers
	if inKinde {
		u := kindetest.User{ID: "kp_" + w.hex(32), Email: p.email, FirstName: p.first, LastName: p.last,
			CreatedOn:  now.Add(-time.Duration(w.rng.IntN(700)) * 24 * time.Hour),
			Identities: []kindetest.Identity{{Type: "email", Identity: p.email}}}
		if !history {
			u.CreatedOn = now
		}
		if linked {
			u.ProvidedID = p.employeeID
		}
		if history {
			switch r := w.rng.Float64(); {
			case r < 0.12: // never signed in
			case r < 0.25: // dormant: last sign-in months ago
				u.LastSignedIn = now.Add(-time.Duration(100+w.rng.IntN(300)) * 24 * time.Hour)
				u.TotalSignIns = 1 + w.rng.IntN(20)
			default:
				u.LastSignedIn = now.Add(-time.Duration(w.rng.IntN(30*24)) * time.Hour)
				u.TotalSignIns = 5 + w.rng.IntN(400)
				u.FailedSignIns = w.rng.IntN(2)
			}
			u.Suspended = w.chance(0.05)
		}
		w.kinde.AddUser(u)
		s.kinde = u.ID
		_ = w.kinde.AddMember(w.kindeDefault, u.ID)
		if w.chance(0.5) {
			org := w.kindeOrgs[1+w.rng.IntN(len(w.kindeOrgs)-1)]
			var roles []string
			if w.chance(0.15) {
				roles = []string{"admin"}
			}
			_ = w.kinde.AddMember(org, u.ID, roles...)
		}
		events = append(events, "kinde: "+p.email+" joined")
	}
	if inOry {
		email := p.email
		if w.chance(0.3) { // typed with capitals at sign-up
			email = strings.ToUpper(email[:1]) + email[1:strings.Index(email, "@")] + "@" + strings.ToUpper(domain[:1]) + domain[1:]
		}
		id := orytest.Person(email, p.first, p.last)
		if linked && w.chance(0.7) {
			id.ExternalID = p.employeeID
		}
		if history {
			id.CreatedAt = now.Add(-time.Duration(w.rng.IntN(500)) * 24 * time.Hour)
			if w.chance(0.08) {
				id.State = "inactive"
			}
		}
		stored := w.ory.AddIdentity(id)
		s.ory = stored.ID
		if w.chance(0.7) {
			_ = w.ory.SetEmail(stored.ID, email, true)
		}
		events = append(events, "ory: "+email+" joined")
	}
	if inZitadel {
		email := p.email
		if w.chance(0.3) { // a plus-tag to filter internal-tools mail
			at := strings.Index(email, "@")
			email = email[:at] + "+tools" + email[at:]
		}
		u := zitadeltest.User{UserName: email, FirstName: p.first, LastName: p.last, DisplayName: p.first + " " + p.last,
			Email: email, EmailVerified: w.chance(0.85), Language: "en"}
		if history {
			switch r := w.rng.Float64(); {
			case r < 0.04:
				u.State = zitadeltest.UserInitial
			case r < 0.07:
				u.State = zitadeltest.UserLocked
			case r < 0.10:
				u.State = zitadeltest.UserInactive
			}
		}
		id := w.zitadel.AddUser(u)
		s.zitadel = id
		for _, pid := range w.sample(w.projects, 1+w.rng.IntN(2)) {
			w.zitadel.AddGrant(id, pid, w.grantRoles(pid)...)
		}
		events = append(events, "zitadel: "+email+" joined")
	}
	return events
}

// grantRoles picks one or two role keys of a project; admin is rare.
func (w *world) grantRoles(pid string) []string {
	roles := w.roles[pid]
	nonAdmin := roles[1:]
	if w.chance(0.08) {
		return []string{"admin"}
	}
	return w.sample(nonAdmin, 1+w.rng.IntN(min(2, len(nonAdmin))))
}

// sample returns n distinct elements of s in a random order.
func (w *world) sample(s []string, n int) []string {
	idx := w.rng.Perm(len(s))[:min(n, len(s))]
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = s[j]
	}
	return out
}

// addMachines creates ZITADEL service accounts, most holding grants: what
// the machine-with-grants finding is about.
func (w *world) addMachines() {
	for _, m := range []struct{ user, name, desc string }{
		{"ci-deployer", "CI deployer", "GitHub Actions deploys"},
		{"backup-bot", "Backup bot", "nightly exports"},
		{"grafana-sync", "Grafana sync", "dashboards"},
		{"terraform", "Terraform", "infrastructure as code"},
		{"scim-bridge", "SCIM bridge", "HR provisioning"},
		{"idsnap-reader", "idsnap", "read-only identity snapshots"},
	} {
		id := w.zitadel.AddUser(zitadeltest.User{Machine: true, UserName: m.user, Name: m.name, Description: m.desc})
		if m.user == "idsnap-reader" {
			continue
		}
		pid := w.pick(w.projects)
		w.zitadel.AddGrant(id, pid, w.grantRoles(pid)...)
	}
}

// Advance moves the world on by one day of churn: joiners and leavers,
// suspensions, a role escalation, renames, email changes, revoked grants,
// and sign-ins and touches that change activity only (a diff must not
// report those). It returns what happened, for the operator.
func (w *world) Advance() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.day++
	now := w.now()
	var ev []string
	note := func(format string, args ...any) { ev = append(ev, fmt.Sprintf(format, args...)) }

	// Accounts that existed yesterday: today's leavers and changes pick
	// from these, never from today's joiners.
	kids, oids := w.kinde.UserIDs(), w.ory.IDs()

	// HR's leavers: IT processes half of them on the first day.
	if w.day == 1 {
		ev = append(ev, w.deprovisionLeavers()...)
	}

	// Joiners: one in all three, one in Kinde only.
	ev = append(ev, w.hire(w.newPerson(), true, true, true, false)...)
	ev = append(ev, w.hire(w.newPerson(), true, false, false, false)...)

	// Kinde: a leaver, a suspension, an escalation, a rename, sign-ins.
	// HR's leavers are left to HR's plan, so what it expects holds.
	if u, ok := w.kinde.User(w.pick(kids)); ok && !w.isLeaver(u.ID) {
		_ = w.kinde.RemoveUser(u.ID)
		note("kinde: %s left (user deleted; their ZITADEL and Ory accounts, if any, stay)", u.Email)
	}
	if u, ok := w.kinde.User(w.pick(kids)); ok && !u.Suspended {
		_ = w.kinde.Suspend(u.ID, true)
		note("kinde: %s suspended", u.Email)
	}
	org := w.kindeOrgs[1+w.rng.IntN(len(w.kindeOrgs)-1)]
	if ms := w.kinde.Members(org); len(ms) > 0 {
		m := ms[w.rng.IntN(len(ms))]
		if !slices.Contains(m.Roles, "admin") {
			_ = w.kinde.SetMemberRoles(org, m.UserID, append(slices.Clone(m.Roles), "admin")...)
			o, _ := w.kinde.Org(org)
			u, _ := w.kinde.User(m.UserID)
			note("kinde: %s got the admin role in %s", u.Email, o.Name)
		}
	}
	if u, ok := w.kinde.User(w.pick(kids)); ok {
		_ = w.kinde.SetName(u.ID, u.FirstName, w.pick(lastNames))
		note("kinde: %s changed their last name", u.Email)
	}
	signIns := 0
	for _, id := range kids {
		if u, ok := w.kinde.User(id); ok && !u.Suspended && !u.LastSignedIn.IsZero() && now.Sub(u.LastSignedIn) < 60*24*time.Hour && w.chance(0.3) {
			_ = w.kinde.SignIn(id, now.Add(-time.Duration(w.rng.IntN(9*60))*time.Minute))
			signIns++
		}
	}
	note("kinde: %d sign-ins (activity only: not a change)", signIns)

	// Ory: a deactivation, an email change, a deletion.
	if id, ok := w.ory.Identity(w.pick(oids)); ok && id.State == "active" {
		id.State, id.StateChangedAt, id.UpdatedAt = "inactive", now, now
		w.ory.AddIdentity(id)
		note("ory: identity %s deactivated", id.ID)
	}
	if id, ok := w.ory.Identity(w.pick(oids)); ok {
		p := w.newPerson()
		_ = w.ory.SetEmail(id.ID, p.email, false)
		note("ory: identity %s changed email to %s", id.ID, p.email)
	}
	if victim := w.pick(oids); w.ory.DeleteIdentity(victim) {
		note("ory: identity %s deleted", victim)
	}

	// ZITADEL: a revoked grant, an escalation, a lock, touches.
	grants := w.zitadel.Grants()
	if len(grants) > 0 {
		g := grants[w.rng.IntN(len(grants))]
		w.zitadel.RemoveGrant(g.ID)
		note("zitadel: grant %s of user %s revoked", g.ID, g.UserID)
		grants = w.zitadel.Grants()
	}
	if len(grants) > 0 {
		g := grants[w.rng.IntN(len(grants))]
		if !slices.Contains(g.RoleKeys, "admin") {
			w.zitadel.SetGrantRoles(g.ID, append(slices.Clone(g.RoleKeys), "admin")...)
			note("zitadel: user %s got admin on project %s", g.UserID, g.ProjectID)
		}
	}
	var humans []string
	for _, u := range w.zitadel.Users() {
		if !u.Machine && (u.State == "" || u.State == zitadeltest.UserActive) {
			humans = append(humans, u.ID)
		}
	}
	if len(humans) > 0 {
		id := w.pick(humans)
		w.zitadel.SetUserState(id, zitadeltest.UserLocked)
		note("zitadel: user %s locked", id)
		for range 5 {
			w.zitadel.Touch(w.pick(humans))
		}
		note("zitadel: 5 users touched (sequence only: not a change)")
	}
	return ev
}

// Day returns the current simulated day.
func (w *world) Day() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.day
}

// counts summarises the world for the start-up banner.
func (w *world) counts() string {
	return fmt.Sprintf("kinde %d users in %d organizations; ory %d identities; zitadel %d users (%d projects, %d grants)",
		len(w.kinde.UserIDs()), len(w.kinde.OrgCodes()), w.ory.Len(), len(w.zitadel.Users()), len(w.zitadel.Projects()), len(w.zitadel.Grants()))
}
