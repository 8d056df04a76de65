package ory_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/fetchtest"
	"github.com/idsnap/idsnap/fetch/ory"
	"github.com/idsnap/idsnap/fetch/ory/orytest"
)

// sleeps records the client's waits instead of waiting.
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

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

// newFetcher builds the fetcher of base with no real waits and no rate
// limit (speed is the benchmarks' business).
func newFetcher(tb testing.TB, base string, token idsnap.Secret) (*ory.Fetcher, *sleeps) {
	tb.Helper()
	s := &sleeps{}
	c := fetch.NewClient(fetch.Options{RequestsPerSecond: 1e6, Sleep: s.sleep, MaxAttempts: 4})
	f, err := ory.New(idsnap.Source{Name: "ory", Provider: "ory", BaseURL: base, Secrets: map[string]idsnap.Secret{"api_token": token}}, c)
	if err != nil {
		tb.Fatalf("New(%q) = %v", base, err)
	}
	return f.(*ory.Fetcher), s
}

// pull runs one Fetch and returns the records by id.
func pull(ctx context.Context, f fetch.Fetcher) (map[string]idsnap.Record, error) {
	var mu sync.Mutex
	recs := map[string]idsnap.Record{}
	err := f.Fetch(ctx, func(_ context.Context, r idsnap.Record) error {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := recs[r.ID]; dup {
			return fmt.Errorf("record %s emitted twice", r.ID)
		}
		recs[r.ID] = r
		return nil
	})
	return recs, err
}

func mustPull(tb testing.TB, f fetch.Fetcher) map[string]idsnap.Record {
	tb.Helper()
	recs, err := pull(context.Background(), f)
	if err != nil {
		tb.Fatalf("Fetch = %v", err)
	}
	return recs
}

func TestNew(t *testing.T) {
	c := fetch.NewClient(fetch.Options{})
	tests := []struct {
		name, base string
		token      idsnap.Secret
		err        string
	}{
		{"self-hosted without token", "http://127.0.0.1:4434", "", ""},
		{"network with token", "https://happy-cat.projects.oryapis.com", "ory_apikey_x", ""},
		{"path prefix", "https://gw.example/kratos", "", ""},
		{"missing", "", "", "base_url is required: the Admin API base, such as https://{slug}.projects.oryapis.com/ or http://127.0.0.1:4434/"},
		{"no scheme", "127.0.0.1:4434", "", "base_url: not an absolute http(s) URL: write it as https://{slug}.projects.oryapis.com/ or http://127.0.0.1:4434/"},
		{"ftp", "ftp://x.example/", "", "base_url: not an absolute http(s) URL: write it as https://{slug}.projects.oryapis.com/ or http://127.0.0.1:4434/"},
		{"relative", "/admin", "", "base_url: not an absolute http(s) URL: write it as https://{slug}.projects.oryapis.com/ or http://127.0.0.1:4434/"},
		{"query", "http://127.0.0.1:4434/?page_size=1", "", "base_url: must not hold a query or fragment: write it as https://{slug}.projects.oryapis.com/ or http://127.0.0.1:4434/"},
		{"user info", "https://u:p@x.example/", "", "base_url: must not hold credentials: put them in api_token"},
		{"network without token", "https://happy-cat.projects.oryapis.com/", "", "api_token is required for Ory Network (happy-cat.projects.oryapis.com); create a project API key in the Ory Console (Project settings → API keys)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ory.New(idsnap.Source{BaseURL: tt.base, Secrets: map[string]idsnap.Secret{"api_token": tt.token}}, c)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("New(%q) = %v, want no error", tt.base, err)
			case tt.err != "" && (err == nil || err.Error() != tt.err):
				t.Fatalf("New(%q) = %v, want %q", tt.base, err, tt.err)
			}
		})
	}
}

