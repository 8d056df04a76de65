package zitadel

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
)

func without(perm string) []string {
	var ps []string
	for _, p := range zitadeltest.Permissions {
		if p != perm {
			ps = append(ps, p)
		}
	}
	return ps
}

func TestErrors(t *testing.T) {
	const lacks = "; the service user lacks %s: give it ORG_OWNER_VIEWER (read-only) or ORG_USER_MANAGER on the org (ZITADEL console: Organization > Managers)"
	gateway := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct {
		name  string
		cfg   zitadeltest.Config
		src   idsnap.Source
		fault *fetchtestFault
		want  string
	}{
		{name: "bad PAT", src: idsnap.Source{Secrets: map[string]idsnap.Secret{"pat": "expired"}},
			want: "detect org: 401 from POST /admin/v1/orgs/_search: Token is invalid (AUTH-7fs1e); check the PAT, it may be expired or revoked"},
		{name: "no user.read", cfg: zitadeltest.Config{Permissions: without("user.read")},
			want: "list users: 403 from POST /management/v1/users/_search: No matching permissions found (AUTH-5mWD2)" + strings.ReplaceAll(lacks, "%s", "user.read")},
		{name: "no project.read", cfg: zitadeltest.Config{Permissions: without("project.read")},
			want: "list projects: 403 from POST /management/v1/projects/_search: No matching permissions found (AUTH-5mWD2)" + strings.ReplaceAll(lacks, "%s", "project.read")},
		{name: "no user.grant.read", cfg: zitadeltest.Config{Permissions: without("user.grant.read")},
			want: "403 from POST /management/v1/users/grants/_search: No matching permissions found (AUTH-5mWD2)" + strings.ReplaceAll(lacks, "%s", "user.grant.read")},
		{name: "no project.role.read", cfg: zitadeltest.Config{Permissions: without("project.role.read")},
			want: "/roles/_search: No matching permissions found (AUTH-5mWD2)" + strings.ReplaceAll(lacks, "%s", "project.role.read")},
		{name: "no org.read with org_id", cfg: zitadeltest.Config{Permissions: without("org.read")}, src: idsnap.Source{Settings: map[string]string{"org_id": "280000000000007919"}},
			want: "org_id 280000000000007919: the service user has no role in this org, or lacks org.read (403 from GET /management/v1/orgs/me: No matching permissions found (AUTH-5mWD2)); check org_id, or give the service user " + orgRoles},
		{name: "gateway envelope, id only in details",
			fault: &fetchtestFault{"/management/v1/users/_search", http.StatusBadRequest,
				`{"code":3,"message":"Errors.Invalid","details":[{"@type":"type.googleapis.com/zitadel.v1.ErrorDetail","id":"USER-x7d3","message":"Errors.Invalid"}]}`},
			want: "list users: 400 from POST /management/v1/users/_search: Errors.Invalid (USER-x7d3)"},
		{name: "not the API",
			fault: &fetchtestFault{"/management/v1/users/_search", http.StatusNotFound, `<html>nginx</html>`},
			want:  "list users: 404 from POST /management/v1/users/_search: the server answered with an HTML page, not the API; is instance_url the instance's root URL?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, zitadeltest.Generate(4, 20, 3), tc.cfg, tc.src)
			if tc.fault != nil {
				e.srv.Faults.FailNext(tc.fault.path, 0, tc.fault.status, gateway, tc.fault.body)
			}
			_, err := e.pull(t)
			if err == nil || !strings.HasSuffix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Fetch error =\n%v\nwant it to end with\n%s", err, tc.want)
			}
			var he *fetch.HTTPError
			if !errors.As(err, &he) && !strings.HasPrefix(tc.want, "org_id") {
				t.Errorf("error %v does not wrap a *fetch.HTTPError", err)
			}
		})
	}
}

type fetchtestFault struct {
	path   string
	status int
	body   string
}

func TestRetries(t *testing.T) {
	tenant := zitadeltest.Generate(5, 300, 4)
	e := newEnv(t, tenant, zitadeltest.Config{}, idsnap.Source{})
	e.srv.Faults.FailNext("/management/v1/users/_search", 2, http.StatusTooManyRequests, http.Header{"Retry-After": {"7"}}, "")
	e.srv.Faults.FailNext("/management/v1/projects/_search", 1, http.StatusServiceUnavailable, nil, "")
	recs := e.mustPull(t)
	sameCounts(t, count(recs), want(tenant))
	var sevens int
	for _, d := range e.naps {
		if d >= 7e9 && d < 8e9 {
			sevens++
		}
	}
	if sevens != 2 || len(e.naps) != 3 {
		t.Errorf("waits = %v, want two after Retry-After 7 and one backoff", e.naps)
	}
}

