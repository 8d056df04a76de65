package kinde

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
	"github.com/idsnap/idsnap/fetch/internal/rawjson"
)

// usersExpand asks for the user fields Kinde leaves out by default.
// identities and billing are attributes of the user. organizations is not
// asked for: membership comes from the per-organization listing, as grants
// with their roles, and expanding it too would make every join or leave a
// change of the user as well; expansions are also what Kinde's limiter
// weighs most.
const usersExpand = "identities,billing"

// activityFields are kept apart from the user's attributes (Record.Raw),
// so a sign-in alone never makes a user changed: the three counters go to
// Record.Activity, and last_organization_sign_ins, a per-organization
// sign-in time, is dropped.
var activityFields = []string{"last_signed_in", "total_sign_ins", "failed_sign_ins", "last_organization_sign_ins"}

type usersPage struct {
	Users     []json.RawMessage `json:"users"`
	NextToken *string           `json:"next_token"`
}

// ReadPage is the fast path of fetch.Client for a users page; see
// readListing.
func (p *usersPage) ReadPage(data []byte) bool {
	return readListing(data, "users", func(i int) int { return jsonscan.RawsAt(data, i, &p.Users) }, &p.NextToken)
}

// user is what the normalized fields need of a users_response item.
type user struct {
	ID            string       `json:"id"`
	ProvidedID    *string      `json:"provided_id"`
	Email         *string      `json:"email"`
	Username      *string      `json:"username"`
	FirstName     *string      `json:"first_name"`
	LastName      *string      `json:"last_name"`
	FullName      *string      `json:"full_name"`
	IsSuspended   bool         `json:"is_suspended"`
	CreatedOn     *string      `json:"created_on"`
	LastSignedIn  *string      `json:"last_signed_in"`
	TotalSignIns  *json.Number `json:"total_sign_ins"`
	FailedSignIns *json.Number `json:"failed_sign_ins"`
}