// TestBaseNormalised: a base without its trailing slash still lists
// admin/identities below its path.
func TestBaseNormalised(t *testing.T) {
	tenant := orytest.Generate(1, 3)
	mux := http.NewServeMux()
	mux.Handle("/kratos/", http.StripPrefix("/kratos", orytest.NewHandler(tenant, orytest.Config{})))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f, _ := newFetcher(t, srv.URL+"/kratos", "")
	if got := mustPull(t, f); len(got) != 3 {
		t.Fatalf("pull through /kratos = %d records, want 3", len(got))
	}
}

func TestPullPages(t *testing.T) {
	const n = 1203 // three pages of 500
	srv := orytest.NewServer(orytest.Generate(7, n), orytest.Config{})
	defer srv.Close()
	f, _ := newFetcher(t, srv.URL, "")
	recs := mustPull(t, f)
	if len(recs) != n {
		t.Fatalf("pulled %d records, want %d", len(recs), n)
	}
	reqs := srv.Faults.Requests()
	if len(reqs) != 3 {
		t.Fatalf("requests = %q, want 3 pages", reqs)
	}
	if reqs[0] != "GET /admin/identities?page_size=500" {
		t.Errorf("first request = %q", reqs[0])
	}
	for _, r := range reqs[1:] {
		if !strings.HasPrefix(r, "GET /admin/identities?page_size=500&page_token=") {
			t.Errorf("later request = %q, want the Link's next URL", r)
		}
	}
	for _, id := range srv.Tenant.IDs() {
		r, ok := recs[id]
		if !ok {
			t.Fatalf("identity %s not pulled", id)
		}
		if r.Kind != idsnap.KindUser || r.Type != idsnap.AccountHuman || r.Activity != nil || r.Source != "" {
			t.Fatalf("record %s = kind %q type %q activity %v source %q", id, r.Kind, r.Type, r.Activity, r.Source)
		}
	}
}

func TestRecord(t *testing.T) {
	tenant := orytest.NewTenant(1)
	created := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
	tenant.SetClock(func() time.Time { return created })
	full := tenant.AddIdentity(orytest.Identity{
		Traits:         json.RawMessage(`{"email":"zoe@example.com","name":{"first":"Zoë","last":"Müller"},"username":"zoe"}`),
		ExternalID:     "ext-1",
		OrganizationID: "7a5b1c6e-0000-4000-8000-000000000001",
		MetadataPublic: json.RawMessage(`{"plan":"pro"}`),
		MetadataAdmin:  json.RawMessage(`{"note":"a<b & c"}`),
	})
	if err := tenant.SetVerified(full.ID, "zoe@example.com", true); err != nil {
		t.Fatal(err)
	}
	plain := tenant.AddIdentity(orytest.Identity{State: "inactive", Traits: json.RawMessage(`{"email":"x@example.com","name":"  José García "}`)})
	noAddr := tenant.AddIdentity(orytest.Identity{Traits: json.RawMessage(`{"email":"bare@example.com"}`), RecoveryAddresses: []orytest.RecoveryAddress{{ID: tenant.NewID(), Value: "bare@example.com", Via: "email"}}})
	phone := tenant.AddIdentity(orytest.Identity{Traits: json.RawMessage(`{"phone":"+4915100000"}`), VerifiableAddresses: []orytest.VerifiableAddress{{ID: tenant.NewID(), Value: "+4915100000", Via: "sms", Verified: true, Status: "completed"}}})
	srv := orytest.NewServer(tenant, orytest.Config{})
	defer srv.Close()
	f, _ := newFetcher(t, srv.URL, "")
	recs := mustPull(t, f)

	yes, no := true, false
	tests := []struct {
		id   string
		want idsnap.Record
	}{
		{full.ID, idsnap.Record{Email: "zoe@example.com", EmailVerified: &yes, Username: "zoe", Name: "Zoë Müller", Status: idsnap.StatusActive, ExternalID: "ext-1"}},
		{plain.ID, idsnap.Record{Email: "x@example.com", EmailVerified: &no, Name: "José García", Status: idsnap.StatusInactive}},
		{noAddr.ID, idsnap.Record{Email: "bare@example.com", Status: idsnap.StatusActive}},
		{phone.ID, idsnap.Record{Status: idsnap.StatusActive}},
	}
	for _, tt := range tests {
		t.Run(tt.want.Email, func(t *testing.T) {
			got := recs[tt.id]
			tt.want.Kind, tt.want.ID, tt.want.Type, tt.want.CreatedAt = idsnap.KindUser, tt.id, idsnap.AccountHuman, created
			got.Raw = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("record = %+v\nwant     %+v", got, tt.want)
			}
		})
	}

	var raw map[string]any
	if err := json.Unmarshal(recs[full.ID].Raw, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "traits", "verifiable_addresses", "recovery_addresses", "metadata_public", "metadata_admin", "external_id", "organization_id", "created_at", "schema_id", "state", "state_changed_at"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("Raw lacks %s: %s", k, recs[full.ID].Raw)
		}
	}
	if _, ok := raw["updated_at"]; ok {
		t.Errorf("Raw keeps updated_at: %s", recs[full.ID].Raw)
	}
	if bytes.Contains(recs[full.ID].Raw, []byte(`"updated_at"`)) {
		t.Errorf("Raw keeps an address's updated_at: %s", recs[full.ID].Raw)
	}
}

