package kindetest

import (
	"net/http"
	"strings"
)

type orgJSON struct {
	Code           string  `json:"code"`
	Name           string  `json:"name"`
	Handle         *string `json:"handle"`
	IsDefault      bool    `json:"is_default"`
	ExternalID     *string `json:"external_id"`
	AutoMembership bool    `json:"is_auto_membership_enabled"`
}

// organizations is GET /api/v1/organizations (getOrganizations), in code
// order.
func (h *handler) organizations(w http.ResponseWriter, r *http.Request) {
	size, after, ok := pageParams(w, r, "organizations")
	if !ok {
		return
	}
	h.t.mu.RLock()
	codes, more := page(h.t.codes.sorted(), after, size)
	out := make([]orgJSON, 0, len(codes))
	for _, c := range codes {
		o := h.t.orgs[c]
		out = append(out, orgJSON{Code: o.Code, Name: o.Name, Handle: nullable(o.Handle), IsDefault: o.IsDefault,
			ExternalID: nullable(o.ExternalID), AutoMembership: o.AutoMembership})
	}
	h.t.mu.RUnlock()
	last := ""
	if len(codes) > 0 {
		last = codes[len(codes)-1]
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"code": "OK", "message": "Success", "organizations": out, "next_token": nextToken("organizations", last, more),
	})
}

type orgUserJSON struct {
	ID             string   `json:"id"`
	Email          *string  `json:"email"`
	FullName       string   `json:"full_name"`
	LastName       *string  `json:"last_name"`
	FirstName      *string  `json:"first_name"`
	Picture        *string  `json:"picture"`
	JoinedOn       string   `json:"joined_on"`
	LastAccessedOn *string  `json:"last_accessed_on"`
	IsSuspended    bool     `json:"is_suspended"`
	Roles          []string `json:"roles"`
}

// organizationUsers is GET /api/v1/organizations/{org_code}/users
// (GetOrganizationUsers), in user-id order. An unknown organization gets a
// 400, the only client error the spec lists for this route.
func (h *handler) organizationUsers(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("org_code")
	size, after, ok := pageParams(w, r, "organization_users:"+code)
	if !ok {
		return
	}
	h.t.mu.RLock()
	o, found := h.t.orgs[code]
	if !found {
		h.t.mu.RUnlock()
		apiError(w, http.StatusBadRequest, "ORGANIZATION_INVALID", "Invalid organization code: "+code)
		return
	}
	ids, more := page(o.ids.sorted(), after, size)
	rows := make([][]byte, 0, len(ids))
	h.t.rowsMu.Lock()
	for _, id := range ids {
		rows = append(rows, memberRow(o.members[id], h.t.users[id]))
	}
	h.t.rowsMu.Unlock()
	h.t.mu.RUnlock()
	last := ""
	if len(ids) > 0 {
		last = ids[len(ids)-1]
	}
	writeList(w, "organization_users", nextToken("organization_users:"+code, last, more), rows)
}

// memberRow returns m's row in its organization's listing; u is m's user.
// The caller holds the tenant's read lock and its rowsMu.
func memberRow(m *Member, u *User) []byte {
	return m.row.row([2]uint64{m.rev, u.rev}, func() any {
		return orgUserJSON{
			ID: u.ID, Email: nullable(u.Email), FullName: strings.TrimSpace(u.FirstName + " " + u.LastName),
			LastName: nullable(u.LastName), FirstName: nullable(u.FirstName), Picture: nullable(u.Picture),
			JoinedOn: timestamp(m.JoinedOn), LastAccessedOn: nullableTime(m.LastAccessedOn),
			IsSuspended: u.Suspended, Roles: append([]string{}, m.Roles...),
		}
	})
}
