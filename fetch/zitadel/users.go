package zitadel

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
)

// apiUser is the part of a zitadel.user.v1.User idsnap normalizes; the
// whole object goes to Raw.
type apiUser struct {
	ID       string      `json:"id"`
	Details  details     `json:"details"`
	State    string      `json:"state"`
	UserName string      `json:"userName"`
	Human    *apiHuman   `json:"human"`
	Machine  *apiMachine `json:"machine"`
}

type apiHuman struct {
	Profile struct {
		DisplayName string `json:"displayName"`
		FirstName   string `json:"firstName"`
		LastName    string `json:"lastName"`
	} `json:"profile"`
	Email struct {
		Email           string `json:"email"`
		IsEmailVerified bool   `json:"isEmailVerified"` // omitted when false
	} `json:"email"`
}

type apiMachine struct {
	Name string `json:"name"`
}

// read is the fast path of jsonscan.Decode: it decodes a user as
// json.Unmarshal does, or reports false for what it leaves to it.
func (u *apiUser) read(b []byte) bool { return jsonscan.Members(b, u.member) }

// member reads one member of a user, or declines it.
func (u *apiUser) member(k, v []byte) bool {
	switch string(k) {
	case "id":
		return jsonscan.String(v, &u.ID)
	case "details":
		return readDetails(v, &u.Details)
	case "state":
		return jsonscan.String(v, &u.State)
	case "userName":
		return jsonscan.String(v, &u.UserName)
	case "human":
		if jsonscan.IsNull(v) {
			u.Human = nil
			return true
		}
		if u.Human == nil {
			u.Human = new(apiHuman)
		}
		return u.Human.read(v)
	case "machine":
		if jsonscan.IsNull(v) {
			u.Machine = nil
			return true
		}
		if u.Machine == nil {
			u.Machine = new(apiMachine)
		}
		return jsonscan.Object(v, func(k, v []byte) bool {
			if string(k) == "name" {
				return jsonscan.String(v, &u.Machine.Name)
			}
			return jsonscan.Other(k, "name")
		})
	}
	return jsonscan.Other(k, "id", "details", "state", "userName", "human", "machine")
}

// readUser decodes raw as jsonscan.Decode does and, in the same walk,
// cleans it as clean does: cleaned is nil when either declined, and the
// caller then cleans it on its own.
func readUser(raw json.RawMessage) (u apiUser, cleaned json.RawMessage, err error) {
	r := userReads.Get().(*userRead)
	defer userReads.Put(r)
	r.u = apiUser{}
	if out, ok := noiseFilter.ObjectFunc(make([]byte, 0, len(raw)+32), raw, r.member); ok {
		return r.u, out, nil
	}
	u, err = jsonscan.Decode(raw, (*apiUser).read)
	return u, nil, err
}

// userRead is where readUser decodes, pooled with its method value: made
// per user, the two were allocations.
type userRead struct {
	u      apiUser
	member func(k, v []byte) bool // u.member
}

var userReads = sync.Pool{New: func() any {
	r := new(userRead)
	r.member = r.u.member
	return r
}}

func (h *apiHuman) read(b []byte) bool {
	return jsonscan.Members(b, func(k, v []byte) bool {
		switch string(k) {
		case "profile":
			p := &h.Profile
			return jsonscan.Object(v, func(k, v []byte) bool {
				switch string(k) {
				case "displayName":
					return jsonscan.String(v, &p.DisplayName)
				case "firstName":
					return jsonscan.String(v, &p.FirstName)
				case "lastName":
					return jsonscan.String(v, &p.LastName)
				}
				return jsonscan.Other(k, "displayName", "firstName", "lastName")
			})
		case "email":
			e := &h.Email
			return jsonscan.Object(v, func(k, v []byte) bool {
				switch string(k) {
				case "email":
					return jsonscan.String(v, &e.Email)
				case "isEmailVerified":
					return jsonscan.Bool(v, &e.IsEmailVerified)
				}
				return jsonscan.Other(k, "email", "isEmailVerified")
			})
		}
		return jsonscan.Other(k, "profile", "email")
	})
}

// userStatus maps USER_STATE_* onto idsnap's statuses:
//
//	ACTIVE            active
//	INACTIVE          inactive   (deactivated by an admin, can be reactivated)
//	LOCKED, SUSPEND   suspended  (locked after failed logins, or by an admin;
//	                              SUSPEND is unused in v1 but defined)
//	INITIAL           initial    (created, not yet set up: no password or
//	                              verified login yet)
//	DELETED           deleted    (removed users rarely appear in lists)
//
// USER_STATE_UNSPECIFIED, or a state a newer ZITADEL adds, maps to no
// status; Raw keeps the state as sent.
func userStatus(state string) idsnap.Status {
	switch state {
	case "USER_STATE_ACTIVE":
		return idsnap.StatusActive
	case "USER_STATE_INACTIVE":
		return idsnap.StatusInactive
	case "USER_STATE_LOCKED", "USER_STATE_SUSPEND":
		return idsnap.StatusSuspended
	case "USER_STATE_INITIAL":
		return idsnap.StatusInitial
	case "USER_STATE_DELETED":
		return idsnap.StatusDeleted
	}
	return ""
}

// users lists the org's human and machine users.
// https://zitadel.com/docs/apis/resources/mgmt/management-service-list-users
//
// No sortingColumn: ZITADEL then orders users by id, unique and never
// changing, the most stable order there is for offset paging (a sort by
// user name would reorder on a rename mid-pull).
func (f *Fetcher) users(ctx context.Context, emit fetch.Emit) error {
	s := search{what: "list users", path: "/management/v1/users/_search"}
	return list(ctx, f, s, f.userRecord, emit)
}

func (f *Fetcher) userRecord(raw json.RawMessage) (idsnap.Record, string, error) {
	u, cleaned, err := readUser(raw)
	if err != nil {
		return idsnap.Record{}, "", err
	}
	if err := f.checkOwner("user", u.ID, u.Details.ResourceOwner); err != nil {
		return idsnap.Record{}, "", err
	}
	r := idsnap.Record{Kind: idsnap.KindUser, ID: u.ID, Username: u.UserName, Status: userStatus(u.State),
		CreatedAt: parseTime(u.Details.CreationDate)}
	switch {
	case u.Human != nil:
		r.Type = idsnap.AccountHuman
		r.Name = u.Human.Profile.DisplayName
		if r.Name == "" { // ZITADEL computes it, but older users may lack it
			r.Name = joinName(u.Human.Profile.FirstName, u.Human.Profile.LastName)
		}
		r.Email = u.Human.Email.Email
		v := u.Human.Email.IsEmailVerified
		r.EmailVerified = &v
	case u.Machine != nil:
		r.Type = idsnap.AccountMachine
		r.Name = u.Machine.Name
	}
	// ZITADEL v1 exposes no sign-in data: Activity stays nil.
	if r.Raw = cleaned; cleaned == nil {
		r.Raw, err = clean(raw, noiseFilter, noise)
	}
	return r, u.ID, err
}

func joinName(first, last string) string {
	switch {
	case first == "":
		return last
	case last == "":
		return first
	}
	return first + " " + last
}

// parseTime reads a protojson Timestamp; zero when absent or malformed.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
