package kinde

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/idsnap/idsnap/fetch"
)

// Doctor checks the token, then each scope idsnap needs with one request of
// one item, then the JWKS idsnap listen verifies webhooks with.
func (f *Fetcher) Doctor(ctx context.Context) []fetch.Check {
	return append(f.apiChecks(ctx), f.jwksCheck(ctx))
}

// jwksCheck reads the business's webhook signing keys (public: no token).
func (f *Fetcher) jwksCheck(ctx context.Context) fetch.Check {
	v := &Verifier{base: f.base, c: f.c}
	n, err := v.CheckJWKS(ctx)
	if err != nil {
		return fetch.Check{Name: "webhook JWKS", Detail: err.Error(),
			Fix: "idsnap listen verifies webhooks with " + v.JWKSURL() + ": check base_url is your Kinde domain"}
	}
	return fetch.Check{Name: "webhook JWKS", OK: true, Detail: fmt.Sprintf("%d signing key(s) at %s", n, v.JWKSURL())}
}

func (f *Fetcher) apiChecks(ctx context.Context) []fetch.Check {
	checks := []fetch.Check{{Name: "M2M token", OK: true, Detail: "token issued for " + f.base + "/api"}}
	if _, err := f.auth.token(ctx); err != nil {
		checks[0] = fetch.Check{Name: "M2M token", Detail: err.Error(), Rejected: errors.Is(err, errInvalidClient),
			Fix: "in Kinde, open Settings > Applications > your M2M app: copy its domain, client ID and client secret, and authorize it for the Kinde Management API"}
		for _, s := range []string{"read:users", "read:organizations", "read:organization_users"} {
			checks = append(checks, fetch.Check{Name: s + " scope", Detail: "not checked: no token", Fix: "fix the token first"})
		}
		return checks
	}
	one := url.Values{"page_size": {"1"}}
	check := func(scope, path string, out any) fetch.Check {
		c := fetch.Check{Name: scope + " scope", OK: true, Detail: "GET " + path + " answered"}
		if err := f.get(ctx, path, one, scope, out); err != nil {
			c.OK, c.Detail = false, err.Error()
			var he *fetch.HTTPError
			if errors.As(err, &he) && he.Code == codeScopeMissing {
				c.Missing = true
				c.Fix = fmt.Sprintf("grant %s to the M2M application: Settings > APIs > Kinde Management API > Scopes", scope)
			} else {
				c.Rejected = he != nil && he.Status == http.StatusUnauthorized
				c.Fix = "check base_url and the M2M application's credentials"
			}
		}
		return c
	}
	checks = append(checks, check("read:users", "/api/v1/users", &usersPage{}))
	var orgs orgsPage
	checks = append(checks, check("read:organizations", "/api/v1/organizations", &orgs))
	var o organization
	if len(orgs.Organizations) > 0 {
		json.Unmarshal(orgs.Organizations[0], &o)
	}
	if o.Code == "" {
		c := fetch.Check{Name: "read:organization_users scope", OK: true, Detail: "not checked: the business has no organization to test it with"}
		if !checks[len(checks)-1].OK {
			c.OK, c.Detail, c.Fix = false, "not checked: organizations could not be listed", "fix read:organizations first"
		}
		return append(checks, c)
	}
	code := o.Code
	checks = append(checks, check("read:organization_users", "/api/v1/organizations/"+url.PathEscape(code)+"/users", &membersPage{}))
	return checks
}
