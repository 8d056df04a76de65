package zitadeltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/idsnap/idsnap/internal/golden"
)

// pagesTenant is a small tenant with two orgs, users of both kinds, a name
// that JSON escapes (<, & and a quote) and grants across orgs.
func pagesTenant() (*Tenant, string) {
	tn := Generate(42, 40, 4)
	other := tn.AddOrg("Other <&> Corp", "other.zitadel.cloud")
	p := tn.AddProject(Project{OrgID: other, Name: `Side "Project"`, RoleCheck: true})
	tn.AddRole(p, "ops", "Ops & <on-call>", "Side")
	u := tn.AddUser(User{OrgID: other, UserName: "zoe", FirstName: "Zoë", LastName: "O'Neil",
		DisplayName: "Zoë <O'Neil>", Email: "zoe@other.example", Phone: "+41 79 000 00 00"})
	tn.AddGrant(u, p, "ops")
	tn.AddGrant(tn.Users()[0].ID, p, "ops")
	return tn, other
}

// pageRequest is one listing call of the page walk.
type pageRequest struct {
	method, path, org, body string
}

// pageRequests lists every listing the fake serves, with each sorting
// column, both directions, paging and the grant queries.
func pageRequests(tn *Tenant, other string) []pageRequest {
	var rs []pageRequest
	add := func(path, org, body string) { rs = append(rs, pageRequest{http.MethodPost, path, org, body}) }
	rs = append(rs, pageRequest{http.MethodGet, "/management/v1/orgs/me", "", ""},
		pageRequest{http.MethodGet, "/management/v1/orgs/me", other, ""})
	for _, org := range []string{"", other} {
		for _, col := range []string{"", "USER_FIELD_NAME_UNSPECIFIED", "USER_FIELD_NAME_USER_NAME", "USER_FIELD_NAME_EMAIL",
			"USER_FIELD_NAME_DISPLAY_NAME", "USER_FIELD_NAME_CREATION_DATE"} {
			for _, asc := range []bool{false, true} {
				add("/management/v1/users/_search", org, fmt.Sprintf(`{"query":{"offset":"3","limit":7,"asc":%t},"sortingColumn":%q}`, asc, col))
			}
		}
		add("/management/v1/users/_search", org, `{}`)
		add("/management/v1/users/_search", org, `{"query":{"offset":"1000"}}`)
		add("/management/v1/projects/_search", org, `{}`)
		add("/management/v1/projects/_search", org, `{"query":{"offset":"1","limit":"2"}}`)
		add("/management/v1/users/grants/_search", org, `{}`)
		add("/management/v1/users/grants/_search", org, `{"query":{"offset":"5","limit":10}}`)
	}
	for _, p := range tn.Projects() {
		org := ""
		if p.OrgID == other {
			org = other
		}
		add("/management/v1/projects/"+p.ID+"/roles/_search", org, `{}`)
		add("/management/v1/projects/"+p.ID+"/roles/_search", org, `{"query":{"offset":"1","limit":"2"}}`)
		add("/management/v1/users/grants/_search", org, fmt.Sprintf(`{"queries":[{"projectIdQuery":{"projectId":%q}}]}`, p.ID))
	}
	u := tn.Users()[1]
	add("/management/v1/users/grants/_search", "", fmt.Sprintf(`{"queries":[{"userIdQuery":{"userId":%q}}]}`, u.ID))
	add("/admin/v1/orgs/_search", "", `{}`)
	add("/admin/v1/orgs/_search", "", `{"query":{"asc":true},"sortingColumn":"ORG_FIELD_NAME_NAME"}`)
	return rs
}

// servePages answers every request of rs with h and returns the answers,
// each after a line naming its request.
func servePages(t *testing.T, h http.Handler, rs []pageRequest) []byte {
	t.Helper()
	var out bytes.Buffer
	for _, pr := range rs {
		req := httptest.NewRequest(pr.method, pr.path, strings.NewReader(pr.body))
		req.Header.Set("Authorization", "Bearer "+DefaultPAT)
		if pr.org != "" {
			req.Header.Set("x-zitadel-orgid", pr.org)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s %s %s: %d %s", pr.method, pr.path, pr.body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want application/json", pr.method, pr.path, ct)
		}
		fmt.Fprintf(&out, "### %s %s org=%q %s\n", pr.method, pr.path, pr.org, pr.body)
		out.Write(rec.Body.Bytes())
	}
	return out.Bytes()
}

// TestPagesGolden pins the bytes of every listing: the golden file was
// written by the fake before rows were cached, so a page assembled from
// cached rows must equal what encoding/json made of the whole answer.
func TestPagesGolden(t *testing.T) {
	tn, other := pagesTenant()
	got := servePages(t, NewHandler(tn, Config{}), pageRequests(tn, other))
	const path = "testdata/pages.golden"
	if want, err := os.ReadFile(path); err == nil && !golden.Updating() && !bytes.Equal(got, want) {
		t.Fatalf("%s differs (-update rewrites it only if the change is meant):\n%s", path, golden.FirstDiff(got, want))
	}
	golden.Check(t, path, got)
}

