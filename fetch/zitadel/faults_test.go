package zitadel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	"github.com/idsnap/idsnap/fetch/zitadel"
	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
	"github.com/idsnap/idsnap/internal/pulltest"
)

const (
	usersPath    = "/management/v1/users/_search"
	projectsPath = "/management/v1/projects/_search"
	grantsPath   = "/management/v1/users/grants/_search"
)

// naps records the client's waits instead of waiting.
type naps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (n *naps) sleep(ctx context.Context, d time.Duration) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.d = append(n.d, d)
	return ctx.Err()
}

// stall answers the first n requests to path (all when n is 0) with a 200
// whose body starts and then stalls until the client gives up.
func stall(path string, n int) func(http.Handler) http.Handler {
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
			w.Write([]byte(`{"details":{"totalResult":"3"},"result":[`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
	}
}

// ignoreOffset makes path serve the first page whatever offset is asked:
// the offset-paged cousin of a page token that repeats.
func ignoreOffset(path string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == path {
				var body map[string]any
				b, _ := io.ReadAll(r.Body)
				if json.Unmarshal(b, &body) == nil {
					if q, ok := body["query"].(map[string]any); ok {
						q["offset"] = "0"
					}
					b, _ = json.Marshal(body)
				}
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			}
			h.ServeHTTP(w, r)
		})
	}
}

