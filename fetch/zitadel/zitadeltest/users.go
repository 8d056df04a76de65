package zitadeltest

import (
	"cmp"
	"net/http"
	"slices"
)

type profileJSON struct {
	FirstName         string `json:"firstName,omitempty"`
	LastName          string `json:"lastName,omitempty"`
	NickName          string `json:"nickName,omitempty"`
	DisplayName       string `json:"displayName,omitempty"`
	PreferredLanguage string `json:"preferredLanguage,omitempty"`
}

type emailJSON struct {
	Email           string `json:"email,omitempty"`
	IsEmailVerified bool   `json:"isEmailVerified,omitempty"`
}

type phoneJSON struct {
	Phone string `json:"phone,omitempty"`
}

type humanJSON struct {
	Profile *profileJSON `json:"profile,omitempty"`
	Email   *emailJSON   `json:"email,omitempty"`
	Phone   *phoneJSON   `json:"phone,omitempty"`
}

type machineJSON struct {
	Name            string `json:"name,omitempty"`
	Description     string `json:"description,omitempty"`
	AccessTokenType string `json:"accessTokenType,omitempty"`
}

type userJSON struct {
	ID                 string       `json:"id,omitempty"`
	Details            *details     `json:"details,omitempty"`
	State              string       `json:"state,omitempty"`
	UserName           string       `json:"userName,omitempty"`
	LoginNames         []string     `json:"loginNames,omitempty"`
	PreferredLoginName string       `json:"preferredLoginName,omitempty"`
	Human              *humanJSON   `json:"human,omitempty"`
	Machine            *machineJSON `json:"machine,omitempty"`
}

// toUser must be called with the tenant locked.
func (h *handler) toUser(u *User) userJSON {
	login := u.UserName + "@" + h.t.org(u.OrgID).Domain
	j := userJSON{ID: u.ID, Details: objectDetails(u.Sequence, u.Created, u.Changed, u.OrgID), State: u.State,
		UserName: u.UserName, LoginNames: []string{login}, PreferredLoginName: login}
	if u.Machine {
		// ACCESS_TOKEN_TYPE_BEARER is the enum's zero value: omitted.
		j.Machine = &machineJSON{Name: u.Name, Description: u.Description}
	} else {
		j.Human = &humanJSON{
			Profile: &profileJSON{FirstName: u.FirstName, LastName: u.LastName, NickName: u.NickName,
				DisplayName: u.DisplayName, PreferredLanguage: u.Language},
			Email: &emailJSON{Email: u.Email, IsEmailVerified: u.EmailVerified},
			Phone: &phoneJSON{Phone: u.Phone},
		}
	}
	return j
}

// listUsers serves POST /management/v1/users/_search: the org's users,
// by id unless a sorting column says otherwise, descending unless asc.
func (h *handler) listUsers(w http.ResponseWriter, r *request) {
	lr, p, ok := h.readList(w, r)
	if !ok {
		return
	}
	h.t.mu.Lock()
	users := h.t.usersOf(r.org.ID)
	var key func(*User) string
	switch lr.SortingColumn {
	case "USER_FIELD_NAME_USER_NAME":
		key = func(u *User) string { return u.UserName }
	case "USER_FIELD_NAME_EMAIL":
		key = func(u *User) string { return u.Email }
	case "USER_FIELD_NAME_DISPLAY_NAME":
		key = func(u *User) string { return u.DisplayName }
	case "USER_FIELD_NAME_CREATION_DATE":
		key = func(u *User) string { return ts(u.Created) }
	}
	if key != nil {
		users = slices.Clone(users)
		slices.SortStableFunc(users, func(a, b *User) int { return cmp.Compare(key(a), key(b)) })
	}
	if !p.asc {
		users = slices.Clone(users)
		slices.Reverse(users)
	}
	lo, hi := p.cut(len(users))
	a := newAnswer(h.listDetails(len(users)), sortingColumn(lr.SortingColumn, "USER_FIELD_NAME_UNSPECIFIED"))
	for _, u := range users[lo:hi] {
		s := stamp{u.Sequence, h.t.org(u.OrgID).Sequence}
		a.add(rowJSON(h.rows.users, u, s, func() userJSON { return h.toUser(u) }))
	}
	h.t.mu.Unlock()
	a.write(w)
}
