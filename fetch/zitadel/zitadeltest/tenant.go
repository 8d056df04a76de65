// Package zitadeltest is a protocol fake of the ZITADEL Management API v1
// REST gateway (and the one Admin API call idsnap uses): real paths and
// methods, PAT check, x-zitadel-orgid, permissions, offset paging with
// details.totalResult, protojson encoding (camelCase, enums as strings,
// uint64 as strings, zero values omitted) and the gateway error envelope.
// Like net/http/httptest it is an ordinary package; tests and cmd/idsim
// share it.
package zitadeltest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// User states as the API spells them.
const (
	UserActive   = "USER_STATE_ACTIVE"
	UserInactive = "USER_STATE_INACTIVE"
	UserLocked   = "USER_STATE_LOCKED"
	UserSuspend  = "USER_STATE_SUSPEND"
	UserInitial  = "USER_STATE_INITIAL"
	UserDeleted  = "USER_STATE_DELETED"
)

// Grant and project states.
const (
	GrantActive     = "USER_GRANT_STATE_ACTIVE"
	GrantInactive   = "USER_GRANT_STATE_INACTIVE"
	ProjectActive   = "PROJECT_STATE_ACTIVE"
	ProjectInactive = "PROJECT_STATE_INACTIVE"
)

// Org is one organization of the instance.
type Org struct {
	ID, Name, Domain string
	Created, Changed time.Time
	Sequence         uint64
}

// User is a human or machine user. AddUser fills ID, Created, Changed and
// Sequence; OrgID empty means the first org.
type User struct {
	ID       string
	OrgID    string
	Machine  bool
	UserName string
	State    string // USER_STATE_*; empty: USER_STATE_ACTIVE

	// Human users.
	FirstName, LastName, NickName, DisplayName, Language string
	Email                                                string
	EmailVerified                                        bool
	Phone                                                string

	// Machine users.
	Name, Description string

	Created, Changed time.Time
	Sequence         uint64

	row cachedRow // this user's row in listings; copies leave it out
}

// Project is a project owned by an org. OrgID empty means the first org.
type Project struct {
	ID, OrgID, Name string
	State           string // PROJECT_STATE_*; empty: PROJECT_STATE_ACTIVE
	RoleAssertion   bool
	RoleCheck       bool
	Created         time.Time
	Changed         time.Time
	Sequence        uint64
}

// Role is a role of a project.
type Role struct {
	Key, DisplayName, Group string
	Created, Changed        time.Time
	Sequence                uint64

	row cachedRow // copies leave it out
}

// Grant is a user grant: a user holds role keys on a project.
type Grant struct {
	ID, UserID, ProjectID string
	RoleKeys              []string
	State                 string // USER_GRANT_STATE_*
	Created, Changed      time.Time
	Sequence              uint64

	row cachedGrant // copies leave it out
}

type project struct {
	Project
	roles []*Role
	row   cachedRow
}

// Tenant is a ZITADEL instance with one or several orgs. It is safe for
// concurrent use: mutate it between (or during) pulls.
//
// Projects and grants are kept in "heap order", as Postgres returns rows
// of a query without ORDER BY: an update moves the row to the end. That is
// what makes offset paging over them skip or repeat rows when the tenant
// changes mid-pull (docs/providers.md, ZITADEL: paging). Users are returned in id
// order, as ZITADEL sorts them by default.
//
// Mutators panic on an unknown id: a tenant is built by code (tests,
// idsim), and a wrong id there is a bug in that code.
type Tenant struct {
	mu       sync.Mutex
	seq      uint64
	base     time.Time
	orgs     []*Org
	users    []*User // id order
	projects []*project
	grants   []*Grant

	// indexes, so building a 100k-user tenant stays linear
	userIdx  map[string]*User
	pairs    map[[2]string]bool // user id, project id: one grant each
	grantIdx map[string]*Grant
	// byProject is the grants of each project in listing order, built by
	// the first per-project listing after a change: a listing per project
	// then reads its own grants, not every grant of the org.
	byProject map[string][]*Grant
	// rows holds the listings' rows, each kept in the object it shows
	// (rows.go).
	rows rowSlab
	// orgUsers is the users of each org in id order, built by the first
	// listing after a user was added or removed: a page of users then
	// costs its own rows, not a pass over every user of the instance.
	orgUsers map[string][]*User
}