// hugeTotal claims an absurd totalResult on path's first page.
func hugeTotal(path string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path {
				h.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"details":{"totalResult":"18446744073709551615"},"result":[{"id":"1"}]}`)
		})
	}
}

// drain reads each request body before serving it: net/http notices a
// client that hung up only once the body is read, and a stalled handler
// must end when the client times out, not when the test's delay ends.
func drain(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		h.ServeHTTP(w, r)
	})
}

func wantCounts(tenant *zitadeltest.Tenant) map[idsnap.Kind]int64 {
	n := map[idsnap.Kind]int64{idsnap.KindUser: int64(len(tenant.Users()))}
	for _, p := range tenant.Projects() {
		n[idsnap.KindResource]++
		n[idsnap.KindEntitlement] += int64(len(tenant.Roles(p.ID)))
	}
	for _, g := range tenant.Grants() {
		n[idsnap.KindGrant] += int64(len(g.RoleKeys))
	}
	return n
}

func TestFaultMatrix(t *testing.T) {
	gw := http.Header{"Content-Type": {"application/json"}}
	html := http.Header{"Content-Type": {"text/html"}}
	with := func(h http.Header, k, v string) http.Header { h = h.Clone(); h.Set(k, v); return h }
	fail := func(path string, times, status int, h http.Header, body string) []fetchtest.Fault {
		return []fetchtest.Fault{{Path: path, Times: times, Status: status, Header: h, Body: body}}
	}
	const unavailable = `{"code":14,"message":"upstream unavailable"}`
	const lacks = "the service user lacks %s: give it ORG_OWNER_VIEWER (read-only) or ORG_USER_MANAGER on the org"
	without := func(perm string) []string {
		var ps []string
		for _, p := range zitadeltest.Permissions {
			if p != perm {
				ps = append(ps, p)
			}
		}
		return ps
	}
	cases := []struct {
		name   string
		cfg    zitadeltest.Config
		pat    idsnap.Secret
		opts   fetch.Options
		faults []fetchtest.Fault
		wrap   func(http.Handler) http.Handler
		want   string // "" = recovers and commits everything
	}{
		{name: "429 storm with Retry-After", faults: fail(usersPath, 4, 429, with(gw, "Retry-After", "2"), `{"code":8,"message":"rate limited"}`)},
		{name: "429 storm without reset headers", faults: fail(grantsPath, 5, 429, nil, "")},
		{name: "429 that never ends", faults: fail(usersPath, 0, 429, with(gw, "Retry-After", "1"), `{"code":8,"message":"rate limited"}`),
			want: "list users: 429 from POST /management/v1/users/_search: rate limited"},
		{name: "500 burst", faults: fail(usersPath, 3, 500, gw, `{"code":13,"message":"internal"}`)},
		{name: "502 burst", faults: fail(projectsPath, 3, 502, nil, "")},
		{name: "503 burst", faults: fail(grantsPath, 3, 503, gw, unavailable)},
		{name: "504 burst", faults: fail("/management/v1/projects/", 3, 504, nil, "")},
		{name: "503 for good", faults: fail(usersPath, 0, 503, gw, unavailable),
			want: "list users: 503 from POST /management/v1/users/_search: upstream unavailable"},
		{name: "proxy HTML 502 for good", faults: fail(projectsPath, 0, 502, html, "<html><body>502 Bad Gateway</body></html>"),
			want: "list projects: 502 from POST /management/v1/projects/_search: the server answered with an HTML page, not the API"},
		{name: "connection reset burst", faults: []fetchtest.Fault{{Path: usersPath, Times: 3, Hijack: true}}},
		{name: "connection reset for good", faults: []fetchtest.Fault{{Path: usersPath, Hijack: true}}, opts: fetch.Options{MaxAttempts: 3},
			want: "list users: POST /management/v1/users/_search: EOF (the server closed the connection without answering"},
		{name: "timeouts then answers", opts: fetch.Options{Timeout: fetchtest.AnswerTimeout},
			faults: []fetchtest.Fault{{Path: usersPath, Times: 2, Delay: time.Minute}}},
		{name: "timeouts for good", opts: fetch.Options{Timeout: 50 * time.Millisecond, MaxAttempts: 3},
			faults: []fetchtest.Fault{{Path: grantsPath, Delay: time.Minute}},
			want:   "request timed out: context deadline exceeded"},
		{name: "slow-loris body then answers", opts: fetch.Options{Timeout: fetchtest.AnswerTimeout}, wrap: stall(usersPath, 2)},
		{name: "slow-loris body for good", opts: fetch.Options{Timeout: 50 * time.Millisecond, MaxAttempts: 3}, wrap: stall(usersPath, 0),
			want: "request timed out"},
		{name: "truncated JSON", faults: []fetchtest.Fault{{Path: usersPath, Times: 1, Truncate: 200}},
			want: "list users: POST /management/v1/users/_search: malformed JSON: unexpected end of JSON input"},
		{name: "200 with an HTML page", faults: fail(projectsPath, 0, 200, html, "<!doctype html><title>ZITADEL Console</title>"),
			want: "list projects: POST /management/v1/projects/_search: expected JSON, got text/html: the base URL may not point at the admin API"},
		{name: "200 JSON as text/plain", faults: fail(usersPath, 0, 200, http.Header{"Content-Type": {"text/plain"}}, `{"details":{},"result":[]}`),
			want: "list users: POST /management/v1/users/_search: expected JSON, got text/plain"},
		{name: "huge body", opts: fetch.Options{MaxBody: 16 << 10},
			want: "response body larger than 16384 bytes; refusing to read it"},
		{name: "offset ignored: the same page again", wrap: ignoreOffset(usersPath),
			want: "list users: the tenant changed during the pull, twice (1000 distinct rows for a totalResult of 1200"},
		{name: "absurd totalResult", wrap: hugeTotal(usersPath),
			want: "list users: totalResult 18446744073709551615 needs more than 100000 pages; refusing"},
		{name: "401 bad PAT", pat: "expired-pat",
			want: "401 from POST /admin/v1/orgs/_search: Token is invalid (AUTH-7fs1e); check the PAT, it may be expired or revoked"},
		{name: "401 PAT revoked mid-pull", faults: fail(grantsPath, 0, 401, gw, `{"code":16,"message":"Token is invalid (AUTH-7fs1e)"}`),
			want: "401 from POST /management/v1/users/grants/_search: Token is invalid (AUTH-7fs1e); check the PAT, it may be expired or revoked"},
		{name: "403 without user.read", cfg: zitadeltest.Config{Permissions: without("user.read")},
			want: "list users: 403 from POST /management/v1/users/_search: No matching permissions found (AUTH-5mWD2); " + strings.ReplaceAll(lacks, "%s", "user.read")},
		{name: "403 without project.read", cfg: zitadeltest.Config{Permissions: without("project.read")},
			want: "list projects: 403 from POST /management/v1/projects/_search: No matching permissions found (AUTH-5mWD2); " + strings.ReplaceAll(lacks, "%s", "project.read")},
		{name: "403 without project.role.read", cfg: zitadeltest.Config{Permissions: without("project.role.read")},
			want: "/roles/_search: No matching permissions found (AUTH-5mWD2); " + strings.ReplaceAll(lacks, "%s", "project.role.read")},
		{name: "403 without user.grant.read", cfg: zitadeltest.Config{Permissions: without("user.grant.read")},
			want: "403 from POST /management/v1/users/grants/_search: No matching permissions found (AUTH-5mWD2); " + strings.ReplaceAll(lacks, "%s", "user.grant.read")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tenant := zitadeltest.Generate(31, 1200, 3)
			fs := &fetchtest.Faults{}
			h := fs.Wrap(zitadeltest.NewHandler(tenant, tc.cfg))
			if tc.wrap != nil {
				h = tc.wrap(h)
			}
			h = drain(h)
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			for _, f := range tc.faults {
				fs.Add(f)
			}
			n := &naps{}
			opts := tc.opts
			opts.Sleep, opts.RequestsPerSecond = n.sleep, 1e6
			pat := tc.pat
			if pat == "" {
				pat = zitadeltest.DefaultPAT
			}
			f, err := zitadel.New(idsnap.Source{Name: "zitadel", Provider: "zitadel", BaseURL: srv.URL, Secrets: map[string]idsnap.Secret{"pat": pat}}, fetch.NewClient(opts))
			if err != nil {
				t.Fatal(err)
			}
			snap, err := pulltest.Pull(t, f, "zitadel", nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("pull = %v, want recovery", err)
				}
				want := wantCounts(tenant)
				for _, k := range idsnap.Kinds {
					if snap.Counts[k] != want[k] {
						t.Errorf("snapshot counts %v, want %v", snap.Counts, want)
						break
					}
				}
				if strings.Contains(tc.name, "Retry-After") {
					for _, d := range n.d {
						if d < 2*time.Second {
							t.Errorf("slept %v, want >= 2s from Retry-After", d)
						}
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("pull succeeded, want an error containing %q", tc.want)
			}
			pulltest.CheckError(t, err, tc.want, pat.Reveal())
		})
	}
}
