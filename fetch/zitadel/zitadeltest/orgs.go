package zitadeltest

import (
	"cmp"
	"net/http"
	"slices"
)

type orgJSON struct {
	ID            string   `json:"id,omitempty"`
	Details       *details `json:"details,omitempty"`
	State         string   `json:"state,omitempty"`
	Name          string   `json:"name,omitempty"`
	PrimaryDomain string   `json:"primaryDomain,omitempty"`
}

func toOrg(o *Org) orgJSON {
	return orgJSON{ID: o.ID, Details: objectDetails(o.Sequence, o.Created, o.Changed, o.ID),
		State: "ORG_STATE_ACTIVE", Name: o.Name, PrimaryDomain: o.Domain}
}

// myOrg serves GET /management/v1/orgs/me.
func (h *handler) myOrg(w http.ResponseWriter, r *request) {
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"org": toOrg(r.org)})
}

// listOrgs serves POST /admin/v1/orgs/_search, sorted by name with
// ORG_FIELD_NAME_NAME, else by id.
func (h *handler) listOrgs(w http.ResponseWriter, r *request) {
	lr, p, ok := h.readList(w, r)
	if !ok {
		return
	}
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	orgs := slices.Clone(h.t.orgs)
	slices.SortStableFunc(orgs, func(a, b *Org) int {
		if lr.SortingColumn == "ORG_FIELD_NAME_NAME" {
			if c := cmp.Compare(a.Name, b.Name); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if !p.asc {
		slices.Reverse(orgs)
	}
	lo, hi := p.cut(len(orgs))
	var res []orgJSON
	for _, o := range orgs[lo:hi] {
		res = append(res, toOrg(o))
	}
	writeJSON(w, http.StatusOK, struct {
		Details       listDetails `json:"details"`
		SortingColumn string      `json:"sortingColumn,omitempty"`
		Result        []orgJSON   `json:"result,omitempty"`
	}{h.listDetails(len(orgs)), sortingColumn(lr.SortingColumn, "ORG_FIELD_NAME_UNSPECIFIED"), res})
}
