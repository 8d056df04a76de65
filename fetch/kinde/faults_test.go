package kinde_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/fetchtest"
	"github.com/idsnap/idsnap/fetch/kinde"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
	"github.com/idsnap/idsnap/internal/pulltest"
)

// faultCase is one row of the fault matrix: a misbehaving server and what a
// pull must come to. want empty means the pull recovers and commits a
// complete snapshot; otherwise the error must be one line containing want,
// and nothing may be committed.
type faultCase struct {
	name  string
	cfg   kindetest.Config
	opts  fetch.Options // Timeout, MaxBody, MaxAttempts; Sleep is always stubbed
	fault func(fs *fetchtest.Faults)
	// wrap puts a middleware in front of the faults (slow bodies, huge
	// bodies, looping tokens).
	wrap func(h http.Handler) http.Handler
	// during runs once, after the first record is emitted (a token expiring
	// mid-pull).
	during func()
	want   string
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

const tooMany = `{"errors":[{"code":"TOO_MANY_REQUESTS","message":"Too many requests"}]}`

// slowLoris answers the first n requests under path with a 200 whose body
// starts and then stalls until the client gives up.
func slowLoris(path string, n int) func(http.Handler) http.Handler {
	var left atomic.Int64
	left.Store(int64(n))
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path || (n > 0 && left.Add(-1) < 0) {
				h.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"code":"OK","message":"Success","users":[`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
	}
}

// huge answers path with a valid JSON body of size bytes.
func huge(path string, size int) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path {
				h.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"code":"OK","message":"%s","users":[]}`, strings.Repeat("x", size))
		})
	}
}

