package kinde_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/fetchtest"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
)

const scopeHint = "; grant it in Kinde: Settings > APIs > Kinde Management API > Scopes"

func TestFetchErrors(t *testing.T) {
	json := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name  string
		cfg   kindetest.Config
		src   func(s *idsnap.Source)
		fault func(s *kindetest.Server, code string)
		// want is the whole error, or its end when the failing list is one
		// of two running in parallel.
		want   string
		suffix bool
	}{
		{name: "wrong secret", src: func(s *idsnap.Source) { s.Secrets["client_secret"] = "wrong-secret" },
			want: "get token: 401 from POST /oauth2/token: invalid_client: check client_id and client_secret of the M2M application"},
		{name: "wrong client id", src: func(s *idsnap.Source) { s.Settings["client_id"] = "nobody" },
			want: "get token: 401 from POST /oauth2/token: invalid_client: check client_id and client_secret of the M2M application"},
		{name: "not authorized for the API", cfg: kindetest.Config{NotAuthorized: true},
			want: "get token: 403 from POST /oauth2/token: the audience was refused: authorize the M2M application for the Kinde Management API (Settings > Applications > your M2M app > APIs), and use the https://<subdomain>.kinde.com domain as base_url, not a custom domain"},
		{name: "base_url with a path", src: func(s *idsnap.Source) { s.BaseURL += "/auth" },
			want: "get token: 404 from POST /oauth2/token: check base_url is your Kinde domain (https://<subdomain>.kinde.com) and client_id is the M2M application's"},
		{name: "no read:users", cfg: kindetest.Config{Scopes: []string{kindetest.ScopeReadOrganizations, kindetest.ScopeReadOrganizationUsers}},
			want: "list users: 403 from GET /api/v1/users: the M2M application lacks the read:users scope" + scopeHint},
		{name: "no read:organizations", cfg: kindetest.Config{Scopes: []string{kindetest.ScopeReadUsers, kindetest.ScopeReadOrganizationUsers}},
			want: "list organizations: 403 from GET /api/v1/organizations: the M2M application lacks the read:organizations scope" + scopeHint},
		{name: "no read:organization_users", cfg: kindetest.Config{Scopes: []string{kindetest.ScopeReadUsers, kindetest.ScopeReadOrganizations}},
			want: "/users: the M2M application lacks the read:organization_users scope" + scopeHint, suffix: true},
		{name: "token refused", fault: func(s *kindetest.Server, _ string) {
			s.Faults.Add(fetchtest.Fault{Path: "/api/", Status: 403, Header: json,
				Body: `{"errors":[{"code":"TOKEN_INVALID","message":"Invalid credentials used to access API"}]}`})
		}, want: ": invalid credentials (TOKEN_INVALID); check client_id and client_secret, and that the M2M application is authorized for the Kinde Management API", suffix: true},
		{name: "route not found", fault: func(s *kindetest.Server, _ string) {
			s.Faults.Add(fetchtest.Fault{Path: "/api/v1/users", Status: 404, Header: json,
				Body: `{"errors":{"code":"ROUTE_NOT_FOUND","message":"The requested API route does not exist"}}`})
		}, want: "list users: 404 from GET /api/v1/users: ROUTE_NOT_FOUND: the route does not exist; check base_url is your Kinde domain (https://<subdomain>.kinde.com) with no path"},
		{name: "malformed JSON", fault: func(s *kindetest.Server, _ string) {
			s.Faults.Add(fetchtest.Fault{Path: "/api/v1/organizations", Times: 1, Truncate: 20})
		}, want: "list organizations: GET /api/v1/organizations: malformed JSON: unexpected end of JSON input"},
		{name: "HTML page", fault: func(s *kindetest.Server, _ string) {
			s.Faults.Add(fetchtest.Fault{Path: "/api/v1/users", Status: 200, Header: http.Header{"Content-Type": {"text/html"}}, Body: "<!doctype html><p>hi"})
		}, want: "list users: GET /api/v1/users: expected JSON, got text/html: the base URL may not point at the admin API"},
		{name: "rate limited for good", fault: func(s *kindetest.Server, _ string) {
			s.Faults.Add(fetchtest.Fault{Path: "/api/v1/users", Status: 429, Header: http.Header{"Ratelimit-Reset": {"1"}, "Content-Type": {"application/json"}},
				Body: `{"errors":[{"code":"TOO_MANY_REQUESTS","message":"Too many requests"}]}`})
		}, want: "list users: 429 from GET /api/v1/users: still rate limited after retrying; pull again later or set a lower requests_per_second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant := kindetest.Generate(7, 20, 2)
			srv := newServer(t, tenant, tt.cfg)
			if tt.fault != nil {
				tt.fault(srv, tenant.OrgCodes()[0])
			}
			src := source(srv.URL)
			if tt.src != nil {
				tt.src(&src)
			}
			c := &collector{recs: map[string]idsnap.Record{}}
			err := newFetcher(t, src, nil).Fetch(context.Background(), c.emit)
			if err == nil {
				t.Fatal("Fetch succeeded, want an error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if strings.Contains(msg, kindetest.DemoClientSecret) || strings.Contains(msg, "wrong-secret") {
				t.Errorf("error shows the client secret: %q", msg)
			}
			if tt.suffix && !strings.HasSuffix(msg, tt.want) || !tt.suffix && msg != tt.want {
				t.Errorf("error = %q\n       want %q", msg, tt.want)
			}
		})
	}
}

// A server that hands back the same next_token forever must not loop.
func TestRepeatingNextToken(t *testing.T) {
	tenant := kindetest.Generate(8, 5, 1)
	real := kindetest.NewHandler(tenant, kindetest.Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/users" {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"code":"OK","message":"Success","users":[],"next_token":"MTo6OmlkX2FzYw=="}`))
			return
		}
		real.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c := &collector{recs: map[string]idsnap.Record{}}
	err := newFetcher(t, source(srv.URL), nil).Fetch(context.Background(), c.emit)
	want := "list users: GET /api/v1/users: the server returned a pagination token it had returned before (page 2); refusing to loop"
	if err == nil || err.Error() != want {
		t.Errorf("Fetch = %v, want %q", err, want)
	}
}

// An API error keeps its status for callers that look (errors.As).
func TestErrorUnwrapsToHTTPError(t *testing.T) {
	tenant := kindetest.Generate(9, 5, 1)
	srv := newServer(t, tenant, kindetest.Config{Scopes: []string{kindetest.ScopeReadOrganizations, kindetest.ScopeReadOrganizationUsers}})
	c := &collector{recs: map[string]idsnap.Record{}}
	err := newFetcher(t, source(srv.URL), nil).Fetch(context.Background(), c.emit)
	var he *fetch.HTTPError
	if !errors.As(err, &he) || he.Status != 403 || he.Code != "SCOPE_MISSING" {
		t.Errorf("Fetch = %v; want an *fetch.HTTPError 403 SCOPE_MISSING inside", err)
	}
}
