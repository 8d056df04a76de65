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
	// The rows of the expansions of user attributes alone are kept;
	// organizations change with every join and leave, so they are not.
	variant := -1
	if !expand["organizations"] {
		variant = 0
		if expand["identities"] {
			variant |= 1
		}
		if expand["billing"] {
			variant |= 2
		}
	}
	h.t.mu.RLock()
	ids, more := page(h.t.uids.sorted(), after, size)
	rows := make([][]byte, 0, len(ids))
	h.t.rowsMu.Lock()
	for _, id := range ids {
		u := h.t.users[id]
		v := func() any { return h.toUser(u, expand) }
		if variant < 0 {
			rows = append(rows, encodeRow(v()))
			continue
		}
		rows = append(rows, u.rows[variant].row([2]uint64{u.rev}, v))
	}
	h.t.rowsMu.Unlock()
	last := ""
	if len(ids) > 0 {
		last = ids[len(ids)-1]
	}
	h.t.mu.RUnlock()
	writeList(w, "users", nextToken("users", last, more), rows)
}

// toUser must be called with the tenant's read lock held.
func (h *handler) toUser(u *User, expand map[string]bool) userJSON {
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
			if _, ok := h.t.orgs[code].members[u.ID]; ok {
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
	return j
}
