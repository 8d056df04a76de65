package kindetest

import (
	"net/http"
	"strings"
)

type userJSON struct {
	ID            string         `json:"id"`
	ProvidedID    string         `json:"provided_id,omitempty"`
	Email         string         `json:"email,omitempty"`
	Phone         string         `json:"phone,omitempty"`
	Username      string         `json:"username,omitempty"`
	LastName      string         `json:"last_name"`
	FirstName     string         `json:"first_name"`
	IsSuspended   bool           `json:"is_suspended"`
	Picture       string         `json:"picture,omitempty"`
	TotalSignIns  *int           `json:"total_sign_ins"`
	FailedSignIns *int           `json:"failed_sign_ins"`
	LastSignedIn  *string        `json:"last_signed_in"`
	CreatedOn     *string        `json:"created_on"`
	Organizations []string       `json:"organizations,omitempty"`
	Identities    []identityJSON `json:"identities,omitempty"`
	Billing       *billingJSON   `json:"billing,omitempty"`
}

type identityJSON struct {
	Type         string  `json:"type"`
	Identity     string  `json:"identity"`
	ConnectionID *string `json:"connection_id"`
}

type billingJSON struct {
	CustomerID string `json:"customer_id"`
}

// users is GET /api/v1/users (getUsers): users in id order, with
// organizations, identities and billing only when expand asks for them.
func (h *handler) users(w http.ResponseWriter, r *http.Request) {
	size, after, ok := pageParams(w, r, "users")
	if !ok {
		return
	}
	expand := map[string]bool{}
	for _, e := range strings.Split(r.URL.Query().Get("expand"), ",") {
		expand[strings.TrimSpace(e)] = true
	}
	h.t.mu.RLock()
	ids, more := page(h.t.uids.sorted(), after, size)
	out := make([]userJSON, 0, len(ids))
	for _, id := range ids {
		u := h.t.users[id]
		total, failed := u.TotalSignIns, u.FailedSignIns
		j := userJSON{
			ID: u.ID, ProvidedID: u.ProvidedID, Email: u.Email, Phone: u.Phone, Username: u.Username,
			LastName: u.LastName, FirstName: u.FirstName, IsSuspended: u.Suspended, Picture: u.Picture,
			TotalSignIns: &total, FailedSignIns: &failed,
			LastSignedIn: nullableTime(u.LastSignedIn), CreatedOn: nullableTime(u.CreatedOn),
		}
		if expand["organizations"] {
			j.Organizations = []string{}
			for _, code := range h.t.codes.sorted() {
				if _, ok := h.t.orgs[code].members[id]; ok {
					j.Organizations = append(j.Organizations, code)
				}
			}
		}
		if expand["identities"] {
			j.Identities = []identityJSON{}
			for _, i := range u.Identities {
				j.Identities = append(j.Identities, identityJSON{Type: i.Type, Identity: i.Identity, ConnectionID: nullable(i.ConnectionID)})
			}
		}
		if expand["billing"] && u.BillingCustomerID != "" {
			j.Billing = &billingJSON{CustomerID: u.BillingCustomerID}
		}
		out = append(out, j)
	}
	last := ""
	if len(ids) > 0 {
		last = ids[len(ids)-1]
	}
	h.t.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"code": "OK", "message": "Success", "users": out, "next_token": nextToken("users", last, more),
	})
}
