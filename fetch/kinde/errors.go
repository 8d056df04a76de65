package kinde

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/idsnap/idsnap/fetch"
)

// Error codes in Kinde's error bodies that idsnap acts on.
const (
	codeScopeMissing  = "SCOPE_MISSING"
	codeRouteNotFound = "ROUTE_NOT_FOUND"
)

// scopeFix says where a missing scope is granted.
const scopeFix = "grant it in Kinde: Settings > APIs > Kinde Management API > Scopes"

// parseBody reads Kinde's error body, {"errors":[{"code","message"}]}, an
// object in place of the list for ROUTE_NOT_FOUND (docs/providers.md,
// Kinde: errors).
func parseBody(body []byte) (code, message string) {
	var v struct {
		Errors json.RawMessage `json:"errors"`
	}
	type item struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &v) == nil && len(v.Errors) > 0 {
		var list []item
		if json.Unmarshal(v.Errors, &list) == nil && len(list) > 0 {
			return list[0].Code, fetch.OneLine(list[0].Message, 300)
		}
		var one item
		if json.Unmarshal(v.Errors, &one) == nil && (one.Code != "" || one.Message != "") {
			return one.Code, fetch.OneLine(one.Message, 300)
		}
	}
	return fetch.ParseBody(body)
}

// isTokenRefused reports an answer that refuses the credentials rather than
// a permission: Kinde documents 403 "invalid credentials"; a 401 means the
// same.
func isTokenRefused(e *fetch.HTTPError) bool {
	return (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden) && e.Code != codeScopeMissing
}

// explain rewrites the API errors a user can fix into hints; scope is the
// scope of the endpoint that answered.
func explain(err error, scope string) error {
	var he *fetch.HTTPError
	if !errors.As(err, &he) {
		return err
	}
	switch {
	case he.Code == codeScopeMissing:
		return &fetch.Hint{Err: he, What: "the M2M application lacks the " + scope + " scope", Fix: scopeFix}
	case isTokenRefused(he):
		what := "invalid credentials"
		if he.Code != "" {
			what += " (" + he.Code + ")"
		}
		return &fetch.Hint{Err: he, What: what, Fix: "check client_id and client_secret, and that the M2M application is authorized for the Kinde Management API"}
	case he.Status == http.StatusNotFound && he.Code == codeRouteNotFound:
		return &fetch.Hint{Err: he, What: "ROUTE_NOT_FOUND: the route does not exist", Fix: "check base_url is your Kinde domain (https://<subdomain>.kinde.com) with no path"}
	case he.Status == http.StatusNotFound || (he.Status >= 300 && he.Status < 400):
		return &fetch.Hint{Err: he, What: "not the Kinde Management API", Fix: "check base_url is your Kinde domain (https://<subdomain>.kinde.com)"}
	case he.Status == http.StatusTooManyRequests:
		return &fetch.Hint{Err: he, What: "still rate limited after retrying", Fix: "pull again later or set a lower requests_per_second"}
	}
	return err
}
