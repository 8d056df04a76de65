package zitadeltest

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
)

type grantJSON struct {
	ID                 string   `json:"id,omitempty"`
	Details            *details `json:"details,omitempty"`
	RoleKeys           []string `json:"roleKeys,omitempty"`
	State              string   `json:"state,omitempty"`
	UserID             string   `json:"userId,omitempty"`
	UserName           string   `json:"userName,omitempty"`
	FirstName          string   `json:"firstName,omitempty"`
	LastName           string   `json:"lastName,omitempty"`
	Email              string   `json:"email,omitempty"`
	DisplayName        string   `json:"displayName,omitempty"`
	OrgID              string   `json:"orgId,omitempty"`
	OrgName            string   `json:"orgName,omitempty"`
	OrgDomain          string   `json:"orgDomain,omitempty"`
	ProjectID          string   `json:"projectId,omitempty"`
	ProjectName        string   `json:"projectName,omitempty"`
	PreferredLoginName string   `json:"preferredLoginName,omitempty"`
	UserType           string   `json:"userType,omitempty"`
}

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
	all := h.t.grants
	if projectID != "" {
		all = h.t.projectGrants(projectID)
	}
	var gs []*Grant
	for _, g := range all {
		if projects[g.ProjectID] != nil && (projectID == "" || g.ProjectID == projectID) && (userID == "" || g.UserID == userID) {
			gs = append(gs, g)
		}
	}
	lo, hi := p.cut(len(gs))
	a := newAnswer(h.listDetails(len(gs)), "")
	for _, g := range gs[lo:hi] {
		u, pr := h.t.userIdx[g.UserID], projects[g.ProjectID]
		uo := h.t.org(u.OrgID)
		s := stamp{g.Sequence, u.Sequence, pr.Sequence, uo.Sequence}
		a.add(rowJSON(h.rows.grants, g, s, func() grantJSON { return toGrant(g, u, pr, uo) }))
	}
	h.t.mu.Unlock()
	a.write(w)
}

func toGrant(g *Grant, u *User, pr *project, uo *Org) grantJSON {
	j := grantJSON{ID: g.ID, Details: objectDetails(g.Sequence, g.Created, g.Changed, pr.OrgID),
		RoleKeys: slices.Clone(g.RoleKeys), State: g.State, UserID: u.ID, UserName: u.UserName, FirstName: u.FirstName,
		LastName: u.LastName, Email: u.Email, DisplayName: cmp.Or(u.DisplayName, u.Name),
		OrgID: uo.ID, OrgName: uo.Name, OrgDomain: uo.Domain, ProjectID: pr.ID, ProjectName: pr.Name,
		PreferredLoginName: u.UserName + "@" + uo.Domain, UserType: "TYPE_HUMAN"}
	if u.Machine {
		j.UserType = "TYPE_MACHINE"
	}
	return j
}
