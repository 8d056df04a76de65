package kinde_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/fetchtest"
	"github.com/idsnap/idsnap/fetch/kinde"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
)

// collector is an Emit that keeps records by kind and id and refuses a
// record emitted twice.
type collector struct {
	mu   sync.Mutex
	recs map[string]idsnap.Record
	dups []string
}

func key(kind idsnap.Kind, id string) string { return string(kind) + " " + id }

func (c *collector) emit(_ context.Context, r idsnap.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := key(r.Kind, r.ID)
	if _, dup := c.recs[k]; dup {
		c.dups = append(c.dups, k)
	}
	c.recs[k] = r
	return nil
}

func (c *collector) count(kind idsnap.Kind) int {
	n := 0
	for _, r := range c.recs {
		if r.Kind == kind {
			n++
		}
	}
	return n
}

// sleeps records the waits a client asked for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func newServer(t testing.TB, tenant *kindetest.Tenant, cfg kindetest.Config) *kindetest.Server {
	t.Helper()
	srv := kindetest.NewServer(tenant, cfg)
	t.Cleanup(srv.Close)
	return srv
}

func source(url string) idsnap.Source {
	return idsnap.Source{Name: "kinde-test", Provider: "kinde", BaseURL: url, Settings: map[string]string{"client_id": kindetest.DemoClientID}, Secrets: map[string]idsnap.Secret{"client_secret": kindetest.DemoClientSecret}}
}

func newFetcher(t testing.TB, src idsnap.Source, s *sleeps) fetch.Fetcher {
	t.Helper()
	if s == nil {
		s = &sleeps{}
	}
	c := fetch.NewClient(fetch.Options{RequestsPerSecond: 1e6, Sleep: s.sleep})
	f, err := kinde.New(src, c)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func pull(t testing.TB, f fetch.Fetcher) *collector {
	t.Helper()
	c := &collector{recs: map[string]idsnap.Record{}}
	if err := f.Fetch(context.Background(), c.emit); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if len(c.dups) > 0 {
		t.Fatalf("records emitted twice: %v", c.dups[:min(5, len(c.dups))])
	}
	return c
}

// model derives from the tenant itself the records a pull must give, each
// with a fingerprint of the attributes that matter, independently of the
// fetcher's code.
func model(tenant *kindetest.Tenant) map[string]string {
	m := map[string]string{}
	for _, id := range tenant.UserIDs() {
		u, _ := tenant.User(id)
		m[key(idsnap.KindUser, id)] = fmt.Sprint(u.Email, "|", u.FirstName, " ", u.LastName, "|", u.Suspended, "|", u.ProvidedID)
	}
	for _, code := range tenant.OrgCodes() {
		o, _ := tenant.Org(code)
		m[key(idsnap.KindResource, code)] = o.Name
		member := idsnap.EntitlementID(code, "member")
		m[key(idsnap.KindEntitlement, member)] = ""
		for _, mem := range tenant.Members(code) {
			m[key(idsnap.KindGrant, idsnap.GrantID(mem.UserID, member))] = ""
			for _, r := range mem.Roles {
				ent := idsnap.EntitlementID(code, "role:"+r)
				m[key(idsnap.KindEntitlement, ent)] = ""
				m[key(idsnap.KindGrant, idsnap.GrantID(mem.UserID, ent))] = ""
			}
		}
	}
	return m
}

func fingerprint(r idsnap.Record) string {
	switch r.Kind {
	case idsnap.KindUser:
		var raw struct {
			ProvidedID string `json:"provided_id"`
		}
		json.Unmarshal(r.Raw, &raw)
		return fmt.Sprint(r.Email, "|", r.Name, "|", r.Status == idsnap.StatusSuspended, "|", raw.ProvidedID)
	case idsnap.KindResource:
		return r.Name
	}
	return ""
}

// attrs is a record without its activity, as the store compares them.
func attrs(r idsnap.Record) string {
	r.Activity = nil
	b, _ := json.Marshal(r)
	return string(b)
}

// changes lists "+key", "-key", "~key" (attributes) and "@key" (activity
// only) between two pulls.
func changes(a, b map[string]idsnap.Record) []string {
	var out []string
	for k, ra := range a {
		rb, ok := b[k]
		switch {
		case !ok:
			out = append(out, "-"+k)
		case attrs(ra) != attrs(rb):
			out = append(out, "~"+k)
		case fmt.Sprint(ra.Activity) != fmt.Sprint(rb.Activity):
			out = append(out, "@"+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "+"+k)
		}
	}
	sort.Strings(out)
	return out
}

func modelChanges(a, b map[string]string) []string {
	var out []string
	for k, fa := range a {
		fb, ok := b[k]
		switch {
		case !ok:
			out = append(out, "-"+k)
		case fa != fb:
			out = append(out, "~"+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "+"+k)
		}
	}
	sort.Strings(out)
	return out
}

func checkModel(t *testing.T, tenant *kindetest.Tenant, got *collector) {
	t.Helper()
	want := model(tenant)
	if len(got.recs) != len(want) {
		t.Errorf("pull gave %d records, want %d", len(got.recs), len(want))
	}
	for k, fp := range want {
		r, ok := got.recs[k]
		if !ok {
			t.Errorf("missing %s", k)
			continue
		}
		if g := fingerprint(r); g != fp {
			t.Errorf("%s = %q, want %q", k, g, fp)
		}
	}
	for k := range got.recs {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s", k)
		}
	}
}

