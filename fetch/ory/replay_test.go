package ory_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/idsnap/idsnap"
)

// The samples are real Kratos v26.2.0 responses (copied from
// specs/ory-kratos-samples; see testdata/samples/INDEX.md).
const samples = "testdata/samples"

// sample is one captured response.
type sample struct {
	status int
	header http.Header
	body   []byte
}

func loadSample(tb testing.TB, name string) sample {
	tb.Helper()
	hf, err := os.Open(filepath.Join(samples, name+".headers"))
	if err != nil {
		tb.Fatal(err)
	}
	defer hf.Close()
	sc := bufio.NewScanner(hf)
	s := sample{header: http.Header{}}
	if sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			tb.Fatalf("%s: bad status line %q", name, sc.Text())
		}
		s.status, _ = strconv.Atoi(f[1])
	}
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch k = strings.TrimSpace(k); k {
		case "Content-Length", "Transfer-Encoding", "Date":
			// The replay server writes its own.
		default:
			s.header.Add(k, strings.TrimSpace(v))
		}
	}
	for _, ext := range []string{".json", ".body"} {
		if b, err := os.ReadFile(filepath.Join(samples, name+ext)); err == nil {
			s.body = b
			break
		}
	}
	return s
}

// replay serves captured responses: route picks a sample per request.
type replay struct {
	mu   sync.Mutex
	seen []string
}

func (rp *replay) server(tb testing.TB, route func(r *http.Request) sample) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		rp.seen = append(rp.seen, r.URL.RequestURI())
		rp.mu.Unlock()
		s := route(r)
		for k, vs := range s.header {
			w.Header()[k] = vs
		}
		w.WriteHeader(s.status)
		w.Write(s.body)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

func TestReplayListWalk(t *testing.T) {
	p1, p2, p3 := loadSample(t, "list_p1"), loadSample(t, "list_p2"), loadSample(t, "list_p3")
	rp := &replay{}
	srv := rp.server(t, func(r *http.Request) sample {
		switch r.URL.Query().Get("page_token") {
		case "":
			return p1
		case "6b666c6a-0299-4e57-a2f5-69d11a8c3f46":
			return p2
		case "ce55f85e-05ed-47b3-a94c-d0770a0e88a6":
			return p3
		}
		return loadSample(t, "token_garbage")
	})
	f, _ := newFetcher(t, srv.URL, "")
	var mu sync.Mutex
	var order []string
	recs := map[string]idsnap.Record{}
	err := f.Fetch(context.Background(), func(_ context.Context, r idsnap.Record) error {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, r.ID)
		recs[r.ID] = r
		return nil
	})
	if err != nil {
		t.Fatalf("Fetch over the captured pages = %v", err)
	}
	wantSeen := []string{
		"/admin/identities?page_size=500",
		"/admin/identities?page_size=100&page_token=6b666c6a-0299-4e57-a2f5-69d11a8c3f46",
		"/admin/identities?page_size=100&page_token=ce55f85e-05ed-47b3-a94c-d0770a0e88a6",
	}
	if !slices.Equal(rp.seen, wantSeen) {
		t.Errorf("requests = %q, want the Link header's next URLs %q", rp.seen, wantSeen)
	}
	if len(order) != 250 || len(recs) != 250 {
		t.Fatalf("pulled %d records (%d distinct), want 250", len(order), len(recs))
	}
	// A page's identities are emitted from two goroutines, so only the
	// pages are in keyset order: the first 100 emitted are the first
	// page's (its ids sort before the next pages').
	first := slices.Sorted(slices.Values(order[:100]))
	if all := slices.Sorted(slices.Values(order)); !slices.Equal(first, all[:100]) {
		t.Errorf("records of page 1 and later pages interleaved: pages not in keyset order")
	}

	var examples map[string]json.RawMessage
	b, err := os.ReadFile(filepath.Join(samples, "identity_examples_from_list.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &examples); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	tests := []struct {
		email, id, name, ext string
		status               idsnap.Status
		verified             *bool
	}{
		{"user0084@example.com", "6b666c6a-0299-4e57-a2f5-69d11a8c3f46", "First0084 Last0084", "ext-user-0084", idsnap.StatusActive, &yes},
		{"user0035@example.com", "bf4d4bdd-afeb-43ba-8cb1-7d35df0359b7", "First0035 Last0035", "ext-user-0035", idsnap.StatusInactive, &no},
		{"user0010@example.com", "99dd91fd-a197-489c-bd84-3bdb78da1055", "", "", idsnap.StatusInactive, &yes},
		{"user0001@example.com", "763362fc-9089-4907-ac5e-f6f16a27fdae", "First0001 Last0001", "", idsnap.StatusActive, &no},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			r, ok := recs[tt.id]
			if !ok {
				t.Fatalf("identity %s not pulled", tt.id)
			}
			if r.Email != tt.email || r.Name != tt.name || r.ExternalID != tt.ext || r.Status != tt.status ||
				r.EmailVerified == nil || *r.EmailVerified != *tt.verified || r.Username != "" || r.Activity != nil {
				t.Errorf("record = %+v", r)
			}
			if _, ok := examples[tt.email]; !ok {
				t.Fatalf("no example for %s", tt.email)
			}
			var want, got map[string]any
			if err := json.Unmarshal(examples[tt.email], &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(r.Raw, &got); err != nil {
				t.Fatal(err)
			}
			// Raw is the captured identity minus every updated_at.
			delete(want, "updated_at")
			for _, k := range []string{"verifiable_addresses", "recovery_addresses"} {
				for _, a := range want[k].([]any) {
					delete(a.(map[string]any), "updated_at")
				}
			}
			wb, _ := json.Marshal(want)
			gb, _ := json.Marshal(got)
			if string(wb) != string(gb) {
				t.Errorf("Raw =\n%s\nwant\n%s", gb, wb)
			}
		})
	}
}

