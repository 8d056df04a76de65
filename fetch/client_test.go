package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

func TestResetAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header string
		value  string
		want   time.Duration
		ok     bool
	}{
		{"retry-after seconds", "Retry-After", "30", 30 * time.Second, true},
		{"retry-after fraction", "Retry-After", "1.5", 1500 * time.Millisecond, true},
		{"retry-after date", "Retry-After", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"retry-after past date", "Retry-After", now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"kinde RateLimit-Reset", "RateLimit-Reset", "30", 30 * time.Second, true},
		{"ory unix time", "X-RateLimit-Reset", fmt.Sprint(now.Add(45 * time.Second).Unix()), 45 * time.Second, true},
		{"unix time past", "X-RateLimit-Reset", fmt.Sprint(now.Add(-45 * time.Second).Unix()), 0, true},
		{"garbage", "Retry-After", "soon", 0, false},
		{"negative", "Retry-After", "-3", 0, false},
		{"none", "X-Other", "3", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(tt.header, tt.value)
			got, ok := ResetAfter(h, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ResetAfter(%s: %s) = %v, %v; want %v, %v", tt.header, tt.value, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// waits records the client's sleeps without sleeping.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return ctx.Err()
}

func (w *waits) total() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var t time.Duration
	for _, d := range w.d {
		t += d
	}
	return t
}

// flaky answers status for the first fail requests, then {"ok":true}.
func flaky(t *testing.T, fail int, status int, h http.Header) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if int(n.Add(1)) <= fail {
			for k, v := range h {
				w.Header()[k] = v
			}
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestRetryStatuses(t *testing.T) {
	tests := []struct {
		status int
		retry  bool
	}{
		{500, true}, {502, true}, {503, true}, {504, true}, {429, true},
		{400, false}, {401, false}, {403, false}, {404, false}, {501, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			srv, n := flaky(t, 2, tt.status, nil)
			w := &waits{}
			c := NewClient(Options{Sleep: w.sleep})
			var out struct{ OK bool }
			_, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL + "/x"}, &out)
			if tt.retry {
				if err != nil || !out.OK || n.Load() != 3 || len(w.d) != 2 {
					t.Errorf("Do = %v, ok %v after %d requests and %d waits; want success after 3 and 2", err, out.OK, n.Load(), len(w.d))
				}
				if st := c.Stats(); st.Retries != 2 || st.Requests != 3 {
					t.Errorf("Stats = %+v, want 2 retries of 3 requests", st)
				}
				return
			}
			var he *HTTPError
			if !errors.As(err, &he) || he.Status != tt.status || n.Load() != 1 {
				t.Errorf("Do = %v after %d requests; want an HTTPError %d after 1", err, n.Load(), tt.status)
			}
		})
	}
}

func TestRetry429UsesResetHeader(t *testing.T) {
	srv, _ := flaky(t, 1, 429, http.Header{"Ratelimit-Reset": {"20"}})
	w := &waits{}
	c := NewClient(Options{Sleep: w.sleep})
	if _, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL}, nil); err != nil {
		t.Fatal(err)
	}
	if len(w.d) != 1 || w.d[0] < 20*time.Second || w.d[0] > 23*time.Second {
		t.Errorf("waits = %v, want one of 20s plus a little jitter", w.d)
	}
	if st := c.Stats(); st.RateLimited != 1 {
		t.Errorf("RateLimited = %d, want 1", st.RateLimited)
	}
}

func TestRetryConnectionReset(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	w := &waits{}
	// No keep-alive: net/http would itself retry a GET on a reused
	// connection, hiding the resets from the client.
	tr := &http.Transport{DisableKeepAlives: true}
	c := NewClient(Options{Sleep: w.sleep, HTTPClient: &http.Client{Transport: tr}})
	if _, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL}, &struct{}{}); err != nil {
		t.Fatalf("Do = %v, want success after the resets", err)
	}
	if len(w.d) != 2 {
		t.Errorf("waits = %d, want 2", len(w.d))
	}
}