// TestCredentialsDropped: a server that sends credentials anyway does not
// get them into Raw.
func TestCredentialsDropped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `[{"id":"a","schema_id":"default","schema_url":"x","state":"active","traits":{"email":"a@example.com","note":"a<b & c"},"credentials":{"password":{"type":"password","identifiers":["a@example.com"],"config":{"hashed_password":"$2a$10$xyz"}}},"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-02T00:00:00Z"}]`)
	}))
	defer srv.Close()
	f, _ := newFetcher(t, srv.URL, "")
	recs := mustPull(t, f)
	if raw := recs["a"].Raw; bytes.Contains(raw, []byte("credentials")) || bytes.Contains(raw, []byte("hashed")) {
		t.Errorf("Raw = %s, want no credentials", raw)
	}
	if raw := recs["a"].Raw; !bytes.Contains(raw, []byte(`"a<b & c"`)) {
		t.Errorf("Raw = %s, want HTML characters kept as sent", raw)
	}
	if got := recs["a"].Email; got != "a@example.com" {
		t.Errorf("Email = %q, want traits.email", got)
	}
}

// TestSecondPull: joiners, leavers, a deactivation and trait changes give
// exactly those differences; a write that only bumps updated_at (a user's
// own password change) gives none.
func TestSecondPull(t *testing.T) {
	tenant := orytest.Generate(42, 1100)
	srv := orytest.NewServer(tenant, orytest.Config{})
	defer srv.Close()
	f, _ := newFetcher(t, srv.URL, "")
	before := mustPull(t, f)

	ids := tenant.IDs()
	var active []string
	for _, id := range ids {
		if before[id].Status == idsnap.StatusActive {
			active = append(active, id)
		}
	}
	left := []string{ids[3], ids[700]}
	for _, id := range left {
		tenant.DeleteIdentity(id)
	}
	joined := []string{
		tenant.AddIdentity(orytest.Person("new.hire@example.com", "Ngozi", "Abara")).ID,
		tenant.AddIdentity(orytest.Person("zz@example.com", "", "")).ID,
	}
	deactivated, emailed, renamed, touched := active[10], active[20], active[600], active[30]
	must(t, tenant.SetState(deactivated, "inactive"))
	must(t, tenant.SetEmail(emailed, "moved@example.org", true))
	must(t, tenant.SetName(renamed, "Siobhán", "Ó Súilleabháin"))
	must(t, tenant.Touch(touched))

	after := mustPull(t, f)
	var gotJoined, gotLeft []string
	changed := map[string][]string{}
	for id, a := range after {
		b, ok := before[id]
		if !ok {
			gotJoined = append(gotJoined, id)
			continue
		}
		if fields := differences(b, a); len(fields) > 0 {
			changed[id] = fields
		}
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			gotLeft = append(gotLeft, id)
		}
	}
	slices.Sort(gotJoined)
	slices.Sort(gotLeft)
	slices.Sort(joined)
	slices.Sort(left)
	if !slices.Equal(gotJoined, joined) || !slices.Equal(gotLeft, left) {
		t.Errorf("joined %q left %q, want %q and %q", gotJoined, gotLeft, joined, left)
	}
	want := map[string][]string{
		deactivated: {"raw", "status"},
		emailed:     {"email", "raw"},
		renamed:     {"name", "raw"},
	}
	if before[emailed].EmailVerified != nil && !*before[emailed].EmailVerified {
		want[emailed] = []string{"email", "email_verified", "raw"}
	}
	if !reflect.DeepEqual(changed, want) {
		t.Errorf("changed = %v, want %v", changed, want)
	}
	if *after[emailed].EmailVerified != true || after[deactivated].Status != idsnap.StatusInactive || after[renamed].Name != "Siobhán Ó Súilleabháin" {
		t.Errorf("after: %+v %+v %+v", after[emailed], after[deactivated], after[renamed])
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// differences names the fields of two versions of a record that differ.
func differences(a, b idsnap.Record) []string {
	var out []string
	if a.Email != b.Email {
		out = append(out, "email")
	}
	if !reflect.DeepEqual(a.EmailVerified, b.EmailVerified) {
		out = append(out, "email_verified")
	}
	if a.ExternalID != b.ExternalID {
		out = append(out, "external_id")
	}
	if a.Name != b.Name {
		out = append(out, "name")
	}
	if !bytes.Equal(a.Raw, b.Raw) {
		out = append(out, "raw")
	}
	if a.Status != b.Status {
		out = append(out, "status")
	}
	if a.Username != b.Username {
		out = append(out, "username")
	}
	return out
}

func TestRecover(t *testing.T) {
	tests := []struct {
		name  string
		fault fetchtest.Fault
		// wait bounds the first wait the client took.
		minWait, maxWait time.Duration
		// transparent: net/http itself retries a GET whose reused
		// connection closed before answering, so the client may not wait.
		transparent bool
	}{
		{"429 with x-ratelimit-reset", fetchtest.Fault{Status: 429, Times: 2,
			Header: http.Header{"X-Ratelimit-Reset": {"7"}, "Content-Type": {"application/json"}}, Body: orytest.ErrorBody(429, "")},
			7 * time.Second, 7*time.Second + 800*time.Millisecond, false},
		{"429 without headers", fetchtest.Fault{Status: 429, Times: 2}, 250 * time.Millisecond, 500 * time.Millisecond, false},
		{"502", fetchtest.Fault{Status: 502, Times: 2, Body: "<html>bad gateway</html>"}, 250 * time.Millisecond, 500 * time.Millisecond, false},
		{"503", fetchtest.Fault{Status: 503, Times: 1}, 250 * time.Millisecond, 500 * time.Millisecond, false},
		{"connection reset", fetchtest.Fault{Hijack: true, Times: 1}, 250 * time.Millisecond, 500 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := orytest.NewServer(orytest.Generate(3, 1200), orytest.Config{})
			defer srv.Close()
			f, s := newFetcher(t, srv.URL, "")
			// Let page one through, fail page two.
			var n atomic.Int64
			err := f.Fetch(context.Background(), func(context.Context, idsnap.Record) error {
				if n.Add(1) == 1 {
					fault := tt.fault
					fault.Path = "/admin/identities"
					srv.Faults.Add(fault)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("Fetch = %v, want recovery", err)
			}
			if n.Load() != 1200 {
				t.Errorf("emitted %d records, want 1200", n.Load())
			}
			waits := s.all()
			if tt.transparent && len(waits) == 0 {
				return
			}
			if len(waits) != max(tt.fault.Times, 1) {
				t.Fatalf("waits = %v, want %d", waits, tt.fault.Times)
			}
			if waits[0] < tt.minWait || waits[0] >= tt.maxWait {
				t.Errorf("first wait = %v, want in [%v, %v)", waits[0], tt.minWait, tt.maxWait)
			}
		})
	}
}

// TestFailedPullIsAnError: a page that keeps failing ends Fetch with an
// error after the records before it, so the caller commits nothing.
func TestFailedPullIsAnError(t *testing.T) {
	srv := orytest.NewServer(orytest.Generate(3, 1200), orytest.Config{})
	defer srv.Close()
	f, _ := newFetcher(t, srv.URL, "")
	var emitted atomic.Int64
	err := f.Fetch(context.Background(), func(context.Context, idsnap.Record) error {
		if emitted.Add(1) == 1 {
			srv.Faults.Add(fetchtest.Fault{Path: "/admin/identities", Status: 500, Header: http.Header{"Content-Type": {"application/json"}},
				Body: `{"error":{"code":500,"status":"Internal Server Error","message":"An internal server error occurred, please contact the system administrator"}}`})
		}
		return nil
	})
	want := "list identities: 500 from GET /admin/identities: Internal Server Error: An internal server error occurred, please contact the system administrator"
	if err == nil || err.Error() != want {
		t.Fatalf("Fetch = %v, want %q", err, want)
	}
	// The fault is planned while the first page is emitted; the second
	// page, asked for ahead, may already have been answered.
	if n := emitted.Load(); n != 500 && n != 1000 {
		t.Errorf("emitted %d records before the error, want the first page's 500, or 1000 with the second page asked for ahead", n)
	}

	// An emit error stops the listing too.
	srv.Faults.Reset()
	stop := errors.New("stage full")
	err = f.Fetch(context.Background(), func(context.Context, idsnap.Record) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("Fetch with failing emit = %v, want %v", err, stop)
	}

	// So does a cancelled context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pull(ctx, f); !errors.Is(err, context.Canceled) {
		t.Errorf("Fetch with cancelled context = %v, want context.Canceled", err)
	}
}

func TestErrors(t *testing.T) {
	tenant := orytest.Generate(5, 3)
	network := orytest.NewServer(tenant, orytest.Config{APIToken: "ory_apikey_good", ForeignTokens: []string{"ory_apikey_other"}})
	defer network.Close()
	self := orytest.NewServer(tenant, orytest.Config{})
	defer self.Close()
	public := httptest.NewServer(orytest.PublicHandler(self.URL))
	defer public.Close()
	serve := func(status int, ct, body string, h ...string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(h); i += 2 {
				w.Header().Set(h[i], h[i+1])
			}
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	looping := serve(200, "application/json", "[]", "Link", `</admin/identities?page_size=500&page_token=aaaa>; rel="next"`)
	elsewhere := serve(200, "application/json", "[]", "Link", `<http://198.51.100.7/admin/identities?page_token=x>; rel="next"`)
	selfPort := strings.TrimPrefix(self.URL, "http://")

	tests := []struct {
		name, base string
		token      idsnap.Secret
		want       string
	}{
		{"no token for a network-mode API", network.URL, "",
			"list identities: 401 from GET /admin/identities: Unauthorized: The request could not be authorized; this admin API requires a key: set api_token to a project API key (ory_apikey_…) of this project"},
		{"wrong token", network.URL, "ory_wak_workspace",
			"list identities: 401 from GET /admin/identities: Unauthorized: The request could not be authorized; api_token is not accepted by this project (a workspace key, or a key of another project?); use a project API key created for this project"},
		{"another project's key", network.URL, "ory_apikey_other",
			"list identities: 403 from GET /admin/identities: Forbidden: This API key does not grant access to this project.; api_token may not list this project's identities (a workspace key, or a key of another project?); use a project API key created for this project"},
		{"not an admin API", self.URL + "/kratos/", "",
			"list identities: 404 from GET /kratos/admin/identities: 404 page not found; base_url is not an Ory Admin API: self-hosted Kratos serves it on the admin port (4434, not the public 4433), Ory Network at https://{slug}.projects.oryapis.com/"},
		{"base ends in /admin", self.URL + "/admin", "",
			"list identities: 404 from GET /admin/admin/identities: 404 page not found; drop the trailing /admin/ from base_url: idsnap adds admin/identities itself"},
		{"public port", public.URL, "",
			"list identities: 307 from GET /admin/identities: redirected to " + self.URL + "/admin/identities?page_size=500; base_url is Kratos' public port; use the admin port: base_url = http://" + selfPort + "/"},
		{"HTML page", serve(200, "text/html; charset=utf-8", "<!doctype html><title>Ory</title>"), "",
			"list identities: GET /admin/identities: expected JSON, got text/html; charset=utf-8: the base URL may not point at the admin API; base_url must be the Admin API base: https://{slug}.projects.oryapis.com/ on Ory Network, the admin port (4434) on self-hosted Kratos"},
		{"plain text", serve(200, "text/plain; charset=utf-8", "OK"), "",
			"list identities: GET /admin/identities: expected JSON, got text/plain; charset=utf-8: the base URL may not point at the admin API; base_url must be the Admin API base: https://{slug}.projects.oryapis.com/ on Ory Network, the admin port (4434) on self-hosted Kratos"},
		{"JSON object", serve(200, "application/json", `{"status":"ok"}`), "",
			"list identities: GET /admin/identities: malformed JSON: json: cannot unmarshal object into Go value of type []json.RawMessage; expected a JSON array of identities: is base_url the Ory Admin API base?"},
		{"Ory error envelope", serve(400, "application/json", `{"error":{"code":400,"status":"Bad Request","reason":"The page token is invalid, do not craft your own page tokens","message":"The request was malformed or contained invalid parameters"}}`), "",
			"list identities: 400 from GET /admin/identities: Bad Request: The page token is invalid, do not craft your own page tokens"},
		{"proxy HTML error", serve(404, "text/html", "<html><body>nginx</body></html>"), "",
			"list identities: 404 from GET /admin/identities: the server answered with an HTML page, not the API; base_url is not an Ory Admin API: self-hosted Kratos serves it on the admin port (4434, not the public 4433), Ory Network at https://{slug}.projects.oryapis.com/"},
		{"rate limited for good", serve(429, "application/json", orytest.ErrorBody(429, "")), "",
			"list identities: 429 from GET /admin/identities: Too Many Requests: Too Many Requests; Ory's rate limit for listing identities was hit even after waiting (Developer projects allow 25 requests a minute); lower requests_per_second or pull later"},
		{"repeating next link", looping, "",
			"list identities: the server returned a pagination token it had returned before (page 2); refusing to loop"},
		{"next link to another host", elsewhere, "",
			"list identities: the server's next-page link points at http://198.51.100.7, not " + strings.TrimPrefix(elsewhere, "http://") + "; refusing to send the API key there (check base_url and any proxy in front of Ory)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := newFetcher(t, tt.base, tt.token)
			_, err := pull(context.Background(), f)
			if err == nil {
				t.Fatal("Fetch succeeded, want an error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Fetch error\n got %s\nwant %s", got, tt.want)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("error is not one line: %q", err)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token.Reveal()) {
				t.Errorf("error leaks the token: %q", err)
			}
		})
	}
}

// TestTokenSent: the key goes as a bearer token on every page.
func TestTokenSent(t *testing.T) {
	srv := orytest.NewServer(orytest.Generate(9, 1001), orytest.Config{APIToken: "ory_apikey_good"})
	defer srv.Close()
	f, _ := newFetcher(t, srv.URL, "ory_apikey_good")
	if got := mustPull(t, f); len(got) != 1001 {
		t.Fatalf("pulled %d, want 1001", len(got))
	}
	if n := srv.Faults.Count("/admin/identities"); n != 3 {
		t.Errorf("requests = %d, want 3", n)
	}
}

func TestDoctor(t *testing.T) {
	tenant := orytest.Generate(5, 3)
	network := orytest.NewServer(tenant, orytest.Config{APIToken: "ory_apikey_good"})
	defer network.Close()
	tests := []struct {
		name, base string
		token      idsnap.Secret
		ok         []bool
		fix        string // of the first failing check
	}{
		{"healthy", network.URL, "ory_apikey_good", []bool{true, true, true}, ""},
		{"bad key", network.URL, "ory_apikey_bad", []bool{true, false, false},
			"api_token is not accepted by this project (a workspace key, or a key of another project?); use a project API key created for this project"},
		{"wrong base", network.URL + "/nope", "ory_apikey_good", []bool{false, false, false},
			"base_url is not an Ory Admin API: self-hosted Kratos serves it on the admin port (4434, not the public 4433), Ory Network at https://{slug}.projects.oryapis.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := newFetcher(t, tt.base, tt.token)
			checks := f.Doctor(context.Background())
			var ok []bool
			fix := ""
			for _, c := range checks {
				ok = append(ok, c.OK)
				if !c.OK && fix == "" {
					fix = c.Fix
				}
				if !c.OK && c.Fix == "" {
					t.Errorf("check %q fails without a fix", c.Name)
				}
			}
			if !slices.Equal(ok, tt.ok) || fix != tt.fix {
				t.Errorf("Doctor = %+v\nwant OK %v, fix %q", checks, tt.ok, tt.fix)
			}
		})
	}
	if got := network.Faults.Requests(); !slices.Contains(got, "GET /admin/identities?page_size=1") {
		t.Errorf("requests = %q, want one page_size=1 request", got)
	}
}

