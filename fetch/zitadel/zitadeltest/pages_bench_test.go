package zitadeltest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// discard is a ResponseWriter that keeps nothing, so a benchmark measures
// the fake's own work, not a recorder's.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// pullRequests are the listings a pull of tn makes with 1,000-row pages.
func pullRequests(tn *Tenant) []pageRequest {
	var rs []pageRequest
	add := func(path, body string) { rs = append(rs, pageRequest{http.MethodPost, path, "", body}) }
	page := func(off int) string { return fmt.Sprintf(`{"query":{"offset":"%d","limit":1000,"asc":true}`, off) }
	for off := 0; off < len(tn.Users()); off += 1000 {
		add("/management/v1/users/_search", page(off)+"}")
	}
	add("/management/v1/projects/_search", page(0)+"}")
	perProject := map[string]int{}
	for _, g := range tn.Grants() {
		perProject[g.ProjectID]++
	}
	for _, p := range tn.Projects() {
		add("/management/v1/projects/"+p.ID+"/roles/_search", page(0)+"}")
		for off := 0; off == 0 || off < perProject[p.ID]; off += 1000 {
			add("/management/v1/users/grants/_search", page(off)+fmt.Sprintf(`,"queries":[{"projectIdQuery":{"projectId":%q}}]}`, p.ID))
		}
	}
	return rs
}

// BenchmarkPull serves every page of a pull of 20k users and 40 projects:
// warm with every row cached by the pull before, cold with none.
func BenchmarkPull(b *testing.B) {
	tn := Generate(3, 20_000, 40)
	rs := pullRequests(tn)
	serve := func(h http.Handler) {
		for _, pr := range rs {
			r := httptest.NewRequest(pr.method, pr.path, strings.NewReader(pr.body))
			r.Header.Set("Authorization", "Bearer "+DefaultPAT)
			h.ServeHTTP(&discard{h: http.Header{}}, r)
		}
	}
	h := NewHandler(tn, Config{})
	b.Run("warm", func(b *testing.B) {
		serve(h)
		for b.Loop() {
			serve(h)
		}
	})
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			tn.dropRows()
			b.StartTimer()
			serve(h)
		}
	})
}