// loopingToken answers path with an empty page whose next_token never
// changes.
func loopingToken(path string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path {
				h.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"code":"OK","message":"Success","users":[],"organizations":[],"next_token":"c2FtZQ"}`))
		})
	}
}

func TestFaultMatrix(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	expire := func() { mu.Lock(); now = now.Add(2 * time.Hour); mu.Unlock() }

	fail := func(path string, times, status int, h http.Header, body string) func(*fetchtest.Faults) {
		return func(fs *fetchtest.Faults) {
			fs.Add(fetchtest.Fault{Path: path, Times: times, Status: status, Header: h, Body: body})
		}
	}
	with := func(h http.Header, k, v string) http.Header { h = h.Clone(); h.Set(k, v); return h }
	html := http.Header{"Content-Type": {"text/html"}}
	proxyPage := "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
	org := "/api/v1/organizations"
	cases := []faultCase{
		{name: "429 storm with RateLimit-Reset", fault: fail("/api/v1/users", 5, 429, with(jsonHeader, "RateLimit-Reset", "3"), tooMany)},
		{name: "429 storm with Retry-After date", fault: fail(org, 4, 429, with(jsonHeader, "Retry-After", time.Now().Add(20*time.Second).UTC().Format(http.TimeFormat)), tooMany)},
		{name: "429 storm without reset headers", fault: fail("/api/v1/users", 5, 429, jsonHeader, tooMany)},
		{name: "429 that never ends", fault: fail("/api/v1/users", 0, 429, with(jsonHeader, "RateLimit-Reset", "1"), tooMany),
			want: "list users: 429 from GET /api/v1/users: still rate limited after retrying; pull again later or set a lower requests_per_second"},
		{name: "500 burst", fault: fail("/api/v1/users", 3, 500, nil, "")},
		{name: "502 burst", fault: fail(org, 3, 502, nil, "")},
		{name: "503 burst", fault: fail(org+"/", 3, 503, nil, "")},
		{name: "504 burst", fault: fail("/api/v1/users", 3, 504, nil, "")},
		{name: "500 for good", fault: fail("/api/v1/users", 0, 500, jsonHeader, `{"errors":[{"code":"INTERNAL","message":"Internal error"}]}`),
			want: "list users: 500 from GET /api/v1/users: INTERNAL: Internal error"},
		{name: "503 for good", fault: fail(org, 0, 503, nil, "upstream connect error"),
			want: "list organizations: 503 from GET /api/v1/organizations: upstream connect error"},
		{name: "proxy HTML 502 for good", fault: fail("/api/v1/users", 0, 502, html, proxyPage),
			want: "list users: 502 from GET /api/v1/users: the server answered with an HTML page, not the API"},
		{name: "proxy HTML 403", fault: fail(org, 0, 403, html, "<html><body>Access denied by WAF</body></html>"),
			want: "list organizations: 403 from GET /api/v1/organizations: invalid credentials; check client_id and client_secret"},
		{name: "connection reset burst", fault: func(fs *fetchtest.Faults) { fs.Add(fetchtest.Fault{Path: "/api/v1/users", Times: 3, Hijack: true}) }},
		{name: "connection reset for good", fault: func(fs *fetchtest.Faults) { fs.Add(fetchtest.Fault{Path: "/api/v1/users", Hijack: true}) },
			opts: fetch.Options{MaxAttempts: 3}, want: "list users: GET /api/v1/users: EOF (the server closed the connection without answering; pull again later, or check any proxy in front of the API)"},
		{name: "timeouts then answers", opts: fetch.Options{Timeout: fetchtest.AnswerTimeout},
			fault: func(fs *fetchtest.Faults) {
				fs.Add(fetchtest.Fault{Path: "/api/v1/users", Times: 2, Delay: time.Minute})
			}},
		{name: "timeouts for good", opts: fetch.Options{Timeout: 50 * time.Millisecond, MaxAttempts: 3},
			fault: func(fs *fetchtest.Faults) { fs.Add(fetchtest.Fault{Path: "/api/v1/users", Delay: time.Minute}) },
			want:  "request timed out: context deadline exceeded"},
		{name: "slow-loris body then answers", opts: fetch.Options{Timeout: fetchtest.AnswerTimeout}, wrap: slowLoris("/api/v1/users", 2)},
		{name: "slow-loris body for good", opts: fetch.Options{Timeout: 50 * time.Millisecond, MaxAttempts: 3}, wrap: slowLoris("/api/v1/users", 0),
			want: "request timed out"},
		{name: "truncated JSON", fault: func(fs *fetchtest.Faults) { fs.Add(fetchtest.Fault{Path: "/api/v1/users", Times: 1, Truncate: 100}) },
			want: "list users: GET /api/v1/users: malformed JSON: unexpected end of JSON input"},
		{name: "truncated member page", fault: func(fs *fetchtest.Faults) { fs.Add(fetchtest.Fault{Path: org + "/", Times: 1, Truncate: 30}) },
			want: "malformed JSON: unexpected end of JSON input"},
		{name: "200 with an HTML page", fault: fail("/api/v1/users", 0, 200, html, "<!doctype html><title>Sign in</title>"),
			want: "list users: GET /api/v1/users: expected JSON, got text/html: the base URL may not point at the admin API"},
		{name: "200 JSON as text/plain", fault: fail(org, 0, 200, http.Header{"Content-Type": {"text/plain"}}, `{"code":"OK","organizations":[]}`),
			want: "list organizations: GET /api/v1/organizations: expected JSON, got text/plain"},
		{name: "huge body", opts: fetch.Options{MaxBody: 4096}, wrap: huge("/api/v1/users", 1<<20),
			want: "response body larger than 4096 bytes; refusing to read it"},
		{name: "repeating page token", wrap: loopingToken("/api/v1/users"),
			want: "list users: GET /api/v1/users: the server returned a pagination token it had returned before (page 2); refusing to loop"},
		{name: "repeating member page token", wrap: loopingToken(org),
			want: "list organizations: GET /api/v1/organizations: the server returned a pagination token it had returned before (page 2); refusing to loop"},
		{name: "403 without read:users", cfg: kindetest.Config{Scopes: []string{kindetest.ScopeReadOrganizations, kindetest.ScopeReadOrganizationUsers}},
			want: "list users: 403 from GET /api/v1/users: the M2M application lacks the read:users scope" + scopeHint},
		{name: "403 without read:organizations", cfg: kindetest.Config{Scopes: []string{kindetest.ScopeReadUsers, kindetest.ScopeReadOrganizationUsers}},
			want: "list organizations: 403 from GET /api/v1/organizations: the M2M application lacks the read:organizations scope" + scopeHint},
		{name: "403 without read:organization_users", cfg: kindetest.Config{Scopes: []string{kindetest.ScopeReadUsers, kindetest.ScopeReadOrganizations}},
			want: "the M2M application lacks the read:organization_users scope" + scopeHint},
		{name: "401 on every API call", fault: fail("/api/", 0, 401, jsonHeader, `{"errors":[{"code":"UNAUTHORIZED","message":"Unauthorized"}]}`),
			want: "401 from GET /api/v1/"},
		{name: "401 wrong secret", cfg: kindetest.Config{ClientSecret: "rotated-secret"},
			want: "get token: 401 from POST /oauth2/token: invalid_client: check client_id and client_secret of the M2M application"},
		{name: "token endpoint 503", fault: fail("/oauth2/token", 0, 503, html, proxyPage),
			want: "get token: 503 from POST /oauth2/token: Kinde's token endpoint is unavailable or rate limited; pull again later"},
		{name: "token expires mid-pull", cfg: kindetest.Config{TokenTTL: time.Hour, Now: clock}, during: expire},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tenant := kindetest.Generate(11, 1100, 6)
			fs := &fetchtest.Faults{}
			h := fs.Wrap(kindetest.NewHandler(tenant, tc.cfg))
			if tc.wrap != nil {
				h = tc.wrap(h)
			}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			if tc.fault != nil {
				tc.fault(fs)
			}
			s := &sleeps{}
			opts := tc.opts
			opts.Sleep, opts.RequestsPerSecond = s.sleep, 1e6
			f, err := kinde.New(source(srv.URL), fetch.NewClient(opts))
			if err != nil {
				t.Fatal(err)
			}
			snap, err := pulltest.Pull(t, f, "kinde", onceFn(tc.during))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("pull = %v, want recovery", err)
				}
				want := model(tenant)
				counts := map[idsnap.Kind]int64{}
				for k := range want {
					kind, _, _ := strings.Cut(k, " ")
					counts[idsnap.Kind(kind)]++
				}
				for _, k := range idsnap.Kinds {
					if snap.Counts[k] != counts[k] {
						t.Errorf("snapshot counts %v, want %v", snap.Counts, counts)
						break
					}
				}
				if strings.HasPrefix(tc.name, "token expires") && fs.Count("/oauth2/token") < 2 {
					t.Errorf("token requests = %d, want a fresh token after expiry", fs.Count("/oauth2/token"))
				}
				if strings.Contains(tc.name, "Reset") {
					for _, d := range s.d {
						if d < 3*time.Second {
							t.Errorf("slept %v, want >= 3s from RateLimit-Reset", d)
						}
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("pull succeeded, want an error containing %q", tc.want)
			}
			pulltest.CheckError(t, err, tc.want, kindetest.DemoClientSecret, "Bearer")
			t.Logf("error: %v", err)
		})
	}
}

// onceFn makes a fault's mid-pull event happen at the first record only.
func onceFn(f func()) func() {
	if f == nil {
		return nil
	}
	var once sync.Once
	return func() { once.Do(f) }
}
