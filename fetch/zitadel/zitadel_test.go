package zitadel

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
)

// env is a fake with a fetcher pointed at it.
type env struct {
	srv  *zitadeltest.Server
	f    *Fetcher
	log  *bytes.Buffer
	mu   sync.Mutex
	naps []time.Duration // what the client slept
}

func newEnv(t testing.TB, tenant *zitadeltest.Tenant, cfg zitadeltest.Config, src idsnap.Source) *env {
	t.Helper()
	e := &env{srv: zitadeltest.NewServer(tenant, cfg), log: &bytes.Buffer{}}
	t.Cleanup(e.srv.Close)
	c := fetch.NewClient(fetch.Options{
		HTTPClient: e.srv.Client(),
		Logger:     slog.New(slog.NewTextHandler(e.log, nil)),
		Sleep: func(ctx context.Context, d time.Duration) error {
			e.mu.Lock()
			e.naps = append(e.naps, d)
			e.mu.Unlock()
			return ctx.Err()
		},
	})
	src.Provider = "zitadel"
	if src.BaseURL == "" {
		src.BaseURL = e.srv.URL + "/"
	}
	if src.Secret("pat") == "" {
		src.Secrets = map[string]idsnap.Secret{"pat": zitadeltest.DefaultPAT}
	}
	f, err := New(src, c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.f = f.(*Fetcher)
	// The default rate protects ZITADEL Cloud; the fake needs no protection.
	e.f.c.SetDefaultRate(1e6, 1000)
	return e
}

// pull runs a fresh fetch (a fetcher resolves its org per pull) and returns
// the records by kind and id; a record emitted twice fails the test.
func (e *env) pull(t testing.TB) (map[string]idsnap.Record, error) {
	t.Helper()
	var mu sync.Mutex
	recs := make(map[string]idsnap.Record)
	err := e.f.Fetch(context.Background(), func(_ context.Context, r idsnap.Record) error {
		mu.Lock()
		defer mu.Unlock()
		k := string(r.Kind) + " " + r.ID
		if _, dup := recs[k]; dup {
			t.Errorf("record %s emitted twice", k)
		}
		recs[k] = r
		return nil
	})
	return recs, err
}

func (e *env) mustPull(t testing.TB) map[string]idsnap.Record {
	t.Helper()
	recs, err := e.pull(t)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return recs
}

func count(recs map[string]idsnap.Record) map[idsnap.Kind]int {
	n := make(map[idsnap.Kind]int)
	for _, r := range recs {
		n[r.Kind]++
	}
	return n
}

// want counts what a tenant should yield.
func want(tenant *zitadeltest.Tenant) map[idsnap.Kind]int {
	n := map[idsnap.Kind]int{idsnap.KindUser: len(tenant.Users())}
	for _, p := range tenant.Projects() {
		n[idsnap.KindResource]++
		n[idsnap.KindEntitlement] += len(tenant.Roles(p.ID))
	}
	for _, g := range tenant.Grants() {
		n[idsnap.KindGrant] += len(g.RoleKeys)
	}
	return n
}

func sameCounts(t *testing.T, got, want map[idsnap.Kind]int) {
	t.Helper()
	for _, k := range idsnap.Kinds {
		if got[k] != want[k] {
			t.Errorf("%s records = %d, want %d", k, got[k], want[k])
		}
	}
}

func TestPull(t *testing.T) {
	tenant := zitadeltest.Generate(1, 2500, 12) // 3 pages of users
	e := newEnv(t, tenant, zitadeltest.Config{}, idsnap.Source{})
	recs := e.mustPull(t)
	sameCounts(t, count(recs), want(tenant))

	if n := e.srv.Faults.Count("/management/v1/users/_search"); n != 3 {
		t.Errorf("user pages = %d, want 3", n)
	}
	for _, req := range e.srv.Faults.Requests() {
		if strings.Contains(req, "?") {
			t.Errorf("request %q carries a query string", req)
		}
	}

	var human, machine zitadeltest.User
	for _, u := range tenant.Users() {
		if u.Machine && machine.ID == "" {
			machine = u
		}
		if !u.Machine && human.ID == "" {
			human = u
		}
	}
	h := recs["user "+human.ID]
	if h.Type != idsnap.AccountHuman || h.Email != human.Email || h.Username != human.UserName ||
		h.Name != human.DisplayName || h.EmailVerified == nil || *h.EmailVerified != human.EmailVerified ||
		!h.CreatedAt.Equal(human.Created) || h.Activity != nil {
		t.Errorf("human record = %+v, want the fields of %+v", h, human)
	}
	m := recs["user "+machine.ID]
	if m.Type != idsnap.AccountMachine || m.Name != machine.Name || m.EmailVerified != nil || m.Email != "" {
		t.Errorf("machine record = %+v, want the fields of %+v", m, machine)
	}
	for _, r := range []idsnap.Record{h, m} {
		var raw map[string]any
		if err := json.Unmarshal(r.Raw, &raw); err != nil {
			t.Fatal(err)
		}
		d := raw["details"].(map[string]any)
		if _, ok := d["sequence"]; ok {
			t.Errorf("raw of %s keeps details.sequence: %s", r.ID, r.Raw)
		}
		if _, ok := d["changeDate"]; ok {
			t.Errorf("raw of %s keeps details.changeDate: %s", r.ID, r.Raw)
		}
		if d["resourceOwner"] != tenant.Orgs()[0].ID || raw["userName"] == nil {
			t.Errorf("raw of %s lost fields: %s", r.ID, r.Raw)
		}
	}

	g := tenant.Grants()[0]
	key := g.RoleKeys[0]
	ent := idsnap.EntitlementID(g.ProjectID, key)
	gr, ok := recs["grant "+idsnap.GrantID(g.UserID, ent)]
	if !ok || gr.PrincipalID != g.UserID || gr.ResourceID != g.ProjectID || gr.EntitlementID != ent {
		t.Errorf("grant record = %+v, want user %s on %s", gr, g.UserID, ent)
	}
	if _, ok := recs["entitlement "+ent]; !ok {
		t.Errorf("no entitlement %s", ent)
	}
	if !strings.Contains(string(gr.Raw), `"roleKey":"`+key+`"`) || strings.Contains(string(gr.Raw), "roleKeys") ||
		strings.Contains(string(gr.Raw), "userName") {
		t.Errorf("grant raw = %s, want roleKey and no roleKeys or user copies", gr.Raw)
	}
}

func TestUserStatus(t *testing.T) {
	for state, want := range map[string]idsnap.Status{
		zitadeltest.UserActive: idsnap.StatusActive, zitadeltest.UserInactive: idsnap.StatusInactive,
		zitadeltest.UserLocked: idsnap.StatusSuspended, zitadeltest.UserSuspend: idsnap.StatusSuspended,
		zitadeltest.UserInitial: idsnap.StatusInitial, zitadeltest.UserDeleted: idsnap.StatusDeleted,
		"USER_STATE_UNSPECIFIED": "",
	} {
		if got := userStatus(state); got != want {
			t.Errorf("userStatus(%s) = %q, want %q", state, got, want)
		}
	}
}

// diff returns "change kind id" for every record difference.
func diff(before, after map[string]idsnap.Record) map[string]bool {
	d := make(map[string]bool)
	for k, a := range after {
		b, ok := before[k]
		switch {
		case !ok:
			d["new "+k] = true
		case !equalRecord(a, b):
			d["changed "+k] = true
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			d["gone "+k] = true
		}
	}
	return d
}

func equalRecord(a, b idsnap.Record) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestChurn(t *testing.T) {
	tenant := zitadeltest.Generate(7, 1200, 10)
	e := newEnv(t, tenant, zitadeltest.Config{}, idsnap.Source{})
	before := e.mustPull(t)

	users := tenant.Users()
	projects := tenant.Projects()
	grants := tenant.Grants()
	wantDiff := make(map[string]bool)
	grantRecs := func(change, userID, projectID string, keys ...string) {
		for _, k := range keys {
			wantDiff[change+" grant "+idsnap.GrantID(userID, idsnap.EntitlementID(projectID, k))] = true
		}
	}

	// A user joins and gets a grant.
	p0 := projects[0]
	roles0 := tenant.Roles(p0.ID)
	nu := tenant.AddUser(zitadeltest.User{UserName: "new.joiner", FirstName: "New", LastName: "Joiner",
		DisplayName: "New Joiner", Email: "new.joiner@acme.example"})
	tenant.AddGrant(nu, p0.ID, roles0[0].Key)
	wantDiff["new user "+nu] = true
	grantRecs("new", nu, p0.ID, roles0[0].Key)

	// A user leaves: its grants go with it.
	leaver := grants[1].UserID
	for _, g := range grants {
		if g.UserID == leaver {
			grantRecs("gone", leaver, g.ProjectID, g.RoleKeys...)
		}
	}
	tenant.RemoveUser(leaver)
	wantDiff["gone user "+leaver] = true

	// One user is locked, one renamed (its grants must not change), one
	// changes email; one only has an event that changes nothing visible.
	var plain []zitadeltest.User
	for _, u := range users {
		if !u.Machine && u.State == zitadeltest.UserActive && u.ID != leaver {
			plain = append(plain, u)
		}
	}
	tenant.SetUserState(plain[0].ID, zitadeltest.UserLocked)
	tenant.SetName(plain[1].ID, "Renamed Person")
	tenant.SetEmail(plain[2].ID, "moved@acme.example", false)
	tenant.Touch(plain[3].ID)
	for _, u := range plain[:3] {
		wantDiff["changed user "+u.ID] = true
	}

	// Grants: one removed, one with keys changed, one deactivated, one
	// touched without change.
	var mine []zitadeltest.Grant
	for _, g := range grants {
		if g.UserID != leaver {
			mine = append(mine, g)
		}
	}
	rm := mine[0]
	tenant.RemoveGrant(rm.ID)
	grantRecs("gone", rm.UserID, rm.ProjectID, rm.RoleKeys...)

	ch := mine[1]
	var other string
	for _, r := range tenant.Roles(ch.ProjectID) {
		if r.Key != ch.RoleKeys[0] && (len(ch.RoleKeys) < 2 || r.Key != ch.RoleKeys[1]) {
			other = r.Key
			break
		}
	}
	tenant.SetGrantRoles(ch.ID, ch.RoleKeys[0], other) // keeps the first key, drops any second
	grantRecs("new", ch.UserID, ch.ProjectID, other)
	grantRecs("gone", ch.UserID, ch.ProjectID, ch.RoleKeys[1:]...)

	off := mine[2]
	tenant.SetGrantState(off.ID, zitadeltest.GrantInactive)
	grantRecs("changed", off.UserID, off.ProjectID, off.RoleKeys...)
	tenant.Touch(mine[3].ID)

	// A role is added to a project.
	tenant.AddRole(projects[3].ID, "auditor", "Auditor", "")
	wantDiff["new entitlement "+idsnap.EntitlementID(projects[3].ID, "auditor")] = true

	after := e.mustPull(t)
	sameCounts(t, count(after), want(tenant))
	got := diff(before, after)
	for k := range wantDiff {
		if !got[k] {
			t.Errorf("missing difference: %s", k)
		}
	}
	for k := range got {
		if !wantDiff[k] {
			t.Errorf("unexpected difference: %s", k)
		}
	}
	if r := after["user "+plain[0].ID]; r.Status != idsnap.StatusSuspended {
		t.Errorf("locked user status = %q, want suspended", r.Status)
	}
	k := "grant " + idsnap.GrantID(off.UserID, idsnap.EntitlementID(off.ProjectID, off.RoleKeys[0]))
	if r := after[k]; r.Status != idsnap.StatusInactive || !strings.Contains(string(r.Raw), "USER_GRANT_STATE_INACTIVE") {
		t.Errorf("deactivated grant = %+v, want status inactive and the state in raw", r)
	}
}

func TestOrg(t *testing.T) {
	t.Run("single org detected", func(t *testing.T) {
		tenant := zitadeltest.Generate(2, 5, 2)
		e := newEnv(t, tenant, zitadeltest.Config{}, idsnap.Source{})
		e.mustPull(t)
		if e.f.org.ID != tenant.Orgs()[0].ID {
			t.Errorf("org = %v, want %s", e.f.org, tenant.Orgs()[0].ID)
		}
		if reqs := e.srv.Faults.Requests(); reqs[0] != "POST /admin/v1/orgs/_search" {
			t.Errorf("first request = %q, want the org listing", reqs[0])
		}
	})
	t.Run("several orgs", func(t *testing.T) {
		tenant := zitadeltest.Generate(2, 5, 2)
		second := tenant.AddOrg("Beta Corp", "beta.zitadel.cloud")
		first := tenant.Orgs()[0].ID
		e := newEnv(t, tenant, zitadeltest.Config{}, idsnap.Source{})
		_, err := e.pull(t)
		want := "detect org: the instance has 2 orgs: Acme (" + first + "), Beta Corp (" + second + "); set org_id to the one to pull"
		if err == nil || err.Error() != want {
			t.Errorf("Fetch error = %v, want %s", err, want)
		}
	})
	t.Run("without iam.read falls back to orgs/me", func(t *testing.T) {
		tenant := zitadeltest.Generate(2, 5, 2)
		tenant.AddOrg("Beta Corp", "beta.zitadel.cloud")
		cfg := zitadeltest.Config{Permissions: []string{"org.read", "user.read", "project.read", "project.role.read", "user.grant.read"}}
		e := newEnv(t, tenant, cfg, idsnap.Source{})
		recs := e.mustPull(t)
		sameCounts(t, count(recs), want(tenant))
		if !strings.Contains(e.log.String(), "no iam.read") {
			t.Errorf("log = %q, want a line about the fallback", e.log.String())
		}
	})
	t.Run("org_id of a second org", func(t *testing.T) {
		tenant := zitadeltest.Generate(2, 5, 2)
		beta := tenant.AddOrg("Beta Corp", "beta.zitadel.cloud")
		u := tenant.AddUser(zitadeltest.User{OrgID: beta, UserName: "b", DisplayName: "B"})
		e := newEnv(t, tenant, zitadeltest.Config{}, idsnap.Source{Settings: map[string]string{"org_id": beta}})
		recs := e.mustPull(t)
		if len(recs) != 1 || recs["user "+u].ID != u {
			t.Errorf("records = %v, want beta's one user", recs)
		}
	})
	t.Run("org_id not found", func(t *testing.T) {
		e := newEnv(t, zitadeltest.Generate(2, 5, 2), zitadeltest.Config{}, idsnap.Source{Settings: map[string]string{"org_id": "123"}})
		_, err := e.pull(t)
		want := "org_id 123: not found on this instance (404 from GET /management/v1/orgs/me: Organisation not found (ZTEST-0rg404)); check org_id"
		if err == nil || err.Error() != want {
			t.Errorf("Fetch error = %v, want %s", err, want)
		}
	})
	t.Run("server ignores org header", func(t *testing.T) {
		tenant := zitadeltest.Generate(2, 5, 2)
		beta := tenant.AddOrg("Beta Corp", "beta.zitadel.cloud")
		e := newEnv(t, tenant, zitadeltest.Config{IgnoreOrgHeader: true}, idsnap.Source{Settings: map[string]string{"org_id": beta}})
		_, err := e.pull(t)
		if err == nil || !strings.Contains(err.Error(), "ignores the x-zitadel-orgid header (zitadel/zitadel#12482)") {
			t.Errorf("Fetch error = %v, want the ignored-header error", err)
		}
	})
	t.Run("lists answer for another org", func(t *testing.T) {
		// orgs/me honours the header, the lists do not: only the
		// resourceOwner check can tell.
		tenant := zitadeltest.Generate(2, 5, 2)
		beta := tenant.AddOrg("Beta Corp", "beta.zitadel.cloud")
		h := zitadeltest.NewHandler(tenant, zitadeltest.Config{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/_search") {
				r.Header.Del("x-zitadel-orgid")
			}
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		e := newEnv(t, tenant, zitadeltest.Config{}, idsnap.Source{BaseURL: srv.URL, Settings: map[string]string{"org_id": beta}})
		_, err := e.pull(t)
		if err == nil || !strings.Contains(err.Error(), "belongs to org "+tenant.Orgs()[0].ID+", not org "+beta) {
			t.Errorf("Fetch error = %v, want a resourceOwner mismatch", err)
		}
	})
}

func TestChangedMidPull(t *testing.T) {
	t.Run("grant moves between pages, retried", func(t *testing.T) {
		tenant := zitadeltest.Generate(3, 10, 1)
		p := tenant.Projects()[0].ID
		for i := range 150 {
			u := tenant.AddUser(zitadeltest.User{UserName: "g" + string(rune('a'+i%26)) + "x", DisplayName: "G"})
			tenant.AddGrant(u, p, tenant.Roles(p)[0].Key)
		}
		var once sync.Once
		cfg := zitadeltest.Config{MaxLimit: 100, BeforePage: func(path string, offset uint64) {
			if path == "/management/v1/users/grants/_search" && offset == 100 {
				// An update moves the first grant to the end: page 2
				// repeats it and one row is never seen.
				once.Do(func() { tenant.Touch(tenant.Grants()[0].ID) })
			}
		}}
		e := newEnv(t, tenant, cfg, idsnap.Source{})
		recs := e.mustPull(t)
		sameCounts(t, count(recs), want(tenant))
		if !strings.Contains(e.log.String(), "listing again") {
			t.Errorf("log = %q, want a retry", e.log.String())
		}
		// The second run emits only what the first did not: a grant
		// emitted again would read as a role held twice.
		if strings.Contains(e.log.String(), "same role through two grants") {
			t.Errorf("the retry emitted grants the first run had emitted (logged as a role held through two grants)")
		}
	})
	t.Run("keeps changing", func(t *testing.T) {
		tenant := zitadeltest.Generate(3, 250, 1)
		var mu sync.Mutex
		n := 0
		cfg := zitadeltest.Config{MaxLimit: 100, BeforePage: func(path string, offset uint64) {
			mu.Lock()
			defer mu.Unlock()
			if path == "/management/v1/users/_search" && offset == 100 {
				n++
				tenant.AddUser(zitadeltest.User{UserName: "late" + string(rune('a'+n)), DisplayName: "Late"})
			}
		}}
		e := newEnv(t, tenant, cfg, idsnap.Source{})
		_, err := e.pull(t)
		want := "list users: the tenant changed during the pull, twice (totalResult moved between pages: "
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Fetch error = %v, want prefix %q", err, want)
		}
	})
	t.Run("emitted row vanishes", func(t *testing.T) {
		tenant := zitadeltest.Generate(3, 250, 1)
		// A user without grants: removing one with grants also changes
		// the grants listing running alongside, which may then report
		// its own vanished row first.
		victim := tenant.AddUser(zitadeltest.User{UserName: "victim", DisplayName: "Victim"})
		n := 0
		var mu sync.Mutex
		cfg := zitadeltest.Config{MaxLimit: 100, BeforePage: func(path string, offset uint64) {
			mu.Lock()
			defer mu.Unlock()
			if path != "/management/v1/users/_search" {
				return
			}
			if offset == 100 && n == 0 {
				n++
				tenant.AddUser(zitadeltest.User{UserName: "late", DisplayName: "Late"})
			}
			if offset == 0 && n == 1 { // the second run
				n++
				tenant.RemoveUser(victim)
			}
		}}
		e := newEnv(t, tenant, cfg, idsnap.Source{})
		_, err := e.pull(t)
		want := "list users: the tenant changed during the pull: " + victim + " vanished while listing; pull again"
		if err == nil || err.Error() != want {
			t.Errorf("Fetch error = %v, want %s", err, want)
		}
	})
}
