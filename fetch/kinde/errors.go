package kinde

import (
	"errors"
	"fmt"
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

// hintError is an API error rewritten to say what to fix. It unwraps to
// the *fetch.HTTPError, so callers can still inspect the status.
type hintError struct {
	http *fetch.HTTPError
	hint string
}

func (e *hintError) Error() string {
	return fmt.Sprintf("%d from %s %s: %s", e.http.Status, e.http.Method, e.http.Path, e.hint)
}

func (e *hintError) Unwrap() error { return e.http }

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
		return &hintError{he, fmt.Sprintf("the M2M application lacks the %s scope; %s", scope, scopeFix)}
	case isTokenRefused(he):
		what := "invalid credentials"
		if he.Code != "" {
			what += " (" + he.Code + ")"
		}
		return &hintError{he, what + "; check client_id and client_secret, and that the M2M application is authorized for the Kinde Management API"}
	case he.Status == http.StatusNotFound && he.Code == codeRouteNotFound:
		return &hintError{he, "ROUTE_NOT_FOUND: the route does not exist; check base_url is your Kinde domain (https://<subdomain>.kinde.com) with no path"}
	case he.Status == http.StatusNotFound || (he.Status >= 300 && he.Status < 400):
		return &hintError{he, "not the Kinde Management API; check base_url is your Kinde domain (https://<subdomain>.kinde.com)"}
	case he.Status == http.StatusTooManyRequests:
		return &hintError{he, "still rate limited after retrying; pull again later or set a lower requests_per_second"}
	}
	return err
}
