package kinde

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
	"github.com/idsnap/idsnap/internal/jsonbytes"
)

var userCases = []string{
	`{"id":"kp_1","provided_id":"e-1","email":"a@example.com","username":null,"first_name":"Zoë","last_name":"M\u00fcller","full_name":"A B","is_suspended":true,"created_on":"2025-02-12T18:02:23.614638+00:00","last_signed_in":null,"total_sign_ins":12,"failed_sign_ins":0,"identities":[{"type":"email"}],"billing":null}`,
	`{"id":"kp_2","total_sign_ins":"3","failed_sign_ins":1.5e2}`,
	`{"id":"kp_3","ID":"x","Email":"y"}`,
	`{"id":"kp_4","id":"kp_5","email":"a","email":null}`,
	`{"id":"kp_\ud800","first_name":"\xff"}`,
	`{"id":1}`, `{"is_suspended":"yes"}`, `null`, `[]`, `{}`,
}

// The user reader, with its fallback, decodes what json.Unmarshal does
// and fails where it fails.
func checkUserReader(t *testing.T, b []byte) {
	var want user
	wantErr := json.Unmarshal(b, &want)
	got, err := decodeUser(b)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("decode %q: error %v, json.Unmarshal's %v", b, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decode %q:\n got %+v\nwant %+v", b, got, want)
	}
}

func TestUserReader(t *testing.T) {
	for _, c := range userCases {
		checkUserReader(t, []byte(c))
	}
}

// FuzzUserReader: users come from a page the client validated, so
// only valid JSON is a user the reader sees.
func FuzzUserReader(f *testing.F) {
	for _, c := range userCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if json.Valid(b) {
			checkUserReader(t, b)
		}
	})
}

// pageCases are odd pages: every reader either declines them or reads
// what json.Unmarshal reads.
var pageCases = []string{
	`{"code":"OK","message":"Success","users":[{"id":"kp_1"}, null ,{"id":2},[],"x",1],"next_token":"t"}`,
	`{"users":[],"next_token":null}`, `{"users":null}`, `{}`, `null`, `[]`, `"users"`, `{"users":{}}`,
	`{"users":[{"id":"a"}],"users":[]}`, `{"next_token":"a","next_token":"b"}`,
	`{"Users":[{"id":"a"}]}`, `{"NEXT_TOKEN":"a"}`, `{"next_Token":"a","next_token":"b"}`, `{"ſers":[]}`,
	`{"us\u0065rs":[]}`, `{"next_token":"\u0041\ud800"}`, `{"next_token":1}`, `{"next_token":["a"]}`,
	`{"organizations":[{"code":"org_1","name":"Acme","is_default":true}],"next_token":""}`,
	`{"organizations":[],"ORGANIZATIONS":null}`, `{"organizations":5}`,
	`{"organization_users":[{"id":"kp_1","email":"a@example.com","full_name":"A B","joined_on":"2024-01-01T00:00:00+00:00","last_accessed_on":null,"roles":["admin","billing"]}],"next_token":"n"}`,
	`{"organization_users":[null,{},{"id":null,"joined_on":null,"roles":null},{"roles":[]}]}`,
	`{"organization_users":[{"id":"a","id":"b","roles":["x","y"],"roles":["z"]}]}`,
	`{"organization_users":[{"id":"a","roles":["x"],"roles":null}]}`,
	`{"organization_users":[{"id":"a","roles":["x",null]}]}`, `{"organization_users":[{"id":"a","roles":[1]}]}`,
	`{"organization_users":[{"ID":"a"}]}`, `{"organization_users":[{"Roles":[]}]}`, `{"organization_users":[{"id":1}]}`,
	`{"organization_users":[{"id":"a","joined_on":5}]}`, `{"organization_users":["a"]}`, `{"organization_users":{}}`,
	`{"organization_users":[{"id":"\u00e9","roles":["r\"1"]}]}`, `{"organization_users":[{"i\u0064":"a"}]}`,
	` { "users" : [ { "id" : "a" } , { } ] , "next_token" : "b" } `,
}

// checkPage reads b with P's ReadPage and, where it accepts b, checks
// that json.Unmarshal accepts it and reads the same. It reports whether
// ReadPage accepted b. Like fetch.Client, it reads only valid JSON.
func checkPage[P any, PP interface {
	*P
	fetch.PageReader
}](t *testing.T, b []byte) bool {
	t.Helper()
	var fast, slow P
	if !PP(&fast).ReadPage(b) {
		return false
	}
	if err := json.Unmarshal(b, &slow); err != nil {
		t.Fatalf("ReadPage(%s) = true, but json.Unmarshal into %T: %v", b, slow, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("ReadPage(%s):\n got %#v\nwant %#v", b, fast, slow)
	}
	return true
}

func checkPages(t *testing.T, b []byte) {
	t.Helper()
	checkPage[usersPage](t, b)
	checkPage[orgsPage](t, b)
	checkPage[membersPage](t, b)
}

func TestPageReaders(t *testing.T) {
	for _, c := range pageCases {
		if !json.Valid([]byte(c)) {
			t.Fatalf("not valid JSON: %s", c)
		}
		checkPages(t, []byte(c))
	}
	// The readers take the pages providers send, not only odd ones.
	for _, tt := range []struct {
		read func(*testing.T, []byte) bool
		page string
	}{
		{checkPage[usersPage], pageCases[0]},
		{checkPage[usersPage], `{"users":null}`},
		{checkPage[orgsPage], pageCases[18]},
		{checkPage[membersPage], pageCases[21]},
		{checkPage[membersPage], pageCases[22]},
	} {
		if !tt.read(t, []byte(tt.page)) {
			t.Errorf("declined %s", tt.page)
		}
	}
}

// recorder keeps every body the fake answers a listing with.
type recorder struct {
	mu     sync.Mutex
	bodies map[string][][]byte // by path
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, "/api/v1/") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies[req.URL.Path] = append(r.bodies[req.URL.Path], body)
	return resp, nil
}