func TestPullMultiPage(t *testing.T) {
	tenant := kindetest.Generate(1, 1203, 23)
	srv := newServer(t, tenant, kindetest.Config{})
	got := pull(t, newFetcher(t, source(srv.URL), nil))
	checkModel(t, tenant, got)

	if n := got.count(idsnap.KindUser); n != 1203 {
		t.Errorf("users = %d, want 1203", n)
	}
	if n := got.count(idsnap.KindResource); n != 23 {
		t.Errorf("organizations = %d, want 23", n)
	}
	if n := srv.Faults.Count("/api/v1/users"); n != 3 {
		t.Errorf("user pages = %d, want 3 (1203 users at 500 a page)", n)
	}
	def := tenant.OrgCodes()
	var big string
	for _, c := range def {
		if len(tenant.Members(c)) > 500 {
			big = c
		}
	}
	if big == "" {
		t.Fatal("generated tenant has no organization with more than 500 members; the member paging is untested")
	}
	if n := srv.Faults.Count("/api/v1/organizations/" + big + "/users"); n < 2 {
		t.Errorf("member pages of %s = %d, want >= 2", big, n)
	}
	for _, req := range srv.Faults.Requests() {
		if strings.HasPrefix(req, "GET /api/v1/users") && !strings.Contains(req, "page_size=500") {
			t.Errorf("request %q does not ask for 500 a page", req)
		}
	}

	// Normalized fields, Raw and Activity of one user with every field.
	for _, id := range tenant.UserIDs() {
		u, _ := tenant.User(id)
		r := got.recs[key(idsnap.KindUser, id)]
		if r.Activity == nil {
			t.Fatalf("user %s has nil Activity; Kinde reports sign-ins", id)
		}
		if !r.Activity.LastSignIn.Equal(u.LastSignedIn) || r.Activity.SignIns != int64(u.TotalSignIns) || r.Activity.FailedSignIns != int64(u.FailedSignIns) {
			t.Errorf("user %s Activity = %+v, want %v/%d/%d", id, *r.Activity, u.LastSignedIn, u.TotalSignIns, u.FailedSignIns)
		}
		if !r.CreatedAt.Equal(u.CreatedOn) || r.ExternalID != u.ProvidedID || r.Username != u.Username || r.Type != idsnap.AccountHuman || r.EmailVerified != nil {
			t.Errorf("user %s = %+v, want created %v, external id %q, username %q, human, email_verified unknown", id, r, u.CreatedOn, u.ProvidedID, u.Username)
		}
		var raw map[string]any
		if err := json.Unmarshal(r.Raw, &raw); err != nil {
			t.Fatalf("user %s Raw: %v", id, err)
		}
		for _, k := range []string{"last_signed_in", "total_sign_ins", "failed_sign_ins", "last_organization_sign_ins"} {
			if _, ok := raw[k]; ok {
				t.Errorf("user %s Raw keeps activity field %s", id, k)
			}
		}
		if ids, _ := raw["identities"].([]any); len(ids) != len(u.Identities) {
			t.Errorf("user %s Raw identities = %v, want %d", id, raw["identities"], len(u.Identities))
		}
		if u.BillingCustomerID != "" && !bytes.Contains(r.Raw, []byte(u.BillingCustomerID)) {
			t.Errorf("user %s Raw lacks billing: %s", id, r.Raw)
		}
	}
	var never, suspended, roles int
	for _, r := range got.recs {
		switch {
		case r.Kind == idsnap.KindUser && r.Activity.LastSignIn.IsZero():
			never++
		case r.Kind == idsnap.KindUser && r.Status == idsnap.StatusSuspended:
			suspended++
		case r.Kind == idsnap.KindEntitlement && r.Name != "member":
			roles++
		}
	}
	if never == 0 || suspended == 0 || roles == 0 {
		t.Errorf("never signed in %d, suspended %d, role entitlements %d: want some of each", never, suspended, roles)
	}
}

