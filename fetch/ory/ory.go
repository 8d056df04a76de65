// Package ory pulls identities from the Ory Identities (Kratos) Admin API,
// on Ory Network (https://{slug}.projects.oryapis.com/) or a self-hosted
// Kratos admin port (http://127.0.0.1:4434/). It is read-only: one listing,
// GET /admin/identities, paged by the rel="next" URL of the Link header.
//
// Ory has principals only: every identity becomes one user record. Ory
// exposes no sign-in data on identities, so Activity is always nil.
package ory

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
)

// PageSize is what idsnap asks for: the largest page Kratos serves (it
// clamps anything above 500 to 500 silently; the default is 250).
const PageSize = 500

// Default request rates. Ory Network's Developer plan allows GET
// /admin/identities 5 requests/s and 25 requests/minute (bucket
// kratos-admin-medium; the legacy model was 1 request/s, 10 a minute), and
// the bucket is shared with the project's own admin traffic. 0.4/s with a
// burst of 5 stays inside 25/minute; a 10k-identity project (20 pages)
// takes under a minute. Larger plans can raise requests_per_second.
// Self-hosted Kratos has no rate limit; 10/s is only a courtesy to a
// production database.
const (
	NetworkRate       = 0.4
	NetworkBurst      = 5
	SelfHostedRate    = 10.0
	SelfHostedBurst   = 10
	networkHostSuffix = ".oryapis.com"
)

// Fetcher pulls one Ory project.
type Fetcher struct {
	c       *fetch.Client
	base    *url.URL // the admin API base, ending in "/"
	token   idsnap.Secret
	network bool   // an Ory Network host: the token is required
	slug    string // display only
}

var (
	_ fetch.Fetcher = (*Fetcher)(nil)
	_ fetch.Doctor  = (*Fetcher)(nil)
)

// Provider describes Ory sources to the configuration.
var Provider = fetch.Provider{Name: "ory", Settings: settings, Tenant: "project_slug", CheckURL: checkBase, New: New}

// api_token is optional: self-hosted Kratos' admin port takes none. New
// requires it on Ory Network.
var settings = []fetch.Setting{
	{Key: "base_url", Env: "IDSNAP_ORY_BASE_URL", URL: true, Required: true, Help: "the Admin API base, such as " + baseExample},
	{Key: "api_token", Env: "IDSNAP_ORY_API_TOKEN", Secret: true, Help: "a project API key (ory_apikey_…)"},
	{Key: "project_slug", Env: "IDSNAP_ORY_PROJECT_SLUG", Help: "the project's slug, shown with its snapshots"},
}

const baseExample = "https://{slug}.projects.oryapis.com/ or http://127.0.0.1:4434/"

// New checks src and returns its fetcher. base_url is the project's Admin
// API base; api_token is required on Ory Network and optional on
// self-hosted Kratos, whose admin port has no auth of its own.
func New(src idsnap.Source, c *fetch.Client) (fetch.Fetcher, error) {
	if c == nil {
		return nil, errors.New("ory: nil HTTP client")
	}
	if err := fetch.Require(src, settings); err != nil {
		return nil, err
	}
	base, err := parseBase(src.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("base_url: %w", err)
	}
	network := isNetworkHost(base.Hostname())
	token := src.Secret("api_token")
	if network && token == "" {
		return nil, fmt.Errorf("api_token is required for Ory Network (%s); create a project API key in the Ory Console (Project settings → API keys)", base.Host)
	}
	if network {
		c.SetDefaultRate(NetworkRate, NetworkBurst)
	} else {
		c.SetDefaultRate(SelfHostedRate, SelfHostedBurst)
	}
	c.SetBodyParser(parseBody)
	return &Fetcher{c: c, base: base, token: token, network: network, slug: src.Setting("project_slug")}, nil
}

// checkBase is parseBase for the configuration.
func checkBase(raw string) (string, error) {
	u, err := parseBase(raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// parseBase validates base_url and gives it a trailing slash, so that
// "admin/identities" resolves below it rather than replacing its last
// segment.
func parseBase(raw string) (*url.URL, error) {
	u, err := fetch.ParseURL(raw, baseExample, "api_token")
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// isNetworkHost reports whether host is Ory Network's
// ({slug}.projects.oryapis.com), where admin APIs always need a key.
func isNetworkHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return strings.HasSuffix(host, networkHostSuffix)
}

// listURL is the first page of the identities listing.
func (f *Fetcher) listURL(size int) string {
	return f.base.ResolveReference(&url.URL{Path: "admin/identities", RawQuery: fmt.Sprintf("page_size=%d", size)}).String()
}
