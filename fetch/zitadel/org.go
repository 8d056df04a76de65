package zitadel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/idsnap/idsnap/fetch"
)

// org is the org a pull reads.
type org struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// resolveOrg settles which org to pull. With org_id it checks that the org
// exists and that the server honours x-zitadel-orgid. Without, it lists
// the instance's orgs (needs iam.read) and takes the only one; a service
// user without iam.read gets its own org (GET /management/v1/orgs/me).
func (f *Fetcher) resolveOrg(ctx context.Context) (org, error) {
	if f.orgID != "" {
		return f.checkOrgID(ctx)
	}
	orgs, total, err := f.listOrgs(ctx, 20)
	var he *fetch.HTTPError
	switch {
	case errors.As(err, &he) && he.Status == http.StatusForbidden:
		o, err := f.myOrg(ctx)
		if err != nil {
			return org{}, err
		}
		f.c.Logger().Info("zitadel: no iam.read to list the instance's orgs; pulling the service user's own org (set org_id to choose)", "org", o.ID, "name", o.Name)
		return o, nil
	case err != nil:
		return org{}, err
	case total == 0:
		return org{}, fmt.Errorf("detect org: the instance lists no orgs; set org_id")
	case total > 1:
		names := make([]string, len(orgs))
		for i, o := range orgs {
			names[i] = fmt.Sprintf("%s (%s)", o.Name, o.ID)
		}
		more := ""
		if n := int(total) - len(orgs); n > 0 {
			more = fmt.Sprintf(" and %d more", n)
		}
		return org{}, fmt.Errorf("detect org: the instance has %d orgs: %s%s; set org_id to the one to pull", total, strings.Join(names, ", "), more)
	case len(orgs) != 1 || orgs[0].ID == "":
		// totalResult says one org but the page does not carry it: a
		// server we cannot trust to tell us which org to read.
		return org{}, fmt.Errorf("detect org: POST /admin/v1/orgs/_search counted 1 org but returned %d with an id; set org_id", len(orgs))
	}
	return orgs[0], nil
}

// listOrgs lists up to n orgs of the instance by name.
func (f *Fetcher) listOrgs(ctx context.Context, n int) ([]org, uint64, error) {
	var resp struct {
		Details struct {
			TotalResult u64 `json:"totalResult"`
		} `json:"details"`
		Result []org `json:"result"`
	}
	body := map[string]any{"query": map[string]any{"offset": "0", "limit": n, "asc": true}, "sortingColumn": "ORG_FIELD_NAME_NAME"}
	if err := f.do(ctx, "POST", "/admin/v1/orgs/_search", body, &resp); err != nil {
		return nil, 0, fmt.Errorf("detect org: %w", err)
	}
	return resp.Result, uint64(resp.Details.TotalResult), nil
}

// myOrg reads the org the request runs in: org_id when set, else the
// service user's own.
func (f *Fetcher) myOrg(ctx context.Context) (org, error) {
	var resp struct {
		Org org `json:"org"`
	}
	if err := f.do(ctx, "GET", "/management/v1/orgs/me", nil, &resp); err != nil {
		return org{}, fmt.Errorf("read org: %w", err)
	}
	if resp.Org.ID == "" {
		return org{}, fmt.Errorf("read org: GET /management/v1/orgs/me answered without an org id")
	}
	return resp.Org, nil
}

// checkOrgID reads the configured org.
func (f *Fetcher) checkOrgID(ctx context.Context) (org, error) {
	o, err := f.myOrg(ctx)
	var he *fetch.HTTPError
	switch {
	case errors.As(err, &he) && he.Status == http.StatusNotFound:
		return org{}, fmt.Errorf("org_id %s: not found on this instance (404 from GET /management/v1/orgs/me: %s); check org_id", f.orgID, he.Message)
	case errors.As(err, &he) && he.Status == http.StatusForbidden:
		return org{}, fmt.Errorf("org_id %s: the service user has no role in this org, or lacks org.read (403 from GET /management/v1/orgs/me: %s); check org_id, or give the service user %s", f.orgID, he.Message, orgRoles)
	}
	if err != nil {
		return org{}, err
	}
	if o.ID != f.orgID {
		return org{}, fmt.Errorf("org_id %s: the instance answered for org %s (%s) instead: this ZITADEL version ignores the x-zitadel-orgid header (zitadel/zitadel#12482), or the org does not exist; use a service user of org %s", f.orgID, o.ID, o.Name, f.orgID)
	}
	return o, nil
}
