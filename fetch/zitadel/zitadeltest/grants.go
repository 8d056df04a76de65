package zitadeltest

import (
	"cmp"
	"encoding/json"
	"net/http"
)

// listGrants serves POST /management/v1/users/grants/_search: grants on
// the org's projects (the request org is the resource owner, as ZITADEL
// adds without withGrantedQuery), filtered by projectIdQuery and
// userIdQuery, in heap order.
func (h *handler) listGrants(w http.ResponseWriter, r *request) {
	lr, p, ok := h.readList(w, r, "projectIdQuery", "userIdQuery")
	if !ok {
		return
	}
	var projectID, userID string
	for _, q := range lr.Queries {
		var v struct {
			ProjectID string `json:"projectId"`
			UserID    string `json:"userId"`
		}
		for _, raw := range q {
			json.Unmarshal(raw, &v)
		}
		projectID, userID = cmp.Or(v.ProjectID, projectID), cmp.Or(v.UserID, userID)
	}
	h.t.mu.Lock()
	projects := make(map[string]*project) // the org's, of projectIdQuery if any
	for _, pr := range h.t.projects {
		if pr.OrgID == r.org.ID && (projectID == "" || pr.ID == projectID) {
			projects[pr.ID] = pr
		}
	}
	var gs []*Grant
	switch {
	case projectID != "" && projects[projectID] == nil:
		// another org's project or an unknown one: no grants
	case projectID != "" && userID == "":
		gs = h.t.projectGrants(projectID)
	default:
		for _, g := range h.t.grants {
			if projects[g.ProjectID] != nil && (userID == "" || g.UserID == userID) {
				gs = append(gs, g)
			}
		}
	}
	lo, hi := p.cut(len(gs))
	a := newAnswer(h.listDetails(len(gs)), "")
	only := projects[projectID] // with projectIdQuery, every row's project
	for _, g := range gs[lo:hi] {
		pr := only
		if pr == nil {
			pr = projects[g.ProjectID]
		}
		a.add(h.grantRow(g, pr))
	}
	h.t.mu.Unlock()
	a.write(w)
}

// grantRow returns g's row; pr is g's project. It must be called with the
// tenant locked.
func (h *handler) grantRow(g *Grant, pr *project) []byte {
	c := &g.row
	if c.user == nil {
		c.user = h.t.userIdx[g.UserID]
		c.userOrg = h.t.org(c.user.OrgID)
	}
	s := stamp{g.Sequence, c.user.Sequence, pr.Sequence, c.userOrg.Sequence}
	return c.get(s, &h.t.rows, func(b []byte) []byte { return appendGrant(b, g, c.user, pr, c.userOrg) })
}

func userType(u *User) string {
	if u.Machine {
		return "TYPE_MACHINE"
	}
	return "TYPE_HUMAN"
}

// appendGrant writes the row toGrant (shapes_test.go) shapes.
func appendGrant(b []byte, g *Grant, u *User, pr *project, uo *Org) []byte {
	o := openRow(b)
	o.str("id", g.ID)
	o.details(g.Sequence, g.Created, g.Changed, pr.OrgID)
	o.strs("roleKeys", g.RoleKeys)
	o.str("state", g.State)
	o.str("userId", u.ID)
	o.str("userName", u.UserName)
	o.str("firstName", u.FirstName)
	o.str("lastName", u.LastName)
	o.str("email", u.Email)
	o.str("displayName", cmp.Or(u.DisplayName, u.Name))
	o.str("orgId", uo.ID)
	o.str("orgName", uo.Name)
	o.str("orgDomain", uo.Domain)
	o.str("projectId", pr.ID)
	o.str("projectName", pr.Name)
	o.str("preferredLoginName", u.UserName+"@"+uo.Domain)
	o.str("userType", userType(u))
	return o.end()
}