// TestReplayErrors: the captured error answers give their one-line
// messages.
func TestReplayErrors(t *testing.T) {
	tests := []struct {
		sample, base, want string
	}{
		{"size_abc", "", `list identities: 400 from GET /admin/identities: Bad Request: strconv.Atoi: parsing "abc": invalid syntax`},
		{"token_garbage", "", "list identities: 400 from GET /admin/identities: Bad Request: The page token is invalid, do not craft your own page tokens"},
		{"route_404", "", "list identities: 404 from GET /admin/identities: 404 page not found; base_url is not an Ory Admin API: self-hosted Kratos serves it on the admin port (4434, not the public 4433), Ory Network at https://{slug}.projects.oryapis.com/"},
		{"trailing_slash", "/admin/", "list identities: 404 from GET /admin/admin/identities: 404 page not found; drop the trailing /admin/ from base_url: idsnap adds admin/identities itself"},
		{"method_not_allowed", "", "list identities: 405 from GET /admin/identities: Method Not Allowed"},
		{"get_404", "", "list identities: 404 from GET /admin/identities: Not Found: Unable to locate the resource; base_url is not an Ory Admin API: self-hosted Kratos serves it on the admin port (4434, not the public 4433), Ory Network at https://{slug}.projects.oryapis.com/"},
		{"public_port_admin", "", "list identities: 307 from GET /admin/identities: redirected to http://127.0.0.1:4434/admin/identities; base_url is Kratos' public port; use the admin port: base_url = http://127.0.0.1:4434/"},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			s := loadSample(t, tt.sample)
			srv := (&replay{}).server(t, func(*http.Request) sample { return s })
			f, _ := newFetcher(t, srv.URL+tt.base, "")
			_, err := pull(context.Background(), f)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Fetch = %v\nwant %s", err, tt.want)
			}
		})
	}
}

// TestReplayEmptyLastPage: a page token past the last row gives [] and
// only rel="first": the listing ends, with no records.
func TestReplayEmptyLastPage(t *testing.T) {
	s := loadSample(t, "token_ffff")
	srv := (&replay{}).server(t, func(*http.Request) sample { return s })
	f, _ := newFetcher(t, srv.URL, "")
	recs, err := pull(context.Background(), f)
	if err != nil || len(recs) != 0 {
		t.Fatalf("Fetch = %d records, %v; want none, no error", len(recs), err)
	}
}