// TestCachedPagesFollowMutations serves every listing with the rows cached
// before each kind of mutation, and compares it with the listing served
// after every cached row was dropped: a stale row fails here.
func TestCachedPagesFollowMutations(t *testing.T) {
	tn, other := pagesTenant()
	warm := NewHandler(tn, Config{})
	users, projects, grants := tn.Users(), tn.Projects(), tn.Grants()
	steps := []struct {
		name   string
		mutate func()
	}{
		{"SetName human", func() { tn.SetName(users[2].ID, "Renamed <Human>") }},
		{"SetName machine", func() {
			for _, u := range users {
				if u.Machine {
					tn.SetName(u.ID, "Renamed machine")
					return
				}
			}
			t.Fatal("no machine user")
		}},
		{"SetEmail", func() { tn.SetEmail(users[3].ID, "new@acme.example", false) }},
		{"SetUserState", func() { tn.SetUserState(users[4].ID, UserLocked) }},
		{"Touch user", func() { tn.Touch(users[5].ID) }},
		{"Touch project", func() { tn.Touch(projects[0].ID) }},
		{"Touch grant", func() { tn.Touch(grants[0].ID) }},
		{"RenameProject", func() { tn.RenameProject(projects[1].ID, "Renamed project") }},
		{"AddRole", func() { tn.AddRole(projects[2].ID, "auditor", "Auditor", "") }},
		{"RemoveRole", func() { tn.RemoveRole(projects[2].ID, tn.Roles(projects[2].ID)[0].Key) }},
		{"SetGrantRoles", func() {
			for _, g := range tn.Grants() {
				if g.ProjectID == projects[2].ID {
					tn.SetGrantRoles(g.ID, "auditor")
					return
				}
			}
			t.Fatal("no grant on the project")
		}},
		{"SetGrantState", func() { tn.SetGrantState(grants[2].ID, GrantInactive) }},
		{"RemoveGrant", func() { tn.RemoveGrant(grants[3].ID) }},
		{"RemoveUser", func() { tn.RemoveUser(users[6].ID) }},
		{"AddUser and AddGrant", func() {
			u := tn.AddUser(User{UserName: "late", FirstName: "Late", DisplayName: "Late Comer"})
			tn.AddGrant(u, projects[0].ID, tn.Roles(projects[0].ID)[0].Key)
		}},
		{"RemoveProject", func() { tn.RemoveProject(projects[3].ID) }},
		{"AddOrg", func() { tn.AddOrg("Third", "third.zitadel.cloud") }},
	}
	before := servePages(t, warm, pageRequests(tn, other))
	for _, st := range steps {
		st.mutate()
		rs := pageRequests(tn, other)
		got := servePages(t, warm, rs)
		restore := tn.dropRows()
		want := servePages(t, warm, rs)
		restore()
		if !bytes.Equal(got, want) {
			t.Fatalf("after %s, the warm cache serves stale rows:\n%s", st.name, golden.FirstDiff(got, want))
		}
		if bytes.Equal(got, before) {
			t.Errorf("after %s, the pages did not change", st.name)
		}
		before = got
	}
}

// TestCachedPagesMidPull changes the tenant between pages, as tests of the
// fetcher do with BeforePage: pages overlap, and each renames the first
// user of its page, whose row the page before cached, and flips a grant.
// Each page is compared with the same page with no row cached.
func TestCachedPagesMidPull(t *testing.T) {
	tn, _ := pagesTenant()
	users := tn.Users() // the first org's users first, in id order
	n := 0
	h := NewHandler(tn, Config{BeforePage: func(path string, offset uint64) {
		n++
		tn.SetName(users[offset].ID, fmt.Sprintf("Mid-pull %d", n))
		tn.SetGrantState(tn.Grants()[0].ID, []string{GrantActive, GrantInactive}[n%2])
	}})
	var rs []pageRequest
	for off := 0; off < 35; off += 3 {
		for _, path := range []string{"/management/v1/users/_search", "/management/v1/users/grants/_search"} {
			rs = append(rs, pageRequest{http.MethodPost, path, "", fmt.Sprintf(`{"query":{"offset":"%d","limit":5,"asc":true}}`, off)})
		}
	}
	fresh := NewHandler(tn, Config{})
	for i, r := range rs {
		got := servePages(t, h, rs[i:i+1])
		restore := tn.dropRows()
		want := servePages(t, fresh, rs[i:i+1])
		restore()
		if !bytes.Equal(got, want) {
			t.Fatalf("page %s %s after a mid-pull change is stale:\n%s", r.path, r.body, golden.FirstDiff(got, want))
		}
	}
}