// TestPageReadersOnFake: every page of the fake's listings is read by
// its reader, as json.Unmarshal reads it.
func TestPageReadersOnFake(t *testing.T) {
	bodies := capturePages(t, 1200, 30)
	n := map[string]int{}
	for path, pages := range bodies {
		for _, b := range pages {
			var ok bool
			switch {
			case path == "/api/v1/users":
				ok = checkPage[usersPage](t, b)
			case path == "/api/v1/organizations":
				ok = checkPage[orgsPage](t, b)
			case strings.HasSuffix(path, "/users"):
				ok = checkPage[membersPage](t, b)
			default:
				t.Fatalf("unexpected listing %s", path)
			}
			if !ok {
				t.Fatalf("%s: the reader declined the fake's page %.200s", path, b)
			}
			n[strings.TrimSuffix(path[:min(len(path), 22)], "/")]++
		}
	}
	if n["/api/v1/users"] < 3 || n["/api/v1/organizations"] < 1 || len(bodies) < 30 {
		t.Fatalf("too few pages read: %v over %d paths", n, len(bodies))
	}
}

// FuzzPageReaders: each page reader reads what json.Unmarshal reads, or
// declines.
func FuzzPageReaders(f *testing.F) {
	for _, c := range pageCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if json.Valid(b) {
			checkPages(t, b)
		}
	})
}

// capturePages pulls a generated tenant from the fake and returns the
// bodies of its listings by path.
func capturePages(tb testing.TB, users, orgs int) map[string][][]byte {
	tb.Helper()
	srv := kindetest.NewServer(kindetest.Generate(7, users, orgs), kindetest.Config{})
	defer srv.Close()
	rec := &recorder{bodies: map[string][][]byte{}}
	c := fetch.NewClient(fetch.Options{RequestsPerSecond: 1e6, HTTPClient: &http.Client{Transport: rec}})
	f, err := New(idsnap.Source{Name: "k", Provider: "kinde", BaseURL: srv.URL, Settings: map[string]string{"client_id": kindetest.DemoClientID},
		Secrets: map[string]idsnap.Secret{"client_secret": kindetest.DemoClientSecret}}, c)
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.Fetch(context.Background(), func(context.Context, idsnap.Record) error { return nil }); err != nil {
		tb.Fatal(err)
	}
	return rec.bodies
}

// BenchmarkPageRecords reads the fake's pages of 5000 users and 100
// organizations and makes their records, as the listings do: the
// fetcher's own CPU per record, without the network or the store.
func BenchmarkPageRecords(b *testing.B) {
	bodies := capturePages(b, 5000, 100)
	emit := func(context.Context, idsnap.Record) error { return nil }
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for path, pages := range bodies {
			for _, body := range pages {
				switch {
				case path == "/api/v1/users":
					var p usersPage
					if !jsonbytes.Valid(body) || !p.ReadPage(body) {
						b.Fatal("users page declined")
					}
					for _, raw := range p.Users {
						if _, err := userRecord(raw); err != nil {
							b.Fatal(err)
						}
					}
				case path == "/api/v1/organizations":
					var p orgsPage
					if !jsonbytes.Valid(body) || !p.ReadPage(body) {
						b.Fatal("organizations page declined")
					}
				default:
					var p membersPage
					if !jsonbytes.Valid(body) || !p.ReadPage(body) {
						b.Fatal("members page declined")
					}
					if err := memberRecords(ctx, "org", idsnap.EntitlementID("org", memberKey), map[string]bool{}, &p, emit); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
}

// BenchmarkReadPages reads the fake's pages of 5000 users and 100
// organizations as the client reads them, validated and then by ReadPage,
// and, for comparison, with json.Unmarshal.
func BenchmarkReadPages(b *testing.B) {
	bodies := capturePages(b, 5000, 100)
	page := func(path string) fetch.PageReader {
		switch path {
		case "/api/v1/users":
			return new(usersPage)
		case "/api/v1/organizations":
			return new(orgsPage)
		}
		return new(membersPage)
	}
	b.Run("ReadPage", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for path, pages := range bodies {
				for _, body := range pages {
					if !jsonbytes.Valid(body) || !page(path).ReadPage(body) {
						b.Fatalf("%s: page declined", path)
					}
				}
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for path, pages := range bodies {
				for _, body := range pages {
					if err := json.Unmarshal(body, page(path)); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	})
}