func TestPageSizeFallback(t *testing.T) {
	tenant := zitadeltest.Generate(6, 250, 3)
	e := newEnv(t, tenant, zitadeltest.Config{MaxLimit: 500}, idsnap.Source{})
	recs := e.mustPull(t)
	sameCounts(t, count(recs), want(tenant))
	// One refused page, then 3 pages of 100.
	if n := e.srv.Faults.Count("/management/v1/users/_search"); n != 4 {
		t.Errorf("user requests = %d, want 4", n)
	}
}

func TestNew(t *testing.T) {
	c := fetch.NewClient(fetch.Options{})
	for _, tc := range []struct {
		url, pat, org string
		want          string // error, or the normalised base
	}{
		{"https://acme.zitadel.cloud/", "p", "", "https://acme.zitadel.cloud"},
		{"http://localhost:8080", "p", "", "http://localhost:8080"},
		{"", "p", "", "instance_url is required: the instance's URL, such as https://acme.zitadel.cloud"},
		{"acme.zitadel.cloud", "p", "", "instance_url: not an absolute http(s) URL: write it as https://acme.zitadel.cloud (http:// for a local instance)"},
		{"https://acme.zitadel.cloud/management/v1", "p", "", "instance_url: must have no path: use the instance's root URL, such as https://acme.zitadel.cloud"},
		{"https://u:secret@acme.zitadel.cloud", "p", "", "instance_url: must not hold credentials: put them in pat"},
		{"https://acme.zitadel.cloud", "", "", "pat is required: a personal access token of a service user (ZITADEL console: Users > Service Users > Personal Access Tokens)"},
		{"https://acme.zitadel.cloud", "p", "a b", `org_id "a b" is not an org id; copy it from the ZITADEL console (Organization > Resource ID) or leave it out`},
	} {
		t.Run(tc.url, func(t *testing.T) {
			f, err := New(idsnap.Source{BaseURL: tc.url, Settings: map[string]string{"org_id": tc.org}, Secrets: map[string]idsnap.Secret{"pat": idsnap.Secret(tc.pat)}}, c)
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				got = f.(*Fetcher).base
			}
			if got != tc.want {
				t.Errorf("New(%q) = %q, want %q", tc.url, got, tc.want)
			}
		})
	}
}

func TestDoctor(t *testing.T) {
	names := func(cs []fetch.Check) (ok, bad []string) {
		for _, c := range cs {
			if c.OK {
				ok = append(ok, c.Name)
			} else {
				bad = append(bad, c.Name+": "+c.Fix)
			}
		}
		return
	}
	t.Run("all granted", func(t *testing.T) {
		e := newEnv(t, zitadeltest.Generate(8, 3, 2), zitadeltest.Config{}, idsnap.Source{})
		cs := e.f.Doctor(t.Context())
		ok, bad := names(cs)
		if len(ok) != 6 || len(bad) != 0 {
			t.Errorf("Doctor ok=%v bad=%v, want 6 passing checks", ok, bad)
		}
		// One cheap request per check.
		if n := len(e.srv.Faults.Requests()); n != 6 {
			t.Errorf("requests = %d, want 6", n)
		}
	})
	t.Run("no project.role.read, no iam.read", func(t *testing.T) {
		cfg := zitadeltest.Config{Permissions: []string{"org.read", "user.read", "project.read", "user.grant.read"}}
		e := newEnv(t, zitadeltest.Generate(8, 3, 2), cfg, idsnap.Source{})
		_, bad := names(e.f.Doctor(t.Context()))
		want := "project.role.read: give the service user " + orgRoles
		if len(bad) != 1 || bad[0] != want {
			t.Errorf("failing checks = %q, want only %q", bad, want)
		}
	})
	t.Run("bad PAT", func(t *testing.T) {
		e := newEnv(t, zitadeltest.Generate(8, 3, 2), zitadeltest.Config{}, idsnap.Source{Secrets: map[string]idsnap.Secret{"pat": "old"}})
		cs := e.f.Doctor(t.Context())
		if len(cs) != 1 || cs[0].OK || !strings.Contains(cs[0].Detail, "Token is invalid") {
			t.Errorf("Doctor = %+v, want one failing check about the token", cs)
		}
	})
}
