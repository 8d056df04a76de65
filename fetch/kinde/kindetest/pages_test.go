package kindetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/idsnap/idsnap/internal/golden"
)

// pagesTenant is a small generated tenant (unicode names, identities,
// billing, roles) with a user whose strings JSON escapes.
func pagesTenant() *Tenant {
	tn := Generate(42, 30, 3)
	tn.AddUser(User{ID: "kp_ffffffffffffffffffffffffffffffff", Email: "odd<&>@example.com", FirstName: `Quo"te`,
		LastName: "Back\\slash\u2028", Picture: "https://example.com/a?b=1&c=2", CreatedOn: time.Date(2025, 2, 12, 18, 2, 23, 614638000, time.UTC),
		Identities: []Identity{{Type: "oauth2:google", Identity: "odd<&>@example.com", ConnectionID: "conn_<1>"}}, BillingCustomerID: "cus_<&>"})
	tn.addMember(tn.OrgCodes()[0], "kp_ffffffffffffffffffffffffffffffff", time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC), []string{"admin", "<viewer>"})
	return tn
}

// pageWalk fetches every page of every listing the fake serves, with each
// expansion of users, 4 rows a page, and returns the answers, each after a
// line naming its request.
func pageWalk(t *testing.T, base, tok string, tn *Tenant) []byte {
	t.Helper()
	b, err := walkPages(base, tok, tn)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func walkPages(base, tok string, tn *Tenant) ([]byte, error) {
	var out bytes.Buffer
	walk := func(path string, q url.Values) error {
		q.Set("page_size", "4")
		for {
			req, _ := http.NewRequest(http.MethodGet, base+path+"?"+q.Encode(), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s %s: %d %v %s", path, q.Encode(), resp.StatusCode, err, body)
			}
			fmt.Fprintf(&out, "### GET %s?%s (%s, %s bytes)\n%s\n", path, q.Encode(), resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"), body)
			var next struct {
				NextToken *string `json:"next_token"`
			}
			if err := json.Unmarshal(body, &next); err != nil {
				return fmt.Errorf("GET %s %s: %w", path, q.Encode(), err)
			}
			if next.NextToken == nil {
				return nil
			}
			q.Set("next_token", *next.NextToken)
		}
	}
	for _, expand := range []string{"", "identities", "billing", "identities,billing", "organizations", "organizations,identities,billing"} {
		q := url.Values{}
		if expand != "" {
			q.Set("expand", expand)
		}
		if err := walk("/api/v1/users", q); err != nil {
			return nil, err
		}
	}
	if err := walk("/api/v1/organizations", url.Values{}); err != nil {
		return nil, err
	}
	for _, code := range tn.OrgCodes() {
		if err := walk("/api/v1/organizations/"+code+"/users", url.Values{}); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

func accessToken(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.PostForm(base+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoClientID},
		"client_secret": {DemoClientSecret}, "audience": {base + "/api"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// TestPagesGolden pins the bytes of every listing: the golden file was
// written by the fake before rows were cached.
func TestPagesGolden(t *testing.T) {
	tn := pagesTenant()
	srv := NewServer(tn, Config{})
	defer srv.Close()
	got := pageWalk(t, srv.URL, accessToken(t, srv.URL), tn)
	const path = "testdata/pages.golden"
	if want, err := os.ReadFile(path); err == nil && !golden.Updating() && !bytes.Equal(got, want) {
		t.Fatalf("%s differs (-update rewrites it only if the change is meant):\n%s", path, golden.FirstDiff(got, want))
	}
	golden.Check(t, path, got)
}

// dropRows forgets every cached row, so the next listing encodes each row
// afresh, until restore puts the forgotten rows back.
func (t *Tenant) dropRows() (restore func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var back []func()
	for _, u := range t.users {
		forget(&back, &u.rows)
	}
	for _, o := range t.orgs {
		for _, m := range o.members {
			forget(&back, &m.row)
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

// TestCachedPagesFollowMutations walks every listing with the rows cached
// before each kind of mutation, and compares it with the walk after every
// cached row was dropped: a stale row fails here.
func TestCachedPagesFollowMutations(t *testing.T) {
	tn := pagesTenant()
	srv := NewServer(tn, Config{})
	defer srv.Close()
	tok := accessToken(t, srv.URL)
	ids, codes := tn.UserIDs(), tn.OrgCodes()
	member := tn.Members(codes[0])[0].UserID
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name   string
		mutate func()
	}{
		{"Suspend", func() { must(tn.Suspend(member, true)) }},
		{"SetEmail", func() { must(tn.SetEmail(member, "new<&>@example.com")) }},
		{"SetName", func() { must(tn.SetName(member, "Renamed", "Member")) }},
		{"SignIn", func() { must(tn.SignIn(member, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))) }},
		{"AddUser replacing", func() {
			u, _ := tn.User(member)
			u.FirstName, u.BillingCustomerID, u.Identities = "Replaced", "", nil
			tn.AddUser(u)
		}},
		{"AddUser", func() { tn.AddUser(User{ID: "kp_00000000000000000000000000000000", FirstName: "First"}) }},
		{"AddMember", func() {
			must(tn.addMember(codes[1], "kp_00000000000000000000000000000000", time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC), []string{"viewer"}))
		}},
		{"AddMember again", func() { must(tn.AddMember(codes[0], member, "owner")) }},
		{"SetMemberRoles", func() { must(tn.SetMemberRoles(codes[0], member)) }},
		{"RemoveMember", func() { must(tn.RemoveMember(codes[0], member)) }},
		{"RemoveUser", func() { must(tn.RemoveUser(ids[3])) }},
		{"AddOrg renaming", func() { o, _ := tn.Org(codes[1]); o.Name = "Renamed <Org>"; tn.AddOrg(o) }},
		{"RemoveOrg", func() { must(tn.RemoveOrg(codes[2])) }},
	}
	before := pageWalk(t, srv.URL, tok, tn)
	for _, st := range steps {
		st.mutate()
		got := pageWalk(t, srv.URL, tok, tn)
		restore := tn.dropRows()
		want := pageWalk(t, srv.URL, tok, tn)
		restore()
		if !bytes.Equal(got, want) {
			t.Fatalf("after %s, the cache serves stale rows:\n%s", st.name, golden.FirstDiff(got, want))
		}
		if bytes.Equal(got, before) {
			t.Errorf("after %s, the pages did not change", st.name)
		}
		before = got
	}
}

// TestRowCacheKeepsUnchangedRows checks the cache does its job: after a
// rename, only the renamed user's rows are encoded again.
func TestRowCacheKeepsUnchangedRows(t *testing.T) {
	tn := pagesTenant()
	srv := NewServer(tn, Config{})
	defer srv.Close()
	tok := accessToken(t, srv.URL)
	cached := func() map[any]*byte {
		tn.mu.RLock()
		defer tn.mu.RUnlock()
		tn.rowsMu.Lock()
		defer tn.rowsMu.Unlock()
		m := make(map[any]*byte)
		for _, u := range tn.users {
			for i, r := range u.rows {
				if len(r.json) > 0 {
					m[[2]any{u, i}] = &r.json[0]
				}
			}
		}
		for _, o := range tn.orgs {
			for _, mb := range o.members {
				if len(mb.row.json) > 0 {
					m[mb] = &mb.row.json[0]
				}
			}
		}
		return m
	}
	pageWalk(t, srv.URL, tok, tn)
	before := cached()
	renamed := tn.Members(tn.OrgCodes()[0])[0].UserID
	if err := tn.SetName(renamed, "Renamed", "User"); err != nil {
		t.Fatal(err)
	}
	pageWalk(t, srv.URL, tok, tn)
	after := cached()
	// every user in the four cached expansions, and every membership
	if want := 4*len(tn.UserIDs()) + 1; len(before) < want || len(after) != len(before) {
		t.Fatalf("%d rows cached before the rename, %d after; want at least %d", len(before), len(after), want)
	}
	var again int
	for k, b := range after {
		changed := b != before[k]
		var want bool
		switch k := k.(type) {
		case [2]any:
			want = k[0].(*User).ID == renamed
		case *Member:
			want = k.UserID == renamed
		}
		if changed != want {
			t.Errorf("%v: encoded again %t, want %t", k, changed, want)
		}
		if changed {
			again++
		}
	}
	if again < 5 {
		t.Errorf("%d rows encoded again after renaming a member, want its 4 user rows and its memberships", again)
	}
}

// TestPagesWhileChanging lists from several clients while the tenant
// changes, for the race detector: listings keep rows under the read lock.
func TestPagesWhileChanging(t *testing.T) {
	tn := pagesTenant()
	srv := NewServer(tn, Config{})
	defer srv.Close()
	tok := accessToken(t, srv.URL)
	ids := tn.UserIDs()
	errs := make(chan error)
	for range 3 {
		go func() {
			_, err := walkPages(srv.URL, tok, tn)
			errs <- err
		}()
	}
	for i, id := range ids {
		if err := tn.SetName(id, "Changing", fmt.Sprint(i)); err != nil {
			t.Error(err)
		}
		tn.User(id)
		tn.Members(tn.OrgCodes()[0])
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