// NewTenant returns an instance with one org named name (domain
// <name>.zitadel.cloud, lower-cased by the caller as wanted).
func NewTenant(name, domain string) *Tenant {
	t := &Tenant{base: time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC),
		userIdx: make(map[string]*User), pairs: make(map[[2]string]bool), grantIdx: make(map[string]*Grant)}
	t.AddOrg(name, domain)
	return t
}

// tick advances the instance's event sequence and clock; every mutation is
// one event, so sequences and timestamps are deterministic.
func (t *Tenant) tick() (uint64, time.Time) {
	t.seq++
	return t.seq, t.base.Add(time.Duration(t.seq) * time.Minute)
}

// newID returns an id shaped like ZITADEL's (18 digits, growing).
func (t *Tenant) newID() string {
	t.seq++
	return fmt.Sprintf("%d", 280000000000000000+t.seq*7919)
}

// AddOrg adds an org and returns its id.
func (t *Tenant) AddOrg(name, domain string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := t.newID()
	seq, now := t.tick()
	t.orgs = append(t.orgs, &Org{ID: id, Name: name, Domain: domain, Created: now, Changed: now, Sequence: seq})
	return id
}

// Orgs returns a copy of the orgs, the first (default) one first.
func (t *Tenant) Orgs() []Org {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Org, len(t.orgs))
	for i, o := range t.orgs {
		out[i] = *o
	}
	return out
}

func (t *Tenant) org(id string) *Org {
	if id == "" {
		return t.orgs[0]
	}
	for _, o := range t.orgs {
		if o.ID == id {
			return o
		}
	}
	return nil
}

func (t *Tenant) mustOrg(id string) *Org {
	o := t.org(id)
	if o == nil {
		panic("zitadeltest: unknown org " + id)
	}
	return o
}

// AddUser adds u and returns its id.
func (t *Tenant) AddUser(u User) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	u.OrgID = t.mustOrg(u.OrgID).ID
	if u.State == "" {
		u.State = UserActive
	}
	u.ID = t.newID()
	u.Sequence, u.Created = t.tick()
	u.Changed = u.Created
	t.users = append(t.users, &u) // ids grow, so id order holds
	t.userIdx[u.ID] = &u
	t.orgUsers = nil
	return u.ID
}

func (t *Tenant) user(id string) (int, *User) {
	u := t.userIdx[id]
	if u == nil {
		panic("zitadeltest: unknown user " + id)
	}
	i, _ := slices.BinarySearchFunc(t.users, u, func(a, b *User) int { return strings.Compare(a.ID, b.ID) })
	return i, u
}

// usersOf returns the org's users in id order; the caller must not change
// the slice.
func (t *Tenant) usersOf(orgID string) []*User {
	if t.orgUsers == nil {
		t.orgUsers = make(map[string][]*User)
		for _, u := range t.users {
			t.orgUsers[u.OrgID] = append(t.orgUsers[u.OrgID], u)
		}
	}
	return t.orgUsers[orgID]
}

// touchUser marks u changed by one event.
func (t *Tenant) touchUser(u *User) { u.Sequence, u.Changed = t.tick() }

// RemoveUser removes a user and, as ZITADEL does, its grants.
func (t *Tenant) RemoveUser(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, _ := t.user(id)
	t.users = slices.Delete(t.users, i, i+1)
	delete(t.userIdx, id)
	t.orgUsers = nil
	t.dropGrants(func(g *Grant) bool { return g.UserID == id })
}

// SetUserState sets a user's state (USER_STATE_*).
func (t *Tenant) SetUserState(id, state string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, u := t.user(id)
	u.State = state
	t.touchUser(u)
}