func TestGiveUp(t *testing.T) {
	t.Run("max attempts", func(t *testing.T) {
		srv, n := flaky(t, 1000, 503, nil)
		w := &waits{}
		c := NewClient(Options{Sleep: w.sleep, MaxAttempts: 4})
		_, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL + "/p"}, nil)
		var he *HTTPError
		if !errors.As(err, &he) || he.Status != 503 || n.Load() != 4 {
			t.Errorf("Do = %v after %d requests; want 503 after 4", err, n.Load())
		}
	})
	t.Run("max wait", func(t *testing.T) {
		srv, n := flaky(t, 1000, 429, http.Header{"Retry-After": {"100"}})
		w := &waits{}
		c := NewClient(Options{Sleep: w.sleep, MaxWait: 150 * time.Second})
		_, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL + "/p"}, nil)
		var he *HTTPError
		if !errors.As(err, &he) || he.Status != 429 || he.RetryAfter != 100*time.Second {
			t.Errorf("Do = %v; want 429 with RetryAfter 100s", err)
		}
		if n.Load() != 2 || w.total() > 150*time.Second {
			t.Errorf("%d requests, waited %v; want 2 within MaxWait 150s", n.Load(), w.total())
		}
	})
	t.Run("context cancelled while waiting", func(t *testing.T) {
		srv, _ := flaky(t, 1000, 503, nil)
		ctx, cancel := context.WithCancel(context.Background())
		c := NewClient(Options{Sleep: func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }})
		if _, err := c.Do(ctx, Request{Method: "GET", URL: srv.URL}, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("Do = %v, want context.Canceled", err)
		}
	})
}

func TestBodyCap(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`"` + strings.Repeat("x", 4096) + `"`))
	}))
	t.Cleanup(srv.Close)
	c := NewClient(Options{MaxBody: 1024, Sleep: (&waits{}).sleep})
	var s string
	_, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL + "/big"}, &s)
	if err == nil || !strings.Contains(err.Error(), "response body larger than 1024 bytes; refusing to read it") {
		t.Errorf("Do = %v, want a body-cap error", err)
	}
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1: a body too large is not retried", n.Load())
	}
	c = NewClient(Options{MaxBody: 1024, Sleep: (&waits{}).sleep})
	if _, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL + "/big"}, nil); err == nil {
		t.Error("a body too large passed when out is nil")
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var followed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { followed.Store(true) })
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := NewClient(Options{Sleep: (&waits{}).sleep})
	_, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL + "/api", Token: "tok"}, &struct{}{})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 307 || he.Location != "/elsewhere" {
		t.Errorf("Do = %v, want a 307 HTTPError naming the location", err)
	}
	if followed.Load() {
		t.Error("the redirect was followed, carrying the bearer token")
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	c := NewClient(Options{Timeout: 20 * time.Millisecond, MaxAttempts: 1})
	_, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL + "/slow"}, nil)
	if err == nil || !strings.Contains(err.Error(), "GET /slow: request timed out") {
		t.Errorf("Do = %v, want a timeout naming the request", err)
	}
}

func TestRequestHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	c := NewClient(Options{})
	_, err := c.Do(context.Background(), Request{Method: "POST", URL: srv.URL, Token: "tok-123", Body: map[string]int{"limit": 1},
		Header: http.Header{"X-Extra": {"1"}}}, &struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"User-Agent": "idsnap/" + idsnap.Version, "Authorization": "Bearer tok-123",
		"Accept": "application/json", "Content-Type": "application/json", "X-Extra": "1"} {
		if got.Get(k) != want {
			t.Errorf("header %s = %q, want %q", k, got.Get(k), want)
		}
	}
}

func TestSecretNeverInErrors(t *testing.T) {
	const secret = "s3cr3t-bearer-value"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			w.WriteHeader(500)
		case "/redirect":
			http.Redirect(w, r, "/x", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{`))
		}
	}))
	t.Cleanup(srv.Close)
	c := NewClient(Options{Sleep: (&waits{}).sleep, MaxAttempts: 2})
	for _, u := range []string{srv.URL + "/500", srv.URL + "/redirect", srv.URL + "/bad-json", "http://127.0.0.1:1/refused"} {
		r := Request{Method: "GET", URL: u, Token: secret}
		_, err := c.Do(context.Background(), r, &struct{}{})
		if err == nil {
			t.Fatalf("GET %s succeeded", u)
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v %#v", err, r)} {
			if strings.Contains(s, secret) {
				t.Errorf("the token leaks: %s", s)
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/html" {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<!doctype html><p>login"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"users":[`))
	}))
	t.Cleanup(srv.Close)
	c := NewClient(Options{})
	tests := map[string]string{
		"/html":   "GET /html: expected JSON, got text/html: the base URL may not point at the admin API",
		"/broken": "GET /broken: malformed JSON: unexpected end of JSON input",
	}
	for path, want := range tests {
		_, err := c.Do(context.Background(), Request{Method: "GET", URL: srv.URL + path}, &struct{}{})
		var de *DecodeError
		if !errors.As(err, &de) || err.Error() != want {
			t.Errorf("Do(%s) = %v, want DecodeError %q", path, err, want)
		}
	}
}

