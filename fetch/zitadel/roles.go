package zitadel

import (
	"context"
	"encoding/json"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
	"github.com/idsnap/idsnap/fetch/internal/rawjson"
)

// apiRole is the part of a zitadel.project.v1.Role idsnap normalizes.
type apiRole struct {
	Key     string  `json:"key"`
	Details details `json:"details"`
}

// read is the fast path of jsonscan.Decode.
func (ro *apiRole) read(b []byte) bool {
	return jsonscan.Members(b, func(k, v []byte) bool {
		switch string(k) {
		case "key":
			return jsonscan.String(v, &ro.Key)
		case "details":
			return readDetails(v, &ro.Details)
		}
		return jsonscan.Other(k, "key", "details")
	})
}

// roles lists a project's roles as entitlements: id "<project id>:<key>",
// name the key; display name and group stay in Raw, with the project id.
// https://zitadel.com/docs/apis/resources/mgmt/management-service-list-project-roles
func (f *Fetcher) roles(ctx context.Context, projectID string, emit fetch.Emit) error {
	s := search{what: "list roles of project " + projectID, path: "/management/v1/projects/" + projectID + "/roles/_search"}
	parse := func(raw json.RawMessage) (idsnap.Record, string, error) {
		ro, err := jsonscan.Decode(raw, (*apiRole).read)
		if err != nil {
			return idsnap.Record{}, "", err
		}
		if err := f.checkOwner("role of project "+projectID, ro.Key, ro.Details.ResourceOwner); err != nil {
			return idsnap.Record{}, "", err
		}
		r := idsnap.Record{Kind: idsnap.KindEntitlement, ID: idsnap.EntitlementID(projectID, ro.Key),
			ResourceID: projectID, Name: ro.Key, CreatedAt: parseTime(ro.Details.CreationDate)}
		r.Raw, err = clean(raw, noiseFilter, noise, rawjson.Member{Key: "projectId", Value: rawjson.String(projectID)})
		return r, ro.Key, err
	}
	return list(ctx, f, s, parse, emit)
}
