package zitadeltest

import (
	"net/http"
)

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
		a.add(h.projectRow(pr))
	}
	h.t.mu.Unlock()
	a.write(w)
}

// projectRow must be called with the tenant locked.
func (h *handler) projectRow(pr *project) []byte {
	return pr.row.get(stamp{pr.Sequence}, &h.t.rows, func(b []byte) []byte { return appendProject(b, pr) })
}

// appendProject writes the row toProject (shapes_test.go) shapes.
func appendProject(b []byte, pr *project) []byte {
	o := openRow(b)
	o.str("id", pr.ID)
	o.details(pr.Sequence, pr.Created, pr.Changed, pr.OrgID)
	o.str("name", pr.Name)
	o.str("state", pr.State)
	o.flag("projectRoleAssertion", pr.RoleAssertion)
	o.flag("projectRoleCheck", pr.RoleCheck)
	return o.end()
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
		a.add(h.roleRow(ro, owner))
	}
	h.t.mu.Unlock()
	a.write(w)
}

// roleRow returns the row of a role of a project of org owner, which
// never changes. It must be called with the tenant locked.
func (h *handler) roleRow(ro *Role, owner string) []byte {
	return ro.row.get(stamp{ro.Sequence}, &h.t.rows, func(b []byte) []byte { return appendRole(b, ro, owner) })
}

// appendRole writes the row toRole (shapes_test.go) shapes.
func appendRole(b []byte, ro *Role, owner string) []byte {
	o := openRow(b)
	o.str("key", ro.Key)
	o.details(ro.Sequence, ro.Created, ro.Changed, owner)
	o.str("displayName", ro.DisplayName)
	o.str("group", ro.Group)
	return o.end()
}
