package zitadeltest

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

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
	const golden = "testdata/pages.golden"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("pages differ from %s (run with -update only if the change is meant):\n%s", golden, firstDiff(got, want))
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got %s\nwant %s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("got %d lines, want %d", len(g), len(w))
}
