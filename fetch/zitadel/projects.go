package zitadel

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
)

// apiProject is the part of a zitadel.project.v1.Project idsnap normalizes.
type apiProject struct {
	ID      string  `json:"id"`
	Details details `json:"details"`
	Name    string  `json:"name"`
	State   string  `json:"state"`
}

// read is the fast path of jsonscan.Decode.
func (p *apiProject) read(b []byte) bool {
	return jsonscan.Members(b, func(k, v []byte) bool {
		switch string(k) {
		case "id":
			return jsonscan.String(v, &p.ID)
		case "details":
			return readDetails(v, &p.Details)
		case "name":
			return jsonscan.String(v, &p.Name)
		case "state":
			return jsonscan.String(v, &p.State)
		}
		return jsonscan.Other(k, "id", "details", "name", "state")
	})
}

// projects lists the org's own projects as resources and returns their ids.
// Projects granted to the org by another org are not listed: their roles
// and grants belong to the other org (docs/providers.md, ZITADEL:
// requests and answers).
// https://zitadel.com/docs/apis/resources/mgmt/management-service-list-projects
//
// The API has no sorting column for projects and ZITADEL sends no ORDER BY:
// list de-duplicates and checks the count.
func (f *Fetcher) projects(ctx context.Context, emit fetch.Emit) ([]string, error) {
	var (
		mu  sync.Mutex
		ids []string
	)
	s := search{what: "list projects", path: "/management/v1/projects/_search"}
	err := list(ctx, f, s, f.projectRecord, func(ctx context.Context, r idsnap.Record) error {
		mu.Lock()
		ids = append(ids, r.ID)
		mu.Unlock()
		return emit(ctx, r)
	})
	return ids, err
}

func (f *Fetcher) projectRecord(raw json.RawMessage) (idsnap.Record, string, error) {
	p, err := jsonscan.Decode(raw, (*apiProject).read)
	if err != nil {
		return idsnap.Record{}, "", err
	}
	if err := f.checkOwner("project", p.ID, p.Details.ResourceOwner); err != nil {
		return idsnap.Record{}, "", err
	}
	r := idsnap.Record{Kind: idsnap.KindResource, ID: p.ID, Name: p.Name, CreatedAt: parseTime(p.Details.CreationDate)}
	switch p.State {
	case "PROJECT_STATE_ACTIVE":
		r.Status = idsnap.StatusActive
	case "PROJECT_STATE_INACTIVE":
		r.Status = idsnap.StatusInactive
	}
	r.Raw, err = clean(raw, noiseFilter, noise)
	return r, p.ID, err
}
