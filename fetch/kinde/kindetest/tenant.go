package kindetest

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// User is a Kinde user as the fake stores it. Zero LastSignedIn means the
// user never signed in (the API then answers null).
type User struct {
	ID         string // kp_<32 hex>
	ProvidedID string // external id; empty: not set
	Email      string
	Phone      string
	Username   string
	FirstName  string
	LastName   string
	Picture    string
	Suspended  bool
	CreatedOn  time.Time

	LastSignedIn  time.Time
	TotalSignIns  int
	FailedSignIns int

	Identities        []Identity
	BillingCustomerID string

	rev  uint64       // the tenant's revision when the user last changed
	rows [4]cachedRow // by expansion: identities 1, billing 2; guarded by rowsMu; copies leave them out
}

// Identity is one of a user's identities (users_response identities[]).
type Identity struct {
	Type         string // "email", "username", "oauth2:google", ...
	Identity     string
	ConnectionID string // empty for email, phone, username identities (null in the API)
}

// Org is a Kinde organization (organization_item_schema).
type Org struct {
	Code           string // org_<11 hex>
	Name           string
	Handle         string // empty: null
	ExternalID     string // empty: null
	IsDefault      bool
	AutoMembership bool
}

// Member is one user's membership of an organization.
type Member struct {
	UserID         string
	Roles          []string // role keys
	JoinedOn       time.Time
	LastAccessedOn time.Time // zero: null

	rev uint64    // the tenant's revision when the membership last changed
	row cachedRow // guarded by rowsMu; copies leave it out
}

type org struct {
	Org
	members map[string]*Member
	ids     idSet // member user ids: the listing order
}

// Tenant is one Kinde business: users, organizations and memberships. It is
// safe for concurrent use, so a test or idsim can change it while a fetcher
// pages through it. Mutators that name an unknown user or organization
// return an error and change nothing.
type Tenant struct {
	mu    sync.RWMutex
	rev   uint64 // bumped by every change of a user or membership
	users map[string]*User
	uids  idSet // the users listing order
	orgs  map[string]*org
	codes idSet // the organizations listing order

	// rowsMu guards the rows kept in users and members (rows.go), which
	// listings write under the read lock.
	rowsMu sync.Mutex
}

// idSet is a set of ids read in sorted order. Ids are appended and sorted
// on the next read, not inserted in place: a generated tenant adds random
// ids, and inserting each into a sorted slice made building 300k users
// quadratic (43 s).
type idSet struct {
	mu    sync.Mutex // a read sorts under the tenant's read lock
	s     []string
	dirty bool
}

// add adds v; the caller holds the tenant's write lock.
func (x *idSet) add(v string) {
	if n := len(x.s); n > 0 && v <= x.s[n-1] {
		x.dirty = true
	}
	x.s = append(x.s, v)
}

// remove removes v; the caller holds the tenant's write lock.
func (x *idSet) remove(v string) { x.s = removeSorted(x.sorted(), v) }

// sorted returns the ids in order, without duplicates. The slice is valid
// while the caller holds the tenant's lock.
func (x *idSet) sorted() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.dirty {
		slices.Sort(x.s)
		x.s = slices.Compact(x.s)
		x.dirty = false
	}
	return x.s
}

// NewTenant returns an empty tenant.
func NewTenant() *Tenant {
	return &Tenant{users: map[string]*User{}, orgs: map[string]*org{}}
}

func removeSorted(s []string, v string) []string {
	i, found := slices.BinarySearch(s, v)
	if !found {
		return s
	}
	return slices.Delete(s, i, i+1)
}

// AddUser adds u, or replaces the user with u's id.
func (t *Tenant) AddUser(u User) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u.Identities = slices.Clone(u.Identities)
	t.rev++
	u.rev, u.rows = t.rev, [4]cachedRow{}
	t.users[u.ID] = &u
	t.uids.add(u.ID)
}

// RemoveUser deletes a user and its memberships, as deleting a user in
// Kinde does.
func (t *Tenant) RemoveUser(id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.users[id]; !ok {
		return fmt.Errorf("no user %s", id)
	}
	delete(t.users, id)
	t.uids.remove(id)
	for _, o := range t.orgs {
		if _, ok := o.members[id]; ok {
			delete(o.members, id)
			o.ids.remove(id)
		}
	}
	return nil
}

func (t *Tenant) update(id string, f func(u *User)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.users[id]
	if !ok {
		return fmt.Errorf("no user %s", id)
	}
	f(u)
	t.rev++
	u.rev = t.rev
	return nil
}

// Suspend sets or clears a user's is_suspended.
func (t *Tenant) Suspend(id string, suspended bool) error {
	return t.update(id, func(u *User) { u.Suspended = suspended })
}

// SetEmail changes a user's email.
func (t *Tenant) SetEmail(id, email string) error {
	return t.update(id, func(u *User) { u.Email = email })
}

