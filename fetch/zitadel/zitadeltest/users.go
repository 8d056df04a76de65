package zitadeltest

import (
	"cmp"
	"net/http"
	"slices"
)

// userRow must be called with the tenant locked.
func (h *handler) userRow(u *User) []byte {
	s := stamp{u.Sequence, h.t.org(u.OrgID).Sequence}
	return u.row.get(s, &h.t.rows, func(b []byte) []byte { return h.appendUser(b, u) })
}

// appendUser writes the row toUser (shapes_test.go) shapes and must be called with the tenant locked.
func (h *handler) appendUser(b []byte, u *User) []byte {
	login := u.UserName + "@" + h.t.org(u.OrgID).Domain
	o := openRow(b)
	o.str("id", u.ID)
	o.details(u.Sequence, u.Created, u.Changed, u.OrgID)
	o.str("state", u.State)
	o.str("userName", u.UserName)
	o.strs("loginNames", []string{login})
	o.str("preferredLoginName", login)
	if u.Machine {
		outer := o.open("machine")
		o.str("name", u.Name)
		o.str("description", u.Description)
		o.close(outer)
		return o.end()
	}
	human := o.open("human")
	outer := o.open("profile")
	o.str("firstName", u.FirstName)
	o.str("lastName", u.LastName)
	o.str("nickName", u.NickName)
	o.str("displayName", u.DisplayName)
	o.str("preferredLanguage", u.Language)
	o.close(outer)
	outer = o.open("email")
	o.str("email", u.Email)
	o.flag("isEmailVerified", u.EmailVerified)
	o.close(outer)
	outer = o.open("phone")
	o.str("phone", u.Phone)
	o.close(outer)
	o.close(human)
	return o.end()
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
		a.add(h.userRow(u))
	}
	h.t.mu.Unlock()
	a.write(w)
}