// A provider's default burst is available at once: a small pull's first
// requests are not spaced at the sustained rate (issue 20: 8 requests of a
// 300-user Kinde demo took 1.4 s).
func TestDefaultRateStartsFull(t *testing.T) {
	c := NewClient(Options{})
	c.SetDefaultRate(2, 5)
	if got := c.limiter.Tokens(); got < 5 {
		t.Errorf("tokens after SetDefaultRate(2, 5) = %.2f, want 5", got)
	}
	for i := range 5 {
		if !c.limiter.Allow() {
			t.Fatalf("request %d of the burst had to wait", i+1)
		}
	}
	// A configured rate wins over the provider's default.
	c = NewClient(Options{RequestsPerSecond: 3})
	c.SetDefaultRate(2, 5)
	if got := c.limiter.Limit(); got != 3 {
		t.Errorf("limit = %v, want the configured 3", got)
	}
}

// pageOf reads {"items":[...]} by hand for plain strings only, and
// declines, after filling part of itself, on anything else.
type pageOf struct {
	Items []string `json:"items"`
	Next  *string  `json:"next"`
	calls int
}

func (p *pageOf) ReadPage(data []byte) bool {
	p.calls++
	p.Items = append(p.Items, "partial")
	var s struct {
		Items []string `json:"items"`
		Next  *string  `json:"next"`
	}
	if bytes.Contains(data, []byte(`\`)) || json.Unmarshal(data, &s) != nil {
		return false
	}
	p.Items, p.Next = s.Items, s.Next
	return true
}

func TestPageReader(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
		calls      int // ReadPage calls: none for a body that is not JSON
		err        bool
	}{
		{"read by ReadPage", `{"items":["a","b"]}`, []string{"a", "b"}, 1, false},
		{"declined: json.Unmarshal from zero", `{"items":["a\u0062"]}`, []string{"ab"}, 1, false},
		{"not JSON: never read", `{"items":["a",]}`, nil, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			var p pageOf
			_, err := NewClient(Options{Sleep: (&waits{}).sleep}).Do(context.Background(), Request{Method: "GET", URL: srv.URL}, &p)
			var de *DecodeError
			if tc.err != errors.As(err, &de) {
				t.Fatalf("Do = %v, want a decode error: %v", err, tc.err)
			}
			if !tc.err && !slices.Equal(p.Items, tc.want) {
				t.Errorf("items %q, want %q", p.Items, tc.want)
			}
			if tc.calls == 0 && p.calls != 0 {
				t.Errorf("ReadPage called on a body that is not JSON")
			}
		})
	}
}

type failingReader struct {
	r   io.Reader
	err error
}

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		err = f.err
	}
	return n, err
}

func TestReadBody(t *testing.T) {
	body := strings.Repeat("x", 1000)
	for _, tc := range []struct {
		name   string
		cl     int64
		r      io.Reader
		limit  int64
		want   int
		errors bool
	}{
		{"as announced", 1000, strings.NewReader(body), 5000, 1000, false},
		{"longer than announced", 10, strings.NewReader(body), 5000, 1000, false},
		{"no length", -1, strings.NewReader(body), 5000, 1000, false},
		{"no length, over the limit", -1, strings.NewReader(body), 501, 501, false},
		{"no length, cut short", -1, failingReader{strings.NewReader(body), io.ErrUnexpectedEOF}, 5000, 1000, true},
		{"no length, empty", -1, strings.NewReader(""), 5000, 0, false},
		{"over the limit", 10, strings.NewReader(body), 501, 501, false},
		{"cut short", 2000, failingReader{strings.NewReader(body), io.ErrUnexpectedEOF}, 5000, 1000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := readBody(&http.Response{ContentLength: tc.cl, Body: io.NopCloser(tc.r)}, tc.limit)
			if (err != nil) != tc.errors || len(data) != tc.want {
				t.Errorf("readBody = %d bytes, %v; want %d bytes, error %v", len(data), err, tc.want, tc.errors)
			}
		})
	}
}

// TestReadUnsizedOwnsItsSlice: bodies share reused buffers, never the
// slices returned, which a PageReader keeps.
func TestReadUnsizedOwnsItsSlice(t *testing.T) {
	a, err := readUnsized(strings.NewReader(strings.Repeat("a", 3000)))
	if err != nil {
		t.Fatal(err)
	}
	for range maxBodyBufs + 1 {
		if _, err := readUnsized(strings.NewReader(strings.Repeat("b", 5000))); err != nil {
			t.Fatal(err)
		}
	}
	if string(a) != strings.Repeat("a", 3000) {
		t.Errorf("a body changed when later ones were read")
	}
}