func TestSecondPull(t *testing.T) {
	tenant := kindetest.Generate(2, 300, 8)
	srv := newServer(t, tenant, kindetest.Config{})
	f := newFetcher(t, source(srv.URL), nil)
	first := pull(t, f)
	before := model(tenant)

	ids, codes := tenant.UserIDs(), tenant.OrgCodes()
	// A leaver with memberships, a suspension, a new email, a new name.
	var leaver string
	for _, id := range ids {
		if len(orgsOf(tenant, id)) > 0 {
			leaver = id
			break
		}
	}
	must(t, tenant.RemoveUser(leaver))
	suspend := firstWhere(tenant, ids, func(u kindetest.User) bool { return !u.Suspended && u.ID != leaver })
	must(t, tenant.Suspend(suspend, true))
	must(t, tenant.SetEmail(ids[len(ids)-1], "new.address@example.com"))
	must(t, tenant.SetName(ids[len(ids)-2], "Zoë", "Østergaard"))
	// A joiner who joins an organization with a new role.
	tenant.AddUser(kindetest.User{ID: "kp_0000000000000000000000000000joined", Email: "joiner@example.com", FirstName: "Ngozi", LastName: "Okafor", CreatedOn: kindetest.Epoch})
	must(t, tenant.AddMember(codes[1], "kp_0000000000000000000000000000joined", "auditor"))
	// A membership ends, roles change, an organization appears and one goes.
	mems := tenant.Members(codes[2])
	must(t, tenant.RemoveMember(codes[2], mems[0].UserID))
	mems = tenant.Members(codes[3])
	must(t, tenant.SetMemberRoles(codes[3], mems[0].UserID, "owner", "billing"))
	tenant.AddOrg(kindetest.Org{Code: "org_00000000new", Name: "Nordlicht AB"})
	must(t, tenant.AddMember("org_00000000new", suspend))
	must(t, tenant.RemoveOrg(codes[len(codes)-1]))
	tenant.AddOrg(kindetest.Org{Code: codes[4], Name: "Renamed Ltd"})

	second := pull(t, f)
	checkModel(t, tenant, second)
	got, want := changes(first.recs, second.recs), modelChanges(before, model(tenant))
	if !slices.Equal(got, want) {
		t.Errorf("changes between pulls:\n got %q\nwant %q", got, want)
	}
	for _, w := range []string{
		"-user " + leaver, "~user " + suspend, "+user kp_0000000000000000000000000000joined",
		"+grant kp_0000000000000000000000000000joined|" + codes[1] + ":role:auditor",
		"+entitlement " + codes[1] + ":role:auditor", "+resource org_00000000new", "-resource " + codes[len(codes)-1],
		"~resource " + codes[4],
	} {
		if !slices.Contains(got, w) {
			t.Errorf("changes lack %q", w)
		}
	}
}

func orgsOf(tenant *kindetest.Tenant, id string) []string {
	var out []string
	for _, c := range tenant.OrgCodes() {
		for _, m := range tenant.Members(c) {
			if m.UserID == id {
				out = append(out, c)
			}
		}
	}
	return out
}

