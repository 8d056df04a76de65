package kindetest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

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
	var out bytes.Buffer
	walk := func(path string, q url.Values) {
		q.Set("page_size", "4")
		for {
			req, _ := http.NewRequest(http.MethodGet, base+path+"?"+q.Encode(), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s %s: %d %v %s", path, q.Encode(), resp.StatusCode, err, body)
			}
			fmt.Fprintf(&out, "### GET %s?%s (%s, %s bytes)\n%s\n", path, q.Encode(), resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"), body)
			var next struct {
				NextToken *string `json:"next_token"`
			}
			if err := json.Unmarshal(body, &next); err != nil {
				t.Fatal(err)
			}
			if next.NextToken == nil {
				return
			}
			q.Set("next_token", *next.NextToken)
		}
	}
	for _, expand := range []string{"", "identities", "billing", "identities,billing", "organizations", "organizations,identities,billing"} {
		q := url.Values{}
		if expand != "" {
			q.Set("expand", expand)
		}
		walk("/api/v1/users", q)
	}
	walk("/api/v1/organizations", url.Values{})
	for _, code := range tn.OrgCodes() {
		walk("/api/v1/organizations/"+code+"/users", url.Values{})
	}
	return out.Bytes()
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
