package orytest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/idsnap/idsnap/fetch/ory"
	"github.com/idsnap/idsnap/fetch/ory/orytest"
)

const testdata = "../testdata"

// captured is one real Kratos response from testdata/samples.
type captured struct {
	status int
	header http.Header
	body   []byte
}

func loadCaptured(tb testing.TB, name string) captured {
	tb.Helper()
	f, err := os.Open(filepath.Join(testdata, "samples", name+".headers"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	c := captured{header: http.Header{}}
	sc := bufio.NewScanner(f)
	sc.Scan()
	c.status, _ = strconv.Atoi(strings.Fields(sc.Text())[1])
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			c.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	for _, ext := range []string{".json", ".body"} {
		if b, err := os.ReadFile(filepath.Join(testdata, "samples", name+ext)); err == nil {
			c.body = b
		}
	}
	return c
}

// nonNilUUID matches page tokens and ids, which differ between the
// captured tenant and a generated one; the nil UUID (first page) stays.
var nonNilUUID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func normLink(s string) string {
	return nonNilUUID.ReplaceAllStringFunc(s, func(u string) string {
		if u == "00000000-0000-0000-0000-000000000000" {
			return u
		}
		return "<uuid>"
	})
}

func get(tb testing.TB, h http.Handler, method, target string) *http.Response {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Result()
}

func body(tb testing.TB, r *http.Response) []byte {
	tb.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestLikeKratos sends the captured requests to a fake of the same size
// (250 identities) and compares status, headers, Link shape, page sizes,
// and error bodies byte for byte.
func TestLikeKratos(t *testing.T) {
	tenant := orytest.Generate(1, 250)
	h := orytest.NewHandler(tenant, orytest.Config{})
	ids := tenant.IDs()
	tests := []struct {
		sample, method, target string
		items                  int  // -1: not a list
		exactBody              bool // errors: the same bytes
	}{
		{"list_p1", "GET", "/admin/identities?page_size=100", 100, false},
		{"list_p2", "GET", "/admin/identities?page_size=100&page_token=" + ids[99], 100, false},
		{"list_p3", "GET", "/admin/identities?page_size=100&page_token=" + ids[199], 50, false},
		{"default_nosize", "GET", "/admin/identities", 250, false},
		{"size_1000", "GET", "/admin/identities?page_size=1000", 250, false},
		{"size_0", "GET", "/admin/identities?page_size=0", 250, false},
		{"size_0", "GET", "/admin/identities?page_size=-3", 250, false},
		{"per_page_only", "GET", "/admin/identities?per_page=100", 100, false},
		{"noadmin_prefix", "GET", "/identities?page_size=2", 2, false},
		{"token_ffff", "GET", "/admin/identities?page_size=100&page_token=ffffffff-ffff-ffff-ffff-ffffffffffff", 0, true},
		{"filter_email", "GET", "/admin/identities?credentials_identifier=user0084%40example.com", 0, false},
		{"legacy_page0", "GET", "/admin/identities?page=0&per_page=100", 100, false},
		{"legacy_page1", "GET", "/admin/identities?page=1&per_page=100", 100, false},
		{"legacy_page2", "GET", "/admin/identities?page=2&per_page=100", 50, false},
		{"size_abc", "GET", "/admin/identities?page_size=abc", -1, true},
		{"token_garbage", "GET", "/admin/identities?page_token=garbage", -1, true},
		{"token_garbage", "GET", "/admin/identities?page_token=" + ids[5][:20], -1, true},
		{"legacy_toolarge", "GET", "/admin/identities?page=200&per_page=500", -1, true},
		{"filter_badid", "GET", "/admin/identities?ids=nope", -1, true},
		{"filter_combo", "GET", "/admin/identities?ids=" + ids[0] + "&credentials_identifier=a%40b.c", -1, true},
		{"route_404", "GET", "/nope", -1, true},
		{"trailing_slash", "GET", "/admin/identities/", -1, true},
		{"method_not_allowed", "PUT", "/admin/identities", -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.sample+" "+tt.target, func(t *testing.T) {
			want := loadCaptured(t, tt.sample)
			resp := get(t, h, tt.method, tt.target)
			got := body(t, resp)
			if resp.StatusCode != want.status {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, want.status, got)
			}
			for k := range want.header {
				switch k {
				case "Date", "Content-Length", "Transfer-Encoding":
					continue
				case "Link":
					if g, w := normLink(resp.Header.Get(k)), normLink(want.header.Get(k)); g != w {
						t.Errorf("Link\n got %s\nwant %s", g, w)
					}
					continue
				}
				if g, w := resp.Header.Values(k), want.header.Values(k); !slices.Equal(g, w) {
					t.Errorf("header %s = %q, want %q", k, g, w)
				}
			}
			if _, extra := resp.Header["Link"]; extra && want.header.Get("Link") == "" {
				t.Errorf("Link %q where Kratos sends none", resp.Header.Get("Link"))
			}
			if tt.exactBody && string(got) != string(want.body) {
				t.Errorf("body\n got %q\nwant %q", got, want.body)
			}
			if tt.items >= 0 {
				var list []json.RawMessage
				if err := json.Unmarshal(got, &list); err != nil {
					t.Fatalf("body is not an array: %v", err)
				}
				if len(list) != tt.items {
					t.Errorf("items = %d, want %d", len(list), tt.items)
				}
			}
		})
	}
}

// TestKeysetWalk: following rel="next" visits every identity once, in id
// order, and the token is the last id of the page.
func TestKeysetWalk(t *testing.T) {
	tenant := orytest.Generate(2, 1234)
	h := orytest.NewHandler(tenant, orytest.Config{})
	var seen []string
	next := "/admin/identities?page_size=500"
	pages := 0
	for next != "" {
		resp := get(t, h, "GET", next)
		var list []struct{ ID string }
		if err := json.Unmarshal(body(t, resp), &list); err != nil {
			t.Fatal(err)
		}
		for _, x := range list {
			seen = append(seen, x.ID)
		}
		next = ory.NextURL(resp.Header.Values("Link")...)
		if next != "" && !strings.HasSuffix(next, "page_token="+seen[len(seen)-1]) {
			t.Errorf("next = %q, want the last id as token", next)
		}
		pages++
	}
	if pages != 3 || !slices.Equal(seen, tenant.IDs()) {
		t.Errorf("walk: %d pages, %d ids (sorted %v), want 3 pages of all %d in order", pages, len(seen), slices.IsSorted(seen), tenant.Len())
	}
}

// TestIdentityShape: a generated identity has the captured identity's
// keys, in the same order.
func TestIdentityShape(t *testing.T) {
	tenant := orytest.Generate(3, 200)
	resp := get(t, orytest.NewHandler(tenant, orytest.Config{}), "GET", "/admin/identities?page_size=200")
	var list []json.RawMessage
	if err := json.Unmarshal(body(t, resp), &list); err != nil {
		t.Fatal(err)
	}
	var withExt json.RawMessage
	for _, x := range list {
		if strings.Contains(string(x), `"external_id"`) && strings.Contains(string(x), `"verified_at"`) {
			withExt = x
			break
		}
	}
	if withExt == nil {
		t.Fatal("no generated identity with external_id and a verified address")
	}
	var examples map[string]json.RawMessage
	b, err := os.ReadFile(filepath.Join(testdata, "samples", "identity_examples_from_list.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &examples); err != nil {
		t.Fatal(err)
	}
	if g, w := keys(t, withExt), keys(t, examples["user0084@example.com"]); !slices.Equal(g, w) {
		t.Errorf("keys = %q, want %q", g, w)
	}
}

// keys lists an object's keys in document order.
func keys(tb testing.TB, raw json.RawMessage) []string {
	tb.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.Token() // {
	var out []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// TestGenerate: deterministic, and as varied as documented.
func TestGenerate(t *testing.T) {
	a, b := orytest.Generate(11, 500), orytest.Generate(11, 500)
	ha, hb := orytest.NewHandler(a, orytest.Config{}), orytest.NewHandler(b, orytest.Config{})
	ba := body(t, get(t, ha, "GET", "/admin/identities?page_size=500"))
	if bb := body(t, get(t, hb, "GET", "/admin/identities?page_size=500")); string(ba) != string(bb) {
		t.Fatal("Generate(11, 500) differs between calls")
	}
	if c := body(t, get(t, orytest.NewHandler(orytest.Generate(12, 500), orytest.Config{}), "GET", "/admin/identities?page_size=500")); string(c) == string(ba) {
		t.Fatal("Generate ignores its seed")
	}
	var list []struct {
		State      string          `json:"state"`
		ExternalID string          `json:"external_id"`
		Traits     json.RawMessage `json:"traits"`
		Meta       json.RawMessage `json:"metadata_public"`
		Org        *string         `json:"organization_id"`
		Addrs      []struct {
			Verified bool `json:"verified"`
		} `json:"verifiable_addresses"`
	}
	if err := json.Unmarshal(ba, &list); err != nil {
		t.Fatal(err)
	}
	var inactive, ext, verified, unverified, meta, org, unicode, noName int
	for _, x := range list {
		if x.State == "inactive" {
			inactive++
		}
		if x.ExternalID != "" {
			ext++
		}
		if x.Addrs[0].Verified {
			verified++
		} else {
			unverified++
		}
		if string(x.Meta) != "null" {
			meta++
		}
		if x.Org != nil {
			org++
		}
		if strings.ContainsFunc(string(x.Traits), func(r rune) bool { return r > 127 }) {
			unicode++
		}
		if !strings.Contains(string(x.Traits), `"name"`) {
			noName++
		}
	}
	for name, n := range map[string]int{"inactive": inactive, "external_id": ext, "verified": verified, "unverified": unverified,
		"metadata": meta, "organization": org, "unicode name": unicode, "no name": noName} {
		if n == 0 || n == len(list) {
			t.Errorf("%s: %d of %d, want some but not all", name, n, len(list))
		}
	}
}

func TestAuth(t *testing.T) {
	h := orytest.NewHandler(orytest.Generate(1, 2), orytest.Config{APIToken: "ory_apikey_good", ForeignTokens: []string{"ory_apikey_other"}})
	tests := []struct {
		auth   string
		status int
		body   string
	}{
		{"", 401, `{"error":{"code":401,"status":"Unauthorized","message":"The request could not be authorized"}}` + "\n"},
		{"Bearer nope", 401, `{"error":{"code":401,"status":"Unauthorized","message":"The request could not be authorized"}}` + "\n"},
		{"Bearer ory_apikey_other", 403, `{"error":{"code":403,"status":"Forbidden","reason":"This API key does not grant access to this project.","message":"The requested action was forbidden"}}` + "\n"},
		{"Bearer ory_apikey_good", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.auth, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/admin/identities", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || (tt.body != "" && rec.Body.String() != tt.body) {
				t.Errorf("%q: %d %s, want %d %s", tt.auth, rec.Code, rec.Body, tt.status, tt.body)
			}
		})
	}
}

// TestPublicPort: the public port's 307 matches the captured one.
func TestPublicPort(t *testing.T) {
	want := loadCaptured(t, "public_port_admin")
	resp := get(t, orytest.PublicHandler("http://127.0.0.1:4434"), "GET", "/admin/identities")
	got := body(t, resp)
	if resp.StatusCode != want.status || resp.Header.Get("Location") != want.header.Get("Location") ||
		resp.Header.Get("Content-Type") != want.header.Get("Content-Type") || string(got) != string(want.body) {
		t.Errorf("public port = %d %q %q %q\nwant %d %q %q %q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Content-Type"), got,
			want.status, want.header.Get("Location"), want.header.Get("Content-Type"), want.body)
	}
}

// TestTenantMutations: the mutators change what the list serves.
func TestTenantMutations(t *testing.T) {
	tenant := orytest.NewTenant(1)
	a := tenant.AddIdentity(orytest.Person("a@example.com", "Ana", "Silva"))
	if err := tenant.SetState(a.ID, "blocked"); err == nil {
		t.Error("SetState(blocked) succeeded")
	}
	steps := []struct {
		name string
		do   func() error
		want func(orytest.Identity) bool
	}{
		{"state", func() error { return tenant.SetState(a.ID, "inactive") }, func(i orytest.Identity) bool { return i.State == "inactive" && !i.StateChangedAt.IsZero() }},
		{"email", func() error { return tenant.SetEmail(a.ID, "b@example.com", false) }, func(i orytest.Identity) bool {
			return strings.Contains(string(i.Traits), `"b@example.com"`) && len(i.VerifiableAddresses) == 1 && i.VerifiableAddresses[0].Value == "b@example.com" && i.RecoveryAddresses[0].Value == "b@example.com"
		}},
		{"verified", func() error { return tenant.SetVerified(a.ID, "b@example.com", true) }, func(i orytest.Identity) bool {
			return i.VerifiableAddresses[0].Verified && i.VerifiableAddresses[0].Status == "completed"
		}},
		{"name", func() error { return tenant.SetName(a.ID, "Åsa", "Öztürk") }, func(i orytest.Identity) bool { return strings.Contains(string(i.Traits), `"first":"Åsa"`) }},
		{"traits", func() error {
			return tenant.SetTraits(a.ID, json.RawMessage(`{"email":"b@example.com","username":"bee"}`))
		}, func(i orytest.Identity) bool { return strings.Contains(string(i.Traits), "bee") }},
		{"metadata", func() error { return tenant.SetMetadata(a.ID, json.RawMessage(`{"p":1}`), nil) }, func(i orytest.Identity) bool { return string(i.MetadataPublic) == `{"p":1}` && i.MetadataAdmin == nil }},
		{"external id", func() error { return tenant.SetExternalID(a.ID, "x-1") }, func(i orytest.Identity) bool { return i.ExternalID == "x-1" }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if i, _ := tenant.Identity(a.ID); !s.want(i) {
			t.Errorf("%s: identity = %+v", s.name, i)
		}
	}
	if !tenant.DeleteIdentity(a.ID) || tenant.DeleteIdentity(a.ID) || tenant.Len() != 0 {
		t.Error("DeleteIdentity did not remove exactly once")
	}
	if err := tenant.SetState(a.ID, "active"); err == nil {
		t.Error("SetState on a deleted identity succeeded")
	}
}

// TestSpec validates the fake's answers against the Kratos OpenAPI spec:
// list bodies against components.responses.listIdentities, error bodies
// against errorGeneric.
func TestSpec(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(filepath.Join(testdata, "ory-kratos.json"))
	if err != nil {
		t.Fatalf("load spec: %v", err)
	}
	listSchema := doc.Components.Responses["listIdentities"].Value.Content.Get("application/json").Schema.Value
	errSchema := doc.Components.Schemas["errorGeneric"].Value
	op := doc.Paths.Find("/admin/identities").Get
	if op == nil || op.OperationID != "listIdentities" {
		t.Fatal("spec lacks GET /admin/identities")
	}

	tenant := orytest.Generate(4, 300)
	for i, id := range tenant.IDs()[:3] {
		// Cover the optional shapes too: no addresses, a string name.
		switch i {
		case 0:
			p, _ := tenant.Identity(id)
			p.VerifiableAddresses, p.RecoveryAddresses = nil, nil
			tenant.AddIdentity(p)
		case 1:
			must(t, tenant.SetTraits(id, json.RawMessage(`{"email":"s@example.com","name":"One String"}`)))
		}
	}
	h := orytest.NewHandler(tenant, orytest.Config{APIToken: "k"})
	tests := []struct {
		target, auth string
		schema       *openapi3.Schema
		status       int
	}{
		{"/admin/identities?page_size=500", "Bearer k", listSchema, 200},
		{"/admin/identities?page_size=abc", "Bearer k", errSchema, 400},
		{"/admin/identities?page_token=x", "Bearer k", errSchema, 400},
		{"/admin/identities?page=9&per_page=500", "Bearer k", errSchema, 400},
		{"/admin/identities", "", errSchema, 401},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.target, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			var v any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			if err := tt.schema.VisitJSON(v, openapi3.EnableFormatValidation()); err != nil {
				t.Errorf("response does not match the spec: %v", err)
			}
		})
	}

	// The schema does catch a broken identity.
	bad := []any{map[string]any{"id": "x", "schema_id": "default", "traits": map[string]any{}, "state": "frozen"}}
	if err := listSchema.VisitJSON(bad); err == nil {
		t.Error("spec accepted an identity without schema_url and with state frozen")
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// TestServerFaults: the Server's Faults sit in front of the handler.
func TestServerFaults(t *testing.T) {
	srv := orytest.NewServer(orytest.Generate(1, 5), orytest.Config{})
	defer srv.Close()
	srv.Faults.FailNext("/admin/identities", 1, 429, http.Header{"X-Ratelimit-Reset": {"3"}}, orytest.ErrorBody(429, ""))
	for _, want := range []int{429, 200} {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", srv.URL+"/admin/identities", nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("status = %d, want %d", resp.StatusCode, want)
		}
	}
	if got := srv.Faults.Count("/admin/identities"); got != 2 {
		t.Errorf("Count = %d, want 2", got)
	}
}

// TestUnencodable: a page the fake cannot encode (traits that are not
// JSON) is a 500 with the error envelope, not a partial page.
func TestUnencodable(t *testing.T) {
	tenant := orytest.NewTenant(1)
	tenant.AddIdentity(orytest.Identity{Traits: json.RawMessage(`{"email":`)})
	resp := get(t, orytest.NewHandler(tenant, orytest.Config{}), "GET", "/admin/identities")
	if b := body(t, resp); resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(b), `"code":500`) {
		t.Errorf("GET = %d %s, want 500 with the error envelope", resp.StatusCode, b)
	}
	if l := resp.Header.Get("Link"); l != "" {
		t.Errorf("Link %q on an error", l)
	}
}
