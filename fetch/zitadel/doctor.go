package zitadel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/idsnap/idsnap/fetch"
)

// Doctor checks instance_url, the PAT, org_id and each permission a pull
// needs, with one request of one row each. iam.read is optional: without
// it idsnap pulls the service user's own org unless org_id names another.
func (f *Fetcher) Doctor(ctx context.Context) []fetch.Check {
	var checks []fetch.Check
	o, err := f.myOrg(ctx)
	if err == nil && f.orgID != "" {
		o, err = f.checkOrgID(ctx)
	}
	c := fetch.Check{Name: "instance_url, pat and org (org.read)", OK: err == nil}
	if err != nil {
		c.Detail = err.Error()
		var he *fetch.HTTPError
		switch {
		case !errors.As(err, &he):
			c.Fix = "check instance_url (" + f.base + ") and that the instance is reachable"
		case he.Status == http.StatusUnauthorized:
			c.Rejected = true
			c.Fix = "create a new personal access token for the service user and set pat"
		case he.Status == http.StatusForbidden:
			c.Missing = true
			c.Fix = "give the service user " + orgRoles
		default:
			c.Fix = "check instance_url and org_id"
		}
		// Nothing else can work without a reachable instance and a valid token.
		if he == nil || he.Status == http.StatusUnauthorized {
			return append(checks, c)
		}
	} else {
		c.Detail = fmt.Sprintf("org %s (%s)", o.Name, o.ID)
		f.org = o
	}
	checks = append(checks, c)

	one := map[string]any{"query": map[string]any{"offset": "0", "limit": 1, "asc": true}}
	probe := func(name, path string) (*listResponse, fetch.Check) {
		var resp listResponse
		err := f.do(ctx, "POST", path, one, &resp)
		c := fetch.Check{Name: name, OK: err == nil}
		if err != nil {
			c.Detail = err.Error()
			var he *fetch.HTTPError
			c.Missing = errors.As(err, &he) && he.Status == http.StatusForbidden
			c.Fix = "give the service user " + permissionFor(path).roles
		} else {
			c.Detail = fmt.Sprintf("%d visible", resp.Details.TotalResult)
		}
		return &resp, c
	}
	_, c = probe("user.read", "/management/v1/users/_search")
	checks = append(checks, c)
	projects, c := probe("project.read", "/management/v1/projects/_search")
	checks = append(checks, c)
	if c.OK && len(projects.Result) > 0 {
		var p apiProject
		if err := json.Unmarshal(projects.Result[0], &p); err == nil {
			_, c = probe("project.role.read", "/management/v1/projects/"+p.ID+"/roles/_search")
			c.Detail = "project " + p.Name + ": " + c.Detail
			checks = append(checks, c)
		}
	} else {
		checks = append(checks, fetch.Check{Name: "project.role.read", OK: true, Detail: "not checked: no project to check it on"})
	}
	_, c = probe("user.grant.read", "/management/v1/users/grants/_search")
	checks = append(checks, c)

	_, total, err := f.listOrgs(ctx, 1)
	c = fetch.Check{Name: "iam.read (optional)", OK: true}
	var he *fetch.HTTPError
	switch {
	case err == nil:
		c.Detail = fmt.Sprintf("%d orgs on the instance", total)
	case errors.As(err, &he) && he.Status == http.StatusForbidden && f.orgID != "":
		c.Detail = "not granted; not needed, org_id is set"
	case errors.As(err, &he) && he.Status == http.StatusForbidden:
		c.Detail = "not granted; idsnap pulls the service user's own org (set org_id to pull another)"
	default:
		c.OK, c.Detail, c.Fix = false, err.Error(), "check instance_url"
	}
	return append(checks, c)
}
