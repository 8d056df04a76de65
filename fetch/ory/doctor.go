package ory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/idsnap/idsnap/fetch"
)

// Doctor checks base_url and api_token with one cheap request: the first
// page of the identities listing with page_size=1. Ory has no scopes: a
// project API key may list identities or it may not.
func (f *Fetcher) Doctor(ctx context.Context) []fetch.Check {
	baseCheck := fetch.Check{Name: "base URL", Detail: f.base.String()}
	authCheck := fetch.Check{Name: "api_token"}
	listCheck := fetch.Check{Name: "list identities"}

	var page []json.RawMessage
	_, err := f.c.Do(ctx, fetch.Request{Method: http.MethodGet, URL: f.listURL(1), Token: f.token}, &page)
	if err == nil {
		baseCheck.OK = true
		baseCheck.Detail += " answers as an Ory Admin API"
		authCheck.OK = true
		switch {
		case f.token == "":
			authCheck.Detail = "none given; this self-hosted admin API does not ask for one"
		default:
			authCheck.Detail = "accepted"
		}
		listCheck.OK = true
		listCheck.Detail = fmt.Sprintf("GET /admin/identities?page_size=1 returned a page of %d", len(page))
		if f.slug != "" {
			listCheck.Detail += " of project " + f.slug
		}
		return []fetch.Check{baseCheck, authCheck, listCheck}
	}

	fix := f.fix(err, true)
	var he *fetch.HTTPError
	auth := errors.As(err, &he) && (he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden)
	switch {
	case auth:
		baseCheck.OK = true
		baseCheck.Detail += " answers, and asks for a key"
		authCheck.Detail = err.Error()
		authCheck.Rejected = true
		authCheck.Fix = fix
		listCheck.Detail = "not checked: the key was refused"
		listCheck.Fix = "fix api_token first"
	case he != nil && he.Status >= 400 && he.Status != http.StatusNotFound && he.Status < 500 && he.Status != http.StatusTooManyRequests:
		// The API answered, in its own words: the base is right.
		baseCheck.OK = true
		authCheck.OK = true
		authCheck.Detail = "not refused"
		listCheck.Detail = err.Error()
		listCheck.Fix = fix
	default:
		baseCheck.Detail = err.Error()
		baseCheck.Fix = fix
		if fix == "" {
			baseCheck.Fix = "check that base_url is reachable and is the Admin API base"
		}
		authCheck.Detail = "not checked: the base URL does not answer as an Ory Admin API"
		authCheck.Fix = "fix base_url first"
		listCheck.Detail = authCheck.Detail
		listCheck.Fix = "fix base_url first"
	}
	return []fetch.Check{baseCheck, authCheck, listCheck}
}
