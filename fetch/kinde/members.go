package kinde

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
	"github.com/idsnap/idsnap/fetch/internal/rawjson"
)

// rolePrefix marks the entitlements that are organization roles, so a role
// keyed "member" never collides with membership itself.
const rolePrefix = "role:"

type membersPage struct {
	Users     []member `json:"organization_users"`
	NextToken *string  `json:"next_token"`
}

// member is what idsnap keeps of an organization_user item. Its names,
// email and is_suspended repeat the user's own record, and
// last_accessed_on is activity, so neither becomes part of the grant.
type member struct {
	ID       *string  `json:"id"`
	JoinedOn *string  `json:"joined_on"`
	Roles    []string `json:"roles"`
}

// ReadPage is the fast path of fetch.Client for a members page; see
// readListing. The members are decoded here, where json.Unmarshal matched
// each key of each member by reflection.
func (p *membersPage) ReadPage(data []byte) bool {
	return readListing(data, "organization_users", func(i int) int { return p.readUsers(data, i) }, &p.NextToken)
}

// readUsers reads organization_users, which starts at b[i]: null leaves
// none, [] makes it empty, as json.Unmarshal does; a null member is a
// zero one.
func (p *membersPage) readUsers(b []byte, i int) int {
	if jsonscan.NullAt(b, i) {
		p.Users = nil
		return i + len("null")
	}
	users := []member{}
	end := jsonscan.ElementsAt(b, i, func(i int) int {
		users = append(users, member{})
		m, c := &users[len(users)-1], new([2]string) // a member's strings share one array
		return jsonscan.ObjectAt(b, i, func(k, v []byte) bool { return m.read(k, v, c) })
	})
	if end >= 0 {
		p.Users = users
	}
	return end
}

// read reads one member of a member object into m, its strings into c.
func (m *member) read(k, v []byte, c *[2]string) bool {
	switch string(k) {
	case "id":
		return stringAt(v, &m.ID, &c[0])
	case "joined_on":
		return stringAt(v, &m.JoinedOn, &c[1])
	case "roles":
		return jsonscan.Strings(v, &m.Roles)
	}
	return jsonscan.Other(k, "id", "joined_on", "roles")
}

// listMembers pages GET /api/v1/organizations/{org_code}/users
// (GetOrganizationUsers, scope read:organization_users): a member grant per
// user, and per role key an entitlement (once per organization) and a
// grant.
// https://docs.kinde.com/kinde-apis/management/#tag/organizations/get/api/v1/organizations/{org_code}/users
func (f *Fetcher) listMembers(ctx context.Context, code string, emit fetch.Emit) error {
	path := "/api/v1/organizations/" + url.PathEscape(code) + "/users"
	q := url.Values{"page_size": {strconv.Itoa(pageSize)}}
	memberEnt := idsnap.EntitlementID(code, memberKey)
	roles := map[string]bool{} // role entitlements emitted for this organization
	return paginate(ctx, f, path, q, "read:organization_users", "list members of "+code,
		func(p *membersPage) *string { return p.NextToken },
		func(ctx context.Context, p *membersPage) error {
			return memberRecords(ctx, code, memberEnt, roles, p, emit)
		})
}

// memberRecords emits the grants of a page of code's members, and the
// entitlement of each role key not in roles yet.
func memberRecords(ctx context.Context, code, memberEnt string, roles map[string]bool, p *membersPage, emit fetch.Emit) error {
	for _, m := range p.Users {
		uid := str(m.ID)
		if uid == "" {
			return fmt.Errorf("list members of %s: a member without an id", code)
		}
		g := grant(uid, code, memberEnt)
		if m.JoinedOn != nil {
			g.Raw = joinedOn(*m.JoinedOn)
		}
		if err := emit(ctx, g); err != nil {
			return err
		}
		for _, key := range m.Roles {
			ent := idsnap.EntitlementID(code, rolePrefix+key)
			if !roles[key] {
				roles[key] = true
				if err := emit(ctx, idsnap.Record{Kind: idsnap.KindEntitlement, ID: ent, ResourceID: code, Name: key}); err != nil {
					return err
				}
			}
			if err := emit(ctx, grant(uid, code, ent)); err != nil {
				return err
			}
		}
	}
	return nil
}

// joinedOn is a member grant's Raw, {"joined_on":…}, as json.Marshal of a
// map wrote it. A time as Kinde writes one has no byte json.Marshal
// escapes, and is written as it is: json.Marshal of each member's time was
// a sixth of the members' own CPU.
func joinedOn(t string) json.RawMessage {
	b := make([]byte, 0, len(t)+16)
	b = append(b, `{"joined_on":`...)
	if plain(t) {
		b = append(append(append(b, '"'), t...), '"')
	} else {
		b = append(b, rawjson.String(t)...)
	}
	return append(b, '}')
}

// plain says whether json.Marshal writes s as it is between quotes: s is
// printable ASCII without the bytes it escapes.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func grant(userID, code, ent string) idsnap.Record {
	return idsnap.Record{
		Kind:          idsnap.KindGrant,
		ID:            idsnap.GrantID(userID, ent),
		PrincipalID:   userID,
		ResourceID:    code,
		EntitlementID: ent,
		Status:        idsnap.StatusActive,
	}
}