// TestRowCacheKeepsUnchangedRows checks the cache does its job: after a
// rename, only the renamed user's row and its grants' rows are written
// again; every other row is served from the cache.
func TestRowCacheKeepsUnchangedRows(t *testing.T) {
	tn, other := pagesTenant()
	h := NewHandler(tn, Config{})
	serve := func() { servePages(t, h, pageRequests(tn, other)) }
	cached := func() map[any]*byte {
		tn.mu.Lock()
		defer tn.mu.Unlock()
		m := make(map[any]*byte)
		keep := func(k any, row []byte) {
			if len(row) > 0 {
				m[k] = &row[0]
			}
		}
		for _, u := range tn.users {
			keep(u, u.row.json)
		}
		for _, g := range tn.grants {
			keep(g, g.row.json)
		}
		for _, p := range tn.projects {
			keep(p, p.row.json)
			for _, r := range p.roles {
				keep(r, r.row.json)
			}
		}
		return m
	}
	serve()
	before := cached()
	renamed := tn.Users()[2].ID
	tn.SetName(renamed, "Renamed")
	serve()
	after := cached()
	if n := len(tn.Users()) + len(tn.Grants()); len(before) < n || len(after) != len(before) {
		t.Fatalf("%d rows cached before the rename, %d after; want every user's and grant's (%d) at least", len(before), len(after), n)
	}
	var again int
	for k, b := range after {
		changed := b != before[k]
		var want bool
		switch k := k.(type) {
		case *User:
			want = k.ID == renamed
		case *Grant:
			want = k.UserID == renamed
		}
		if changed != want {
			t.Errorf("%T %v: written again %t, want %t", k, k, changed, want)
		}
		if changed {
			again++
		}
	}
	if again < 2 {
		t.Errorf("%d rows written again after renaming a user with grants, want the user and its grants", again)
	}
}

// dropRows forgets every cached row, so the next listing writes each row
// afresh, until restore puts the forgotten rows back.
func (t *Tenant) dropRows() (restore func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var back []func()
	for _, u := range t.users {
		forget(&back, &u.row)
	}
	for _, g := range t.grants {
		forget(&back, &g.row)
	}
	for _, p := range t.projects {
		forget(&back, &p.row)
		for _, ro := range p.roles {
			forget(&back, &ro.row)
		}
	}
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, f := range back {
			f()
		}
	}
}

// forget zeroes *p and adds to back what puts it back.
func forget[T any](back *[]func(), p *T) {
	old := *p
	*back = append(*back, func() { *p = old })
	var zero T
	*p = zero
}

// TestRowsMatchShapes holds every hand-written row equal to encoding/json's
// encoding of its struct, for every object of a tenant whose strings need
// each kind of escaping.
func TestRowsMatchShapes(t *testing.T) {
	tn, _ := pagesTenant()
	odd := []string{"", "plain", `quo"te`, `back\slash`, "<b>&amp;</b>", "tab\tnew\nline\r\b\f\x01\x1f\x7f",
		"Zoë", "日本", "bad \xff utf-8", "line\u2028para\u2029", "emoji 🙂"}
	for i, s := range odd {
		u := tn.AddUser(User{UserName: "odd" + s, FirstName: s, LastName: s, NickName: s, DisplayName: s, Language: s,
			Email: s, EmailVerified: i%2 == 0, Phone: s})
		m := tn.AddUser(User{Machine: true, UserName: "m" + s, Name: s, Description: s})
		p := tn.AddProject(Project{Name: s, RoleAssertion: i%2 == 1, RoleCheck: i%3 == 0})
		tn.AddRole(p, "k"+s, s, s)
		tn.AddGrant(u, p, "k"+s)
		tn.AddGrant(m, p)
	}
	h := newHandler(tn, Config{})
	tn.mu.Lock()
	defer tn.mu.Unlock()
	check := func(what string, got []byte, v any) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", what, got, want)
		}
	}
	for _, u := range tn.users {
		check("user "+u.UserName, h.appendUser(nil, u), h.toUser(u))
	}
	for _, pr := range tn.projects {
		check("project "+pr.Name, appendProject(nil, pr), toProject(pr))
		for _, ro := range pr.roles {
			check("role "+ro.Key, appendRole(nil, ro, pr.OrgID), toRole(ro, pr.OrgID))
		}
	}
	for _, g := range tn.grants {
		u := tn.userIdx[g.UserID]
		_, pr := tn.project(g.ProjectID)
		uo := tn.org(u.OrgID)
		check("grant "+g.ID, appendGrant(nil, g, u, pr, uo), toGrant(g, u, pr, uo))
	}
}
