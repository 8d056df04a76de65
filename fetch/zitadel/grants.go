package zitadel

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
	"github.com/idsnap/idsnap/fetch/internal/rawjson"
)

// apiGrant is the part of a zitadel.user.v1.UserGrant idsnap normalizes.
type apiGrant struct {
	ID        string   `json:"id"`
	Details   details  `json:"details"`
	RoleKeys  []string `json:"roleKeys"`
	State     string   `json:"state"`
	UserID    string   `json:"userId"`
	ProjectID string   `json:"projectId"`
}

// read is the fast path of jsonscan.Decode.
func (g *apiGrant) read(b []byte) bool { return jsonscan.Members(b, g.member) }

// member reads one member of a grant, or declines it.
func (g *apiGrant) member(k, v []byte) bool {
	switch string(k) {
	case "id":
		return jsonscan.String(v, &g.ID)
	case "details":
		return readDetails(v, &g.Details)
	case "roleKeys":
		return jsonscan.Strings(v, &g.RoleKeys)
	case "state":
		return jsonscan.String(v, &g.State)
	case "userId":
		return jsonscan.String(v, &g.UserID)
	case "projectId":
		return jsonscan.String(v, &g.ProjectID)
	}
	return jsonscan.Other(k, "id", "details", "roleKeys", "state", "userId", "projectId")
}

// read decodes raw into b.g as jsonscan.Decode does and cleans it into
// b.clean as grantFilter.Object does (filtered false when the filter
// refuses the grant: cleanRaw's round-trip then makes its records' Raw).
// Both are one walk over the grant, where they were two; when either
// would decline, each runs on its own.
func (b *grantBuf) read(raw []byte) (filtered bool, err error) {
	b.g = apiGrant{}
	if b.clean, filtered = grantFilter.ObjectFunc(b.clean[:0], raw, b.member); filtered {
		return true, nil
	}
	if b.g, err = jsonscan.Decode(raw, (*apiGrant).read); err != nil {
		return false, err
	}
	b.clean, filtered = grantFilter.Object(b.clean[:0], raw)
	return filtered, nil
}

// grantBuf is where a grant is read and cleaned. Pooled: most of a grant
// is the user's and project's names, which the filter drops, and each
// record copies the clean form.
type grantBuf struct {
	g      apiGrant
	clean  []byte
	member func(k, v []byte) bool // g.member, made once: a method value per grant was an allocation
}

var grantBufs = sync.Pool{New: func() any { return newGrantBuf() }}

func newGrantBuf() *grantBuf {
	b := new(grantBuf)
	b.member = b.g.member
	return b
}

// grantNoise lists what a grant record's Raw leaves out besides noise:
// roleKeys, because each record is one key (the key goes in as roleKey),
// so a grant that gains a key adds one record and changes none; and the
// copies of the user's and project's names, email and org names, which
// change with the user or project and are reported there — kept here they
// would show every renamed user's grants as changed too.
var grantNoise = append([]string{"roleKeys", "userName", "firstName", "lastName", "email", "displayName",
	"preferredLoginName", "avatarUrl", "orgName", "orgDomain", "projectName", "grantedOrgName", "grantedOrgDomain"}, noise...)

// grantFilter drops grantNoise and any roleKey, which each record sets.
var grantFilter = filterOf(append([]string{"roleKey"}, grantNoise...))

// grants lists the user grants on a project, one record per user × role
// key. Only grants owned by the org are listed, as ListUserGrants does
// without withGrantedQuery (docs/providers.md, ZITADEL: requests and
// answers).
// https://zitadel.com/docs/apis/resources/mgmt/management-service-list-user-grants
//
// A grant in USER_GRANT_STATE_INACTIVE gives records with status inactive;
// Raw keeps the state. The API has no sorting column for grants: list
// de-duplicates and checks the count.
func (f *Fetcher) grants(ctx context.Context, projectID string, emit fetch.Emit) error {
	s := search{what: "list grants of project " + projectID, path: "/management/v1/users/grants/_search",
		extra: map[string]any{"queries": []any{map[string]any{"projectIdQuery": map[string]any{"projectId": projectID}}}}}
	var (
		mu   sync.Mutex
		seen = make(map[string]struct{}) // record ids: one grant per user and project, but be sure
		keys = make(map[string]roleKey)  // a project has a handful of keys and many grants
	)
	parse := func(raw json.RawMessage) (apiGrantRaw, string, error) {
		// The grant is cleaned once, as it is decoded; each key's record
		// adds its roleKey. emit puts the buffer back (a duplicate row's
		// is left to the collector).
		b := grantBufs.Get().(*grantBuf)
		filtered, err := b.read(raw)
		if err == nil {
			err = f.checkOwner("user grant", b.g.ID, b.g.Details.ResourceOwner)
		}
		if err != nil {
			grantBufs.Put(b)
			return apiGrantRaw{}, "", err
		}
		return apiGrantRaw{b.g, raw, filtered, b}, b.g.ID, nil
	}
	return list(ctx, f, s, parse, func(ctx context.Context, g apiGrantRaw) error {
		defer grantBufs.Put(g.buf)
		status := idsnap.StatusActive
		if g.State == "USER_GRANT_STATE_INACTIVE" {
			status = idsnap.StatusInactive
		}
		pid := g.ProjectID
		if pid == "" {
			pid = projectID
		}
		created := parseTime(g.Details.CreationDate)
		for _, key := range g.RoleKeys {
			mu.Lock()
			k, ok := keys[key]
			if !ok || k.project != pid {
				k = roleKey{project: pid, ent: idsnap.EntitlementID(pid, key), json: rawjson.String(key)}
				keys[key] = k
			}
			id := idsnap.GrantID(g.UserID, k.ent)
			_, dup := seen[id]
			seen[id] = struct{}{}
			mu.Unlock()
			if dup {
				f.c.Logger().Warn("zitadel: a user holds the same role through two grants; keeping the first", "grant", g.ID, "record", id)
				continue
			}
			r := idsnap.Record{Kind: idsnap.KindGrant, ID: id, PrincipalID: g.UserID,
				ResourceID: pid, EntitlementID: k.ent, Name: key, Status: status, CreatedAt: created}
			if g.filtered {
				// When the filter refused the grant, cleanRaw runs per key.
				r.Raw = rawjson.With(make([]byte, 0, len(g.buf.clean)+len(k.json)+12), g.buf.clean, rawjson.Member{Key: "roleKey", Value: k.json})
			} else {
				var err error
				if r.Raw, err = cleanRaw(g.raw, grantNoise, map[string]any{"roleKey": key}); err != nil {
					return err
				}
			}
			if err := emit(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// roleKey is what the records of a role key share.
type roleKey struct {
	project string // the grant's project id
	ent     string // idsnap.EntitlementID(project, key)
	json    []byte // the key as a JSON string, Raw's roleKey
}

// apiGrantRaw is a grant with the object as sent and its clean form.
type apiGrantRaw struct {
	apiGrant
	raw      json.RawMessage
	filtered bool      // buf.clean is the grant's clean form; else the filter refused it
	buf      *grantBuf // where it was read
}