// BenchmarkPull pulls 10k identities (20 pages) from the in-process fake.
func BenchmarkPull(b *testing.B) {
	srv := orytest.NewServer(orytest.Generate(1, 10_000), orytest.Config{})
	defer srv.Close()
	f, _ := newFetcher(b, srv.URL, "")
	b.ReportAllocs()
	for b.Loop() {
		var n atomic.Int64
		if err := f.Fetch(context.Background(), func(context.Context, idsnap.Record) error { n.Add(1); return nil }); err != nil {
			b.Fatal(err)
		}
		if n.Load() != 10_000 {
			b.Fatalf("pulled %d", n.Load())
		}
	}
	b.ReportMetric(float64(10_000*b.N)/b.Elapsed().Seconds(), "identities/s")
}

// BenchmarkPullLatency pulls 10k identities with 20 ms a request, as
// idsnap-bench does, into a sink that discards. Keyset pages are
// sequential, so the floor is requests × latency; "×path" is the pull's
// wall time over that floor.
func BenchmarkPullLatency(b *testing.B) {
	const latency = 20 * time.Millisecond
	srv := orytest.NewServer(orytest.Generate(1, 10_000), orytest.Config{})
	defer srv.Close()
	srv.Faults.Latency = latency
	f, _ := newFetcher(b, srv.URL, "")
	before := srv.Faults.Count(listPath)
	for b.Loop() {
		if err := f.Fetch(context.Background(), func(context.Context, idsnap.Record) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	reqs := srv.Faults.Count(listPath) - before
	b.ReportMetric(b.Elapsed().Seconds()/(float64(reqs)*latency.Seconds()), "×path")
}
