package ory

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/idsnap/idsnap/fetch"
)

// parseBody reads Ory's error body, {"error":{"code":404,"status":"Not
// Found","reason":"...","message":"..."}} (docs/providers.md, Ory: errors):
// the reason says more than the message when there is one.
func parseBody(body []byte) (code, message string) {
	var v struct {
		Error struct {
			Status  string `json:"status"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil && (v.Error.Status != "" || v.Error.Message != "") {
		return v.Error.Status, fetch.OneLine(cmp.Or(v.Error.Reason, v.Error.Message), 300)
	}
	return fetch.ParseBody(body)
}

// explain adds to err what the user should change. first says the error
// came from the first request to base_url, where a 404 means a wrong base
// rather than a vanished page.
func (f *Fetcher) explain(err error, first bool) error {
	if fix := f.fix(err, first); fix != "" {
		return &fetch.Hint{Err: err, Fix: fix}
	}
	return err
}

// fix returns the one-clause remedy for err, or "".
func (f *Fetcher) fix(err error, first bool) string {
	var de *fetch.DecodeError
	if errors.As(err, &de) {
		if de.ContentType != "" && !strings.Contains(de.ContentType, "json") {
			return "base_url must be the Admin API base: https://{slug}.projects.oryapis.com/ on Ory Network, the admin port (4434) on self-hosted Kratos"
		}
		return "expected a JSON array of identities: is base_url the Ory Admin API base?"
	}
	var he *fetch.HTTPError
	if !errors.As(err, &he) {
		return ""
	}
	switch s := he.Status; {
	case s == http.StatusUnauthorized && f.token == "":
		return "this admin API requires a key: set api_token to a project API key (ory_apikey_…) of this project"
	case s == http.StatusUnauthorized:
		return "api_token is not accepted by this project (a workspace key, or a key of another project?); use a project API key created for this project"
	case s == http.StatusForbidden:
		return "api_token may not list this project's identities (a workspace key, or a key of another project?); use a project API key created for this project"
	case s == http.StatusNotFound && first:
		if strings.HasSuffix(f.base.Path, "/admin/") {
			return "drop the trailing /admin/ from base_url: idsnap adds admin/identities itself"
		}
		return "base_url is not an Ory Admin API: self-hosted Kratos serves it on the admin port (4434, not the public 4433), Ory Network at https://{slug}.projects.oryapis.com/"
	case s >= 300 && s < 400:
		return f.redirectFix(he.Location)
	case s == http.StatusTooManyRequests:
		return "Ory's rate limit for listing identities was hit even after waiting (Developer projects allow 25 requests a minute); lower requests_per_second or pull later"
	}
	return ""
}

// redirectFix explains a redirect. Kratos' public port answers admin paths
// with 307 to the admin port; idsnap never follows redirects, which would
// carry the API key to wherever they point.
func (f *Fetcher) redirectFix(location string) string {
	loc, err := url.Parse(location)
	if err != nil || location == "" {
		return "base_url redirects elsewhere; set it to the Admin API base itself"
	}
	loc = f.base.ResolveReference(loc)
	if strings.EqualFold(loc.Hostname(), f.base.Hostname()) && loc.Port() != f.base.Port() {
		return fmt.Sprintf("base_url is Kratos' public port; use the admin port: base_url = %s://%s/", loc.Scheme, loc.Host)
	}
	if strings.EqualFold(loc.Host, f.base.Host) && loc.Scheme != f.base.Scheme {
		return fmt.Sprintf("the server redirects to %s; use base_url = %s://%s/", loc.Scheme, loc.Scheme, loc.Host)
	}
	return fmt.Sprintf("the server redirects to %s://%s; set base_url to the Admin API base itself", loc.Scheme, loc.Host)
}
