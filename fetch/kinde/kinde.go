// Package kinde pulls a Kinde business read-only through the Kinde
// Management API (https://docs.kinde.com/kinde-apis/management/): users
// become principals, organizations resources, organization membership the
// entitlement "member" and each organization role key an entitlement
// "role:<key>", with a grant per member and per role held.
//
// It authenticates as an M2M application with client credentials and needs
// the scopes read:users, read:organizations and read:organization_users.
package kinde

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"strings"

	"github.com/sourcegraph/conc/pool"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/internal/ahead"
	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
)

// Kinde publishes no request rate, only that it has a rate limiter and a
// concurrency limiter answering 429 with RateLimit-Reset, and that list
// requests with expansions cost it the most (api-rate-limits docs). A
// nightly pull is not in a hurry: 5 requests a second with 4 organizations
// in flight stays clear of both limiters, and pulls 10k users and 200
// organizations (about 230 requests) in under a minute.
const (
	defaultRate        = 5
	defaultBurst       = 5
	defaultConcurrency = 4
)

// pageSize is the most Kinde serves per page.
const pageSize = 500

// Fetcher pulls one Kinde business.
type Fetcher struct {
	src  idsnap.Source
	c    *fetch.Client
	base string // https://<sub>.kinde.com, no trailing slash
	auth *tokenSource
	conc int
}

var (
	_ fetch.Fetcher = (*Fetcher)(nil)
	_ fetch.Doctor  = (*Fetcher)(nil)
)

// Provider describes Kinde sources to the configuration.
var Provider = fetch.Provider{Name: "kinde", Settings: settings, CheckURL: checkBase, New: New}

var settings = []fetch.Setting{
	{Key: "base_url", Env: "IDSNAP_KINDE_BASE_URL", URL: true, Required: true, Help: "your Kinde domain, such as https://mybusiness.kinde.com"},
	{Key: "client_id", Env: "IDSNAP_KINDE_CLIENT_ID", Required: true, Help: "the client ID of the Kinde M2M application"},
	{Key: "client_secret", Env: "IDSNAP_KINDE_CLIENT_SECRET", Secret: true, Required: true, Help: "the client secret of the Kinde M2M application"},
}

// New checks a Kinde source's settings and returns its fetcher.
func New(src idsnap.Source, c *fetch.Client) (fetch.Fetcher, error) {
	if err := fetch.Require(src, settings); err != nil {
		return nil, err
	}
	base, err := checkBase(src.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("base_url: %w", err)
	}
	if _, suffix := cutAPISuffix(src.BaseURL); suffix != "" {
		c.Logger().Info("kinde base_url should be the domain alone; ignoring its suffix", "suffix", suffix)
	}
	n := src.Concurrency
	if n <= 0 {
		n = defaultConcurrency
	}
	c.SetDefaultRate(defaultRate, defaultBurst)
	c.SetBodyParser(parseBody)
	return &Fetcher{src: src, c: c, base: base, auth: newTokenSource(base, src, c), conc: n}, nil
}

// checkBase validates base_url and normalises it to scheme://host[/path]:
// no trailing slash, and no /api or /api/v1 suffix, which people paste
// from the API docs and which would otherwise end in a confusing 404.
func checkBase(raw string) (string, error) {
	u, err := fetch.ParseURL(raw, "https://mybusiness.kinde.com", "client_id and client_secret")
	if err != nil {
		return "", err
	}
	u.Path, _ = cutAPISuffix(u.Path)
	u.RawPath = ""
	return u.String(), nil
}

// cutAPISuffix drops trailing slashes and an API path suffix from s.
func cutAPISuffix(s string) (string, string) {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	for _, suffix := range []string{"/api/v1", "/api"} {
		if p, ok := strings.CutSuffix(s, suffix); ok {
			return p, suffix
		}
	}
	return s, ""
}

// Fetch lists users and organizations (with their members) in parallel,
// streaming every record to emit.
func (f *Fetcher) Fetch(ctx context.Context, emit fetch.Emit) error {
	// A token problem is one error, not one per list.
	if _, err := f.auth.token(ctx); err != nil {
		return err
	}
	p := pool.New().WithContext(ctx).WithCancelOnError().WithFirstError()
	p.Go(func(ctx context.Context) error { return f.listUsers(ctx, emit) })
	p.Go(func(ctx context.Context) error { return f.listOrganizations(ctx, emit) })
	return p.Wait()
}

// paginate pages a next_token listing at path, handing each page to handle,
// and asks for page k+1 as soon as page k's token is known, while handle
// works on page k: a page then costs the longer of the two, not their sum.
// Its errors name what ("list users").
func paginate[P any](ctx context.Context, f *Fetcher, path string, q url.Values, scope, what string,
	token func(*P) *string, handle func(context.Context, *P) error) error {
	pages := fetch.NewPages("GET " + path)
	get := func(q url.Values) func(context.Context) (*P, error) {
		return func(ctx context.Context) (*P, error) {
			p := new(P)
			if err := f.get(ctx, path, q, scope, p); err != nil {
				return nil, err
			}
			return p, nil
		}
	}
	p, err := get(q)(ctx)
	for {
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		// Kinde answers null (or leaves it out) on the last page; a page
		// that is not followed silently drops the rest of the tenant.
		var pending *ahead.Call[*P]
		next := token(p)
		last := next == nil || *next == ""
		var nextErr error // reported after this page's own errors
		if !last {
			if nextErr = pages.Next(*next); nextErr == nil {
				nq := maps.Clone(q)
				nq.Set("next_token", *next)
				pending = ahead.Start(ctx, get(nq))
			}
		}
		if err := handle(ctx, p); err != nil {
			pending.Stop()
			return err
		}
		if nextErr != nil {
			return fmt.Errorf("%s: %w", what, nextErr)
		}
		if last {
			return nil
		}
		p, err = pending.Wait()
	}
}

// readListing reads a page of a next_token listing, {"<list>": [...],
// "next_token": ...}, as json.Unmarshal reads it into a struct of those two
// fields: items reads the list's value, which starts at data[i], and
// returns where it ends (-1 declines); the page is read in one pass. It
// declines what it does not read exactly so: a key that folds onto either
// (json.Unmarshal matches keys case-insensitively), or one sent twice.
func readListing(data []byte, list string, items func(i int) int, next **string) bool {
	var seenList, seenNext bool
	return jsonscan.Whole(data, jsonscan.MembersAt(data, 0, func(k []byte, i int) int {
		switch string(k) {
		case list:
			if seenList {
				return -1
			}
			seenList = true
			return items(i)
		case "next_token":
			if seenNext {
				return -1
			}
			seenNext = true
			return jsonscan.Value(data, i, func(v []byte) bool { return stringPtr(v, next) })
		}
		if !jsonscan.Other(k, list, "next_token") {
			return -1
		}
		return jsonscan.Skip(data, i)
	}))
}