// SetEmail sets a human user's email and whether it is verified.
func (t *Tenant) SetEmail(id, email string, verified bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, u := t.user(id)
	u.Email, u.EmailVerified = email, verified
	t.touchUser(u)
}

// SetName sets a human user's display name or a machine user's name.
func (t *Tenant) SetName(id, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, u := t.user(id)
	if u.Machine {
		u.Name = name
	} else {
		u.DisplayName = name
	}
	t.touchUser(u)
}

// Touch records an event on a user, project or grant that changes nothing
// the API shows but details.sequence and details.changeDate (ZITADEL does
// this for e.g. password checks). A pull must not see it as a change.
func (t *Tenant) Touch(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, u := range t.users {
		if u.ID == id {
			t.touchUser(u)
			return
		}
	}
	for _, p := range t.projects {
		if p.ID == id {
			p.Sequence, p.Changed = t.tick()
			return
		}
	}
	for _, g := range t.grants {
		if g.ID == id {
			t.touchGrant(g)
			return
		}
	}
	panic("zitadeltest: unknown id " + id)
}

// Users returns a copy of the users in id order.
func (t *Tenant) Users() []User {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]User, len(t.users))
	for i, u := range t.users {
		out[i] = *u
		out[i].row = cachedRow{}
	}
	return out
}

// AddProject adds p and returns its id.
func (t *Tenant) AddProject(p Project) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	p.OrgID = t.mustOrg(p.OrgID).ID
	if p.State == "" {
		p.State = ProjectActive
	}
	p.ID = t.newID()
	p.Sequence, p.Created = t.tick()
	p.Changed = p.Created
	t.projects = append(t.projects, &project{Project: p})
	return p.ID
}

func (t *Tenant) project(id string) (int, *project) {
	for i, p := range t.projects {
		if p.ID == id {
			return i, p
		}
	}
	panic("zitadeltest: unknown project " + id)
}

// RemoveProject removes a project with its roles and grants.
func (t *Tenant) RemoveProject(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, _ := t.project(id)
	t.projects = slices.Delete(t.projects, i, i+1)
	t.dropGrants(func(g *Grant) bool { return g.ProjectID == id })
}

// RenameProject renames a project; as an update it moves the project to the
// end of the unordered listing.
func (t *Tenant) RenameProject(id, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, p := t.project(id)
	p.Name = name
	p.Sequence, p.Changed = t.tick()
	t.projects = append(slices.Delete(t.projects, i, i+1), p)
}

// Projects returns a copy of the projects in listing order.
func (t *Tenant) Projects() []Project {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Project, len(t.projects))
	for i, p := range t.projects {
		out[i] = p.Project
	}
	return out
}

// AddRole adds a role to a project.
func (t *Tenant) AddRole(projectID, key, displayName, group string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, p := t.project(projectID)
	for _, r := range p.roles {
		if r.Key == key {
			panic("zitadeltest: role " + key + " exists on project " + projectID)
		}
	}
	seq, now := t.tick()
	p.roles = append(p.roles, &Role{Key: key, DisplayName: displayName, Group: group, Created: now, Changed: now, Sequence: seq})
}

// RemoveRole removes a role from a project and, as ZITADEL does, its key
// from every grant on the project (a grant may end up with no keys).
func (t *Tenant) RemoveRole(projectID, key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, p := t.project(projectID)
	n := len(p.roles)
	p.roles = slices.DeleteFunc(p.roles, func(r *Role) bool { return r.Key == key })
	if len(p.roles) == n {
		panic("zitadeltest: unknown role " + key + " on project " + projectID)
	}
	for _, g := range slices.Clone(t.grants) {
		if g.ProjectID == projectID && slices.Contains(g.RoleKeys, key) {
			g.RoleKeys = slices.DeleteFunc(g.RoleKeys, func(k string) bool { return k == key })
			t.touchGrant(g)
		}
	}
}

