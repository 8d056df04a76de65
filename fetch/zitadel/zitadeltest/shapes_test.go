package zitadeltest

import (
	"cmp"
	"slices"
)

// The shapes of the rows, as protojson writes them and encoding/json
// writes these structs: the hand-written rows (appendUser and the others)
// must equal them, and TestRowsMatchShapes holds them to it.

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

type grantJSON struct {
	ID                 string   `json:"id,omitempty"`
	Details            *details `json:"details,omitempty"`
	RoleKeys           []string `json:"roleKeys,omitempty"`
	State              string   `json:"state,omitempty"`
	UserID             string   `json:"userId,omitempty"`
	UserName           string   `json:"userName,omitempty"`
	FirstName          string   `json:"firstName,omitempty"`
	LastName           string   `json:"lastName,omitempty"`
	Email              string   `json:"email,omitempty"`
	DisplayName        string   `json:"displayName,omitempty"`
	OrgID              string   `json:"orgId,omitempty"`
	OrgName            string   `json:"orgName,omitempty"`
	OrgDomain          string   `json:"orgDomain,omitempty"`
	ProjectID          string   `json:"projectId,omitempty"`
	ProjectName        string   `json:"projectName,omitempty"`
	PreferredLoginName string   `json:"preferredLoginName,omitempty"`
	UserType           string   `json:"userType,omitempty"`
}

func toGrant(g *Grant, u *User, pr *project, uo *Org) grantJSON {
	return grantJSON{ID: g.ID, Details: objectDetails(g.Sequence, g.Created, g.Changed, pr.OrgID),
		RoleKeys: slices.Clone(g.RoleKeys), State: g.State, UserID: u.ID, UserName: u.UserName, FirstName: u.FirstName,
		LastName: u.LastName, Email: u.Email, DisplayName: cmp.Or(u.DisplayName, u.Name),
		OrgID: uo.ID, OrgName: uo.Name, OrgDomain: uo.Domain, ProjectID: pr.ID, ProjectName: pr.Name,
		PreferredLoginName: u.UserName + "@" + uo.Domain, UserType: userType(u)}
}

type projectJSON struct {
	ID                   string   `json:"id,omitempty"`
	Details              *details `json:"details,omitempty"`
	Name                 string   `json:"name,omitempty"`
	State                string   `json:"state,omitempty"`
	ProjectRoleAssertion bool     `json:"projectRoleAssertion,omitempty"`
	ProjectRoleCheck     bool     `json:"projectRoleCheck,omitempty"`
}

func toProject(pr *project) projectJSON {
	return projectJSON{ID: pr.ID, Details: objectDetails(pr.Sequence, pr.Created, pr.Changed, pr.OrgID),
		Name: pr.Name, State: pr.State, ProjectRoleAssertion: pr.RoleAssertion, ProjectRoleCheck: pr.RoleCheck}
}

type roleJSON struct {
	Key         string   `json:"key,omitempty"`
	Details     *details `json:"details,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	Group       string   `json:"group,omitempty"`
}

func toRole(ro *Role, owner string) roleJSON {
	return roleJSON{Key: ro.Key, Details: objectDetails(ro.Sequence, ro.Created, ro.Changed, owner),
		DisplayName: ro.DisplayName, Group: ro.Group}
}
