package kinde_test

import (
	"context"
	"strings"
	"testing"

	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
)

func TestDoctor(t *testing.T) {
	tests := []struct {
		name    string
		cfg     kindetest.Config
		secret  string
		wantOK  map[string]bool
		wantFix map[string]string
	}{
		{name: "all granted", wantOK: map[string]bool{"M2M token": true, "read:users scope": true, "read:organizations scope": true, "read:organization_users scope": true, "webhook JWKS": true}},
		{name: "no read:organization_users", cfg: kindetest.Config{Scopes: []string{kindetest.ScopeReadUsers, kindetest.ScopeReadOrganizations}},
			wantOK:  map[string]bool{"M2M token": true, "read:users scope": true, "read:organizations scope": true, "read:organization_users scope": false, "webhook JWKS": true},
			wantFix: map[string]string{"read:organization_users scope": "grant read:organization_users to the M2M application"}},
		{name: "wrong secret", secret: "nope",
			wantOK:  map[string]bool{"M2M token": false, "read:users scope": false, "read:organizations scope": false, "read:organization_users scope": false, "webhook JWKS": true},
			wantFix: map[string]string{"M2M token": "authorize it for the Kinde Management API"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, kindetest.Generate(10, 5, 2), tt.cfg)
			src := source(srv.URL)
			if tt.secret != "" {
				src.Secrets["client_secret"] = "nope"
			}
			checks := newFetcher(t, src, nil).(fetch.Doctor).Doctor(context.Background())
			if len(checks) != len(tt.wantOK) {
				t.Fatalf("Doctor gave %d checks, want %d: %+v", len(checks), len(tt.wantOK), checks)
			}
			for _, c := range checks {
				want, ok := tt.wantOK[c.Name]
				if !ok || c.OK != want {
					t.Errorf("check %q OK = %v, want %v (%s)", c.Name, c.OK, want, c.Detail)
				}
				if c.OK && c.Fix != "" || !c.OK && c.Fix == "" {
					t.Errorf("check %q OK %v with fix %q", c.Name, c.OK, c.Fix)
				}
				if f := tt.wantFix[c.Name]; f != "" && !strings.Contains(c.Fix, f) {
					t.Errorf("check %q fix = %q, want it to contain %q", c.Name, c.Fix, f)
				}
			}
			for _, req := range srv.Faults.Requests() {
				if strings.HasPrefix(req, "GET /api/") && !strings.Contains(req, "page_size=1") {
					t.Errorf("doctor request %q is not a one-item page", req)
				}
			}
		})
	}
}