// SetName changes a user's first and last name.
func (t *Tenant) SetName(id, first, last string) error {
	return t.update(id, func(u *User) { u.FirstName, u.LastName = first, last })
}

// SignIn records a successful sign-in at time at: only the activity fields
// (last_signed_in, total_sign_ins) change, and failed_sign_ins resets as it
// counts consecutive failures.
func (t *Tenant) SignIn(id string, at time.Time) error {
	return t.update(id, func(u *User) {
		u.LastSignedIn = at
		u.TotalSignIns++
		u.FailedSignIns = 0
	})
}

// User returns a copy of the user with id.
func (t *Tenant) User(id string) (User, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	u, ok := t.users[id]
	if !ok {
		return User{}, false
	}
	t.rowsMu.Lock()
	c := *u
	t.rowsMu.Unlock()
	c.Identities = slices.Clone(u.Identities)
	c.rev, c.rows = 0, [4]cachedRow{}
	return c, true
}

// UserIDs returns every user id in listing order.
func (t *Tenant) UserIDs() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Clone(t.uids.sorted())
}

// AddOrg adds o, or replaces the name and settings of the organization with
// o's code (its members stay).
func (t *Tenant) AddOrg(o Org) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur, ok := t.orgs[o.Code]; ok {
		cur.Org = o
		return
	}
	t.orgs[o.Code] = &org{Org: o, members: map[string]*Member{}}
	t.codes.add(o.Code)
}

// RemoveOrg deletes an organization and its memberships.
func (t *Tenant) RemoveOrg(code string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.orgs[code]; !ok {
		return fmt.Errorf("no organization %s", code)
	}
	delete(t.orgs, code)
	t.codes.remove(code)
	return nil
}

// OrgCodes returns every organization code in listing order.
func (t *Tenant) OrgCodes() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Clone(t.codes.sorted())
}

// Org returns the organization with code.
func (t *Tenant) Org(code string) (Org, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	o, ok := t.orgs[code]
	if !ok {
		return Org{}, false
	}
	return o.Org, true
}

// AddMember makes a user a member of an organization holding roles (role
// keys), joined now. A user already a member keeps its join date and gets
// the roles given.
func (t *Tenant) AddMember(code, userID string, roles ...string) error {
	return t.addMember(code, userID, time.Now().UTC(), roles)
}

func (t *Tenant) addMember(code, userID string, joined time.Time, roles []string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.orgs[code]
	if !ok {
		return fmt.Errorf("no organization %s", code)
	}
	if _, ok := t.users[userID]; !ok {
		return fmt.Errorf("no user %s", userID)
	}
	t.rev++
	if m, ok := o.members[userID]; ok {
		m.Roles, m.rev = sortedRoles(roles), t.rev
		return nil
	}
	o.members[userID] = &Member{UserID: userID, Roles: sortedRoles(roles), JoinedOn: joined, rev: t.rev}
	o.ids.add(userID)
	return nil
}

func sortedRoles(roles []string) []string {
	r := slices.Clone(roles)
	sort.Strings(r)
	return slices.Compact(r)
}

// RemoveMember ends a user's membership of an organization.
func (t *Tenant) RemoveMember(code, userID string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.orgs[code]
	if !ok {
		return fmt.Errorf("no organization %s", code)
	}
	if _, ok := o.members[userID]; !ok {
		return fmt.Errorf("user %s is not a member of %s", userID, code)
	}
	delete(o.members, userID)
	o.ids.remove(userID)
	return nil
}

// SetMemberRoles replaces the roles a member holds in an organization.
func (t *Tenant) SetMemberRoles(code, userID string, roles ...string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.orgs[code]
	if !ok {
		return fmt.Errorf("no organization %s", code)
	}
	m, ok := o.members[userID]
	if !ok {
		return fmt.Errorf("user %s is not a member of %s", userID, code)
	}
	t.rev++
	m.Roles, m.rev = sortedRoles(roles), t.rev
	return nil
}

// Members returns copies of an organization's memberships in listing order.
func (t *Tenant) Members(code string) []Member {
	t.mu.RLock()
	defer t.mu.RUnlock()
	o, ok := t.orgs[code]
	if !ok {
		return nil
	}
	ids := o.ids.sorted()
	out := make([]Member, 0, len(ids))
	t.rowsMu.Lock()
	defer t.rowsMu.Unlock()
	for _, id := range ids {
		m := *o.members[id]
		m.Roles = slices.Clone(m.Roles)
		m.rev, m.row = 0, cachedRow{}
		out = append(out, m)
	}
	return out
}

// page returns up to n items of sorted after the cursor after (exclusive),
// and whether more follow. Keyset paging keeps a listing consistent while
// the tenant changes between pages.
func page(sorted []string, after string, n int) ([]string, bool) {
	i := 0
	if after != "" {
		i, _ = slices.BinarySearch(sorted, after)
		if i < len(sorted) && sorted[i] == after {
			i++
		}
	}
	end := min(len(sorted), i+n)
	return sorted[i:end], end < len(sorted)
}