// listUsers pages GET /api/v1/users (getUsers, scope read:users).
// https://docs.kinde.com/kinde-apis/management/#tag/users/get/api/v1/users
func (f *Fetcher) listUsers(ctx context.Context, emit fetch.Emit) error {
	q := url.Values{"page_size": {strconv.Itoa(pageSize)}, "expand": {usersExpand}}
	return paginate(ctx, f, "/api/v1/users", q, "read:users", "list users",
		func(p *usersPage) *string { return p.NextToken },
		func(ctx context.Context, p *usersPage) error {
			for _, raw := range p.Users {
				r, err := userRecord(raw)
				if err != nil {
					return fmt.Errorf("list users: %w", err)
				}
				if err := emit(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
}

// read is the fast path of jsonscan.Decode: it decodes a user as
// json.Unmarshal does, or reports false for what it leaves to it. The
// page it came from was validated by the client, and decoding each
// user again by reflection was the largest cost of a Kinde re-pull.
func (u *user) read(b []byte) bool {
	// The user's strings share one array, not a heap cell each.
	c := new([8]string)
	return jsonscan.Members(b, func(k, v []byte) bool {
		switch string(k) {
		case "id":
			return jsonscan.String(v, &u.ID)
		case "provided_id":
			return stringAt(v, &u.ProvidedID, &c[0])
		case "email":
			return stringAt(v, &u.Email, &c[1])
		case "username":
			return stringAt(v, &u.Username, &c[2])
		case "first_name":
			return stringAt(v, &u.FirstName, &c[3])
		case "last_name":
			return stringAt(v, &u.LastName, &c[4])
		case "full_name":
			return stringAt(v, &u.FullName, &c[5])
		case "is_suspended":
			return jsonscan.Bool(v, &u.IsSuspended)
		case "created_on":
			return stringAt(v, &u.CreatedOn, &c[6])
		case "last_signed_in":
			return stringAt(v, &u.LastSignedIn, &c[7])
		case "total_sign_ins":
			return numberPtr(v, &u.TotalSignIns)
		case "failed_sign_ins":
			return numberPtr(v, &u.FailedSignIns)
		}
		return jsonscan.Other(k, "id", "provided_id", "email", "username", "first_name", "last_name",
			"full_name", "is_suspended", "created_on", "last_signed_in", "total_sign_ins", "failed_sign_ins")
	})
}

// stringPtr reads a string into a fresh *string; null sets p to nil, as
// json.Unmarshal does.
func stringPtr(v []byte, p **string) bool {
	if jsonscan.IsNull(v) {
		*p = nil
		return true
	}
	return stringAt(v, p, new(string))
}

// stringAt reads a string into cell and points p at it; null sets p to
// nil. A key sent twice reads into the same cell, as json.Unmarshal
// decodes into what p points at.
func stringAt(v []byte, p **string, cell *string) bool {
	if jsonscan.IsNull(v) {
		*p = nil
		return true
	}
	s, ok := jsonscan.Unquote(v)
	if !ok {
		return false
	}
	*cell, *p = s, cell
	return true
}

// numberPtr reads a number literal into a fresh *json.Number; null sets
// p to nil. A quoted number, which json.Unmarshal also takes, is left to it.
func numberPtr(v []byte, p **json.Number) bool {
	if jsonscan.IsNull(v) {
		*p = nil
		return true
	}
	if len(v) == 0 || v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return false
	}
	n := json.Number(v)
	*p = &n
	return true
}

func decodeUser(raw []byte) (user, error) { return jsonscan.Decode(raw, (*user).read) }

// userRecord turns one users_response item into a user record: every field
// kept in Raw, numbers exactly as sent, activity moved to Activity.
func userRecord(raw json.RawMessage) (idsnap.Record, error) {
	// The counters are *json.Number: decoded exactly without UseNumber.
	u, err := decodeUser(raw)
	if err != nil {
		return idsnap.Record{}, fmt.Errorf("decode user: %w", err)
	}
	if u.ID == "" {
		return idsnap.Record{}, fmt.Errorf("a user without an id")
	}
	attrs, err := attributes(u.ID, raw)
	if err != nil {
		return idsnap.Record{}, err
	}
	r := idsnap.Record{
		Kind:       idsnap.KindUser,
		ID:         u.ID,
		Email:      str(u.Email),
		Username:   str(u.Username),
		Name:       fullName(u.FullName, u.FirstName, u.LastName),
		Status:     idsnap.StatusActive,
		Type:       idsnap.AccountHuman, // Kinde users are people; M2M apps are not users
		ExternalID: str(u.ProvidedID),
		CreatedAt:  parseTime(u.CreatedOn),
		Raw:        attrs,
		// users_response says nothing of email verification (only the
		// per-user identities endpoint has is_confirmed), so EmailVerified
		// stays nil: unknown.
		Activity: &idsnap.Activity{
			LastSignIn:    parseTime(u.LastSignedIn),
			SignIns:       num(u.TotalSignIns),
			FailedSignIns: num(u.FailedSignIns),
		},
	}
	if u.IsSuspended {
		r.Status = idsnap.StatusSuspended
	}
	return r, nil
}

// attrsFilter drops the activity fields in one pass over the bytes, writing
// strings as json.Marshal of the fields as json.RawMessage did.
var attrsFilter = rawjson.Filter{Drop: activityFields, Strings: rawjson.EscapeHTML}

// attributes is the user as Raw keeps it: without activityFields. What the
// byte filter refuses (a duplicate key, a key with escapes) takes the map
// round-trip, whose result the filter's equals otherwise.
func attributes(id string, raw json.RawMessage) (json.RawMessage, error) {
	if out, ok := attrsFilter.Object(make([]byte, 0, len(raw)), raw); ok {
		return out, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("decode user %s: %w", id, err)
	}
	for _, k := range activityFields {
		delete(fields, k)
	}
	attrs, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encode user %s: %w", id, err)
	}
	return attrs, nil
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func fullName(full, first, last *string) string {
	if n := strings.TrimSpace(str(full)); n != "" {
		return n
	}
	return strings.TrimSpace(str(first) + " " + str(last))
}

// parseTime reads Kinde's ISO 8601 times (2025-02-12T18:02:23.614638+00:00).
// A time it cannot read stays zero in the normalized field; Raw keeps it.
func parseTime(s *string) time.Time {
	if s == nil || *s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func num(n *json.Number) int64 {
	if n == nil {
		return 0
	}
	i, _ := n.Int64()
	return i
}
