package zitadeltest

import (
	"net/http"
)

type projectJSON struct {
	ID                   string   `json:"id,omitempty"`
	Details              *details `json:"details,omitempty"`
	Name                 string   `json:"name,omitempty"`
	State                string   `json:"state,omitempty"`
	ProjectRoleAssertion bool     `json:"projectRoleAssertion,omitempty"`
	ProjectRoleCheck     bool     `json:"projectRoleCheck,omitempty"`
}

// listProjects serves POST /management/v1/projects/_search: the org's own
// projects in heap order (no ORDER BY; asc has no effect).
func (h *handler) listProjects(w http.ResponseWriter, r *request) {
	_, p, ok := h.readList(w, r)
	if !ok {
		return
	}
	h.t.mu.Lock()
	var ps []*project
	for _, pr := range h.t.projects {
		if pr.OrgID == r.org.ID {
			ps = append(ps, pr)
		}
	}
	lo, hi := p.cut(len(ps))
	a := newAnswer(h.listDetails(len(ps)), "")
	for _, pr := range ps[lo:hi] {
		a.add(rowJSON(h.rows.projects, pr, stamp{pr.Sequence}, func() projectJSON {
			return projectJSON{ID: pr.ID, Details: objectDetails(pr.Sequence, pr.Created, pr.Changed, pr.OrgID),
				Name: pr.Name, State: pr.State, ProjectRoleAssertion: pr.RoleAssertion, ProjectRoleCheck: pr.RoleCheck}
		}))
	}
	h.t.mu.Unlock()
	a.write(w)
}

type roleJSON struct {
	Key         string   `json:"key,omitempty"`
	Details     *details `json:"details,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	Group       string   `json:"group,omitempty"`
}

// listRoles serves POST /management/v1/projects/{projectId}/roles/_search.
// A project of another org or an unknown one lists no roles.
func (h *handler) listRoles(w http.ResponseWriter, r *request) {
	_, p, ok := h.readList(w, r)
	if !ok {
		return
	}
	h.t.mu.Lock()
	var roles []*Role
	var owner string
	for _, pr := range h.t.projects {
		if pr.ID == r.PathValue("projectId") && pr.OrgID == r.org.ID {
			roles, owner = pr.roles, pr.OrgID
		}
	}
	lo, hi := p.cut(len(roles))
	a := newAnswer(h.listDetails(len(roles)), "")
	for _, ro := range roles[lo:hi] {
		// A role's owner is its project's org, which never changes.
		a.add(rowJSON(h.rows.roles, ro, stamp{ro.Sequence}, func() roleJSON {
			return roleJSON{Key: ro.Key, Details: objectDetails(ro.Sequence, ro.Created, ro.Changed, owner),
				DisplayName: ro.DisplayName, Group: ro.Group}
		}))
	}
	h.t.mu.Unlock()
	a.write(w)
}