func firstWhere(tenant *kindetest.Tenant, ids []string, ok func(kindetest.User) bool) string {
	for _, id := range ids {
		if u, found := tenant.User(id); found && ok(u) {
			return id
		}
	}
	panic("no such user")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestLoginChangesOnlyActivity(t *testing.T) {
	tenant := kindetest.Generate(3, 120, 4)
	srv := newServer(t, tenant, kindetest.Config{})
	f := newFetcher(t, source(srv.URL), nil)
	first := pull(t, f)
	never := firstWhere(tenant, tenant.UserIDs(), func(u kindetest.User) bool { return u.LastSignedIn.IsZero() })
	at := kindetest.Epoch.Add(time.Hour)
	must(t, tenant.SignIn(never, at))
	second := pull(t, f)
	if got, want := changes(first.recs, second.recs), []string{"@user " + never}; !slices.Equal(got, want) {
		t.Errorf("changes after a sign-in = %q, want %q", got, want)
	}
	if a := second.recs[key(idsnap.KindUser, never)].Activity; !a.LastSignIn.Equal(at) || a.SignIns != 1 {
		t.Errorf("Activity = %+v, want last sign-in %v, 1 sign-in", a, at)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		fault    func(s *kindetest.Server)
		minSleep time.Duration
		retries  int
	}{
		{"429 with RateLimit-Reset", func(s *kindetest.Server) {
			h := map[string][]string{"Ratelimit-Reset": {"30"}, "Content-Type": {"application/json"}}
			s.Faults.FailNext("/api/v1/users", 2, 429, h, `{"errors":[{"code":"TOO_MANY_REQUESTS","message":"Too many requests"}]}`)
		}, 30 * time.Second, 2},
		{"5xx", func(s *kindetest.Server) {
			s.Faults.FailNext("/api/v1/organizations", 3, 502, nil, "bad gateway")
		}, 0, 3},
		{"connection reset", func(s *kindetest.Server) {
			// net/http itself retries a GET on a reused connection that
			// closes, so the client may not see the resets; the request
			// count below shows they happened.
			s.Faults.Add(fetchtest.Fault{Path: "/api/v1/organizations/", Times: 2, Hijack: true})
		}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant := kindetest.Generate(4, 40, 3)
			srv := newServer(t, tenant, kindetest.Config{})
			tt.fault(srv)
			s := &sleeps{}
			got := pull(t, newFetcher(t, source(srv.URL), s))
			checkModel(t, tenant, got)
			orgs := len(tenant.OrgCodes())
			if n := srv.Faults.Count("/api/v1/organizations/"); tt.name == "connection reset" && n != orgs+2 {
				t.Errorf("member requests = %d, want %d (one per organization, two of them again)", n, orgs+2)
			}
			if len(s.d) < tt.retries {
				t.Errorf("slept %d times, want >= %d retries", len(s.d), tt.retries)
			}
			for _, d := range s.d {
				if d < tt.minSleep {
					t.Errorf("slept %v, want >= %v (the reset header)", d, tt.minSleep)
				}
			}
		})
	}
}

func TestTokenRefresh(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tenant := kindetest.Generate(5, 30, 2)
	srv := newServer(t, tenant, kindetest.Config{TokenTTL: time.Hour, Now: clock})
	f := newFetcher(t, source(srv.URL), nil)
	pull(t, f)
	pull(t, f)
	if n := srv.Faults.Count("/oauth2/token"); n != 1 {
		t.Errorf("token requests = %d, want 1: a valid token is reused", n)
	}
	// The server's clock moves past expiry while the client still holds
	// the token: the API refuses it and the fetcher gets a new one.
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	checkModel(t, tenant, pull(t, f))
	if n := srv.Faults.Count("/oauth2/token"); n != 2 {
		t.Errorf("token requests = %d, want 2", n)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		src     func(s *idsnap.Source)
		wantErr string
	}{
		{"ok", func(s *idsnap.Source) {}, ""},
		{"trailing slash", func(s *idsnap.Source) { s.BaseURL += "/" }, ""},
		{"api v1 suffix", func(s *idsnap.Source) { s.BaseURL += "/api/v1/" }, ""},
		{"api suffix", func(s *idsnap.Source) { s.BaseURL += "/api" }, ""},
		{"no base_url", func(s *idsnap.Source) { s.BaseURL = "" }, "base_url is required: your Kinde domain, such as https://mybusiness.kinde.com"},
		{"relative", func(s *idsnap.Source) { s.BaseURL = "mybusiness.kinde.com" }, "base_url: not an absolute http(s) URL: write it as https://mybusiness.kinde.com"},
		{"ftp", func(s *idsnap.Source) { s.BaseURL = "ftp://x.kinde.com" }, "base_url: not an absolute http(s) URL: write it as https://mybusiness.kinde.com"},
		{"no client_id", func(s *idsnap.Source) { s.Settings["client_id"] = "" }, "client_id is required: the client ID of the Kinde M2M application"},
		{"no client_secret", func(s *idsnap.Source) { s.Secrets["client_secret"] = "" }, "client_secret is required: the client secret of the Kinde M2M application"},
	}
	tenant := kindetest.Generate(6, 3, 1)
	srv := newServer(t, tenant, kindetest.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := source(srv.URL)
			tt.src(&src)
			var logs bytes.Buffer
			c := fetch.NewClient(fetch.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			f, err := kinde.New(src, c)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("New = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(tt.name, "suffix") && !strings.Contains(logs.String(), "ignoring its suffix") {
				t.Errorf("no note logged for a base_url with an API suffix; log: %q", logs.String())
			}
			// The normalised URL works: no 404 from /api/v1/api/v1/users.
			pull(t, f)
		})
	}
}
