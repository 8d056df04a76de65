package ory_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/fetchtest"
	"github.com/idsnap/idsnap/fetch/ory"
	"github.com/idsnap/idsnap/fetch/ory/orytest"
	"github.com/idsnap/idsnap/internal/pulltest"
)

const listPath = "/admin/identities"

// faultMiddleware puts behaviour the Faults cannot express (stalled
// bodies, huge bodies, crafted Link headers) in front of the fake.
type faultMiddleware func(h http.Handler) http.Handler

// stallBody answers the first n list requests (every one when n is 0) with
// a 200 whose body starts and then stalls until the client gives up.
func stallBody(n int) faultMiddleware {
	var left atomic.Int64
	left.Store(int64(n))
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != listPath || (n > 0 && left.Add(-1) < 0) {
				h.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`[{"id":"`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
	}
}

// fixed answers the list with a canned 200 JSON body and optional Link.
func fixed(body, link string) faultMiddleware {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != listPath {
				h.ServeHTTP(w, r)
				return
			}
			if link != "" {
				w.Header().Set("Link", link)
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, body)
		})
	}
}

func TestFaultMatrix(t *testing.T) {
	jsonH := http.Header{"Content-Type": {"application/json"}}
	html := http.Header{"Content-Type": {"text/html"}}
	with := func(h http.Header, k, v string) http.Header { h = h.Clone(); h.Set(k, v); return h }
	fault := func(times, status int, h http.Header, body string) []fetchtest.Fault {
		return []fetchtest.Fault{{Path: listPath, Times: times, Status: status, Header: h, Body: body}}
	}
	proxyPage := "<!DOCTYPE html><html><body><h1>504 Gateway Time-out</h1>cloudflare</body></html>"
	const hint = "; base_url must be the Admin API base: https://{slug}.projects.oryapis.com/ on Ory Network, the admin port (4434) on self-hosted Kratos"
	cases := []struct {
		name   string
		cfg    orytest.Config
		token  idsnap.Secret
		opts   fetch.Options
		faults []fetchtest.Fault
		wrap   faultMiddleware
		// afterFirst: faults apply from the second page on, so a pull is
		// cut in the middle.
		afterFirst bool
		want       string // "" = recovers and commits every identity
	}{
		{name: "429 storm with x-ratelimit-reset", faults: fault(4, 429, with(jsonH, "X-Ratelimit-Reset", "5"), orytest.ErrorBody(429, "")), afterFirst: true},
		{name: "429 storm with Retry-After", faults: fault(4, 429, with(jsonH, "Retry-After", "2"), orytest.ErrorBody(429, ""))},
		{name: "429 storm without reset headers", faults: fault(5, 429, jsonH, orytest.ErrorBody(429, "")), afterFirst: true},
		{name: "429 that never ends", faults: fault(0, 429, with(jsonH, "X-Ratelimit-Reset", "1"), orytest.ErrorBody(429, "")), afterFirst: true,
			want: "list identities: 429 from GET /admin/identities: Too Many Requests: Too Many Requests; Ory's rate limit for listing identities was hit even after waiting"},
		{name: "500 burst", faults: fault(3, 500, nil, ""), afterFirst: true},
		{name: "502 burst", faults: fault(3, 502, nil, "")},
		{name: "503 burst", faults: fault(3, 503, nil, ""), afterFirst: true},
		{name: "504 burst", faults: fault(3, 504, html, proxyPage)},
		{name: "500 for good", faults: fault(0, 500, jsonH, orytest.ErrorBody(500, "")), afterFirst: true,
			want: "list identities: 500 from GET /admin/identities: Internal Server Error"},
		{name: "proxy HTML 504 for good", faults: fault(0, 504, html, proxyPage), afterFirst: true,
			want: "list identities: 504 from GET /admin/identities: the server answered with an HTML page, not the API"},
		{name: "connection reset burst", faults: []fetchtest.Fault{{Path: listPath, Times: 3, Hijack: true}}, afterFirst: true},
		{name: "connection reset for good", faults: []fetchtest.Fault{{Path: listPath, Hijack: true}}, opts: fetch.Options{MaxAttempts: 3},
			want: "list identities: GET /admin/identities: EOF (the server closed the connection without answering"},
		{name: "timeouts then answers", opts: fetch.Options{Timeout: fetchtest.AnswerTimeout},
			faults: []fetchtest.Fault{{Path: listPath, Times: 2, Delay: time.Minute}}, afterFirst: true},
		{name: "timeouts for good", opts: fetch.Options{Timeout: 50 * time.Millisecond, MaxAttempts: 3},
			faults: []fetchtest.Fault{{Path: listPath, Delay: time.Minute}},
			want:   "request timed out: context deadline exceeded"},
		{name: "slow-loris body then answers", opts: fetch.Options{Timeout: fetchtest.AnswerTimeout}, wrap: stallBody(2)},
		{name: "slow-loris body for good", opts: fetch.Options{Timeout: 50 * time.Millisecond, MaxAttempts: 3}, wrap: stallBody(0),
			want: "request timed out"},
		{name: "truncated JSON", faults: []fetchtest.Fault{{Path: listPath, Times: 1, Truncate: 300}}, afterFirst: true,
			want: "list identities: GET /admin/identities: malformed JSON: unexpected end of JSON input"},
		{name: "200 with an HTML page", faults: fault(0, 200, html, "<!doctype html><title>Ory</title>"),
			want: "list identities: GET /admin/identities: expected JSON, got text/html: the base URL may not point at the admin API" + hint},
		{name: "200 JSON as text/plain", faults: fault(0, 200, http.Header{"Content-Type": {"text/plain"}}, "[]"),
			want: "list identities: GET /admin/identities: expected JSON, got text/plain: the base URL may not point at the admin API" + hint},
		{name: "huge body", opts: fetch.Options{MaxBody: 64 << 10},
			want: "list identities: GET /admin/identities: response body larger than 65536 bytes; refusing to read it"},
		{name: "repeating page token", wrap: fixed("[]", `</admin/identities?page_size=500&page_token=same>; rel="next"`),
			want: "list identities: the server returned a pagination token it had returned before (page 2); refusing to loop"},
		{name: "next link to another host", wrap: fixed("[]", `<http://203.0.113.9/admin/identities?page_token=x>; rel="next"`), token: "ory_apikey_good",
			cfg:  orytest.Config{APIToken: "ory_apikey_good"},
			want: "the server's next-page link points at http://203.0.113.9, not 127.0.0.1:"},
		{name: "401 without a key", cfg: orytest.Config{APIToken: "ory_apikey_good"},
			want: "list identities: 401 from GET /admin/identities: Unauthorized: The request could not be authorized; this admin API requires a key"},
		{name: "401 wrong key", cfg: orytest.Config{APIToken: "ory_apikey_good"}, token: "ory_apikey_rotated",
			want: "list identities: 401 from GET /admin/identities: Unauthorized: The request could not be authorized; api_token is not accepted by this project"},
		{name: "403 another project's key", cfg: orytest.Config{APIToken: "ory_apikey_good", ForeignTokens: []string{"ory_apikey_other"}}, token: "ory_apikey_other",
			want: "list identities: 403 from GET /admin/identities: Forbidden: This API key does not grant access to this project.; api_token may not list this project's identities"},
		{name: "403 mid-pull (key revoked)", faults: fault(0, 403, jsonH, `{"error":{"code":403,"status":"Forbidden","message":"The requested action was forbidden"}}`), afterFirst: true,
			want: "list identities: 403 from GET /admin/identities: Forbidden: The requested action was forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Three pages: a fault planned while the first is emitted still
			// meets the third when the second was asked for ahead.
			tenant := orytest.Generate(21, 1200)
			fs := &fetchtest.Faults{}
			h := fs.Wrap(orytest.NewHandler(tenant, tc.cfg))
			if tc.wrap != nil {
				h = tc.wrap(h)
			}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			if !tc.afterFirst {
				for _, f := range tc.faults {
					fs.Add(f)
				}
			}
			s := &sleeps{}
			opts := tc.opts
			opts.Sleep, opts.RequestsPerSecond = s.sleep, 1e6
			f, err := ory.New(idsnap.Source{Name: "ory", Provider: "ory", BaseURL: srv.URL, Secrets: map[string]idsnap.Secret{"api_token": tc.token}}, fetch.NewClient(opts))
			if err != nil {
				t.Fatal(err)
			}
			var n atomic.Int64
			snap, err := pulltest.Pull(t, f, "ory", func() {
				if n.Add(1) == 1 && tc.afterFirst {
					for _, f := range tc.faults {
						fs.Add(f)
					}
				}
			})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("pull = %v, want recovery", err)
				}
				if got := snap.Counts[idsnap.KindUser]; got != int64(tenant.Len()) {
					t.Errorf("snapshot has %d users, want %d", got, tenant.Len())
				}
				if strings.Contains(tc.name, "x-ratelimit-reset") {
					for _, d := range s.all() {
						if d < 5*time.Second {
							t.Errorf("slept %v, want >= 5s from x-ratelimit-reset", d)
						}
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("pull succeeded, want an error containing %q", tc.want)
			}
			pulltest.CheckError(t, err, tc.want, tc.token.Reveal(), "ory_apikey_good")
		})
	}
}
