package fetch

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/idsnap/idsnap"
)

func TestEndpointsRecorded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }))
	defer srv.Close()
	c := NewClient(Options{})
	ctx := context.Background()
	for _, r := range []Request{
		{Method: "GET", URL: srv.URL + "/api/v1/users?page_size=500&expand=organizations"},
		{Method: "GET", URL: srv.URL + "/api/v1/users?page_size=500&expand=organizations&next_token=abc"},
		{Method: "GET", URL: srv.URL + "/api/v1/organizations/org_1a/users?page_size=500"},
		{Method: "GET", URL: srv.URL + "/api/v1/organizations/org_2b/users?page_size=500&api_key=hunter2"},
		{Method: "POST", URL: srv.URL + "/management/v1/users/_search", Body: map[string]any{
			"query": map[string]any{"offset": "1000", "limit": 1000, "asc": true}, "client_secret": "x"}},
	} {
		if _, err := c.Do(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := []idsnap.Endpoint{
		{Method: "GET", Path: "/api/v1/organizations/{id}/users", Params: "page_size=500", Requests: 2},
		{Method: "GET", Path: "/api/v1/users", Params: "expand=organizations&page_size=500", Requests: 2},
		{Method: "POST", Path: "/management/v1/users/_search", Params: `{"query":{"asc":true,"limit":1000}}`, Requests: 1},
	}
	if got := c.Endpoints(); !slices.Equal(got, want) {
		t.Errorf("Endpoints() =\n%+v\nwant\n%+v", got, want)
	}

	c.NoteTotal("POST /management/v1/projects/123/roles/_search", 3, 3)
	c.NoteTotal("POST /management/v1/projects/456/roles/_search", 2, 2)
	c.NoteTotal("POST /management/v1/users/_search", 40, 40)
	wantT := []idsnap.ProviderTotal{
		{Endpoint: "POST /management/v1/projects/{id}/roles/_search", Listings: 2, Total: 5, Read: 5},
		{Endpoint: "POST /management/v1/users/_search", Listings: 1, Total: 40, Read: 40},
	}
	if got := c.Totals(); !slices.Equal(got, wantT) {
		t.Errorf("Totals() = %+v, want %+v", got, wantT)
	}
}