// Roles returns a copy of a project's roles.
func (t *Tenant) Roles(projectID string) []Role {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, p := t.project(projectID)
	out := make([]Role, len(p.roles))
	for i, r := range p.roles {
		out[i] = *r
		out[i].row = cachedRow{}
	}
	return out
}

// AddGrant grants a user role keys on a project and returns the grant's id.
// The keys must be roles of the project; a user holds at most one grant per
// project.
func (t *Tenant) AddGrant(userID, projectID string, roleKeys ...string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.userIdx[userID] == nil {
		panic("zitadeltest: unknown user " + userID)
	}
	_, p := t.project(projectID)
	t.checkKeys(p, roleKeys)
	pair := [2]string{userID, projectID}
	if t.pairs[pair] {
		panic("zitadeltest: user " + userID + " already has a grant on project " + projectID)
	}
	t.pairs[pair] = true
	g := &Grant{ID: t.newID(), UserID: userID, ProjectID: projectID, RoleKeys: slices.Clone(roleKeys), State: GrantActive}
	g.Sequence, g.Created = t.tick()
	g.Changed = g.Created
	t.grants = append(t.grants, g)
	t.grantIdx[g.ID] = g
	t.byProject = nil
	return g.ID
}

func (t *Tenant) checkKeys(p *project, keys []string) {
	for _, k := range keys {
		if !slices.ContainsFunc(p.roles, func(r *Role) bool { return r.Key == k }) {
			panic("zitadeltest: project " + p.ID + " has no role " + k)
		}
	}
}

func (t *Tenant) grant(id string) *Grant {
	g := t.grantIdx[id]
	if g == nil {
		panic("zitadeltest: unknown grant " + id)
	}
	return g
}

// projectGrants returns the grants on a project in listing order.
func (t *Tenant) projectGrants(projectID string) []*Grant {
	if t.byProject == nil {
		t.byProject = make(map[string][]*Grant)
		for _, g := range t.grants {
			t.byProject[g.ProjectID] = append(t.byProject[g.ProjectID], g)
		}
	}
	return t.byProject[projectID]
}

// touchGrant records an update of g: new sequence, and the row moves to
// the end of the unordered listing.
func (t *Tenant) touchGrant(g *Grant) {
	g.Sequence, g.Changed = t.tick()
	i := slices.Index(t.grants, g)
	t.grants = append(slices.Delete(t.grants, i, i+1), g)
	t.byProject = nil
}

// RemoveGrant removes a grant.
func (t *Tenant) RemoveGrant(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.grant(id)
	i := slices.Index(t.grants, g)
	t.grants = slices.Delete(t.grants, i, i+1)
	delete(t.pairs, [2]string{g.UserID, g.ProjectID})
	delete(t.grantIdx, id)
	t.byProject = nil
}

func (t *Tenant) dropGrants(drop func(*Grant) bool) {
	t.grants = slices.DeleteFunc(t.grants, func(g *Grant) bool {
		if drop(g) {
			delete(t.pairs, [2]string{g.UserID, g.ProjectID})
			delete(t.grantIdx, g.ID)
			return true
		}
		return false
	})
	t.byProject = nil
}

// SetGrantRoles replaces a grant's role keys.
func (t *Tenant) SetGrantRoles(id string, roleKeys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.grant(id)
	_, p := t.project(g.ProjectID)
	t.checkKeys(p, roleKeys)
	g.RoleKeys = slices.Clone(roleKeys)
	t.touchGrant(g)
}

// SetGrantState deactivates (USER_GRANT_STATE_INACTIVE) or reactivates a grant.
func (t *Tenant) SetGrantState(id, state string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.grant(id)
	g.State = state
	t.touchGrant(g)
}

// Grants returns a copy of the grants in listing order.
func (t *Tenant) Grants() []Grant {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Grant, len(t.grants))
	for i, g := range t.grants {
		out[i] = *g
		out[i].RoleKeys = slices.Clone(g.RoleKeys)
		out[i].row = cachedGrant{}
	}
	return out
}
