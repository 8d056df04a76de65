// Package zitadel pulls a ZITADEL org read-only through the Management API
// v1 REST gateway: users (human and machine) as principals, projects as
// resources, project roles as entitlements and user grants as grants, one
// grant record per user × role key.
//
// API facts are in docs/providers.md (ZITADEL); the fake that speaks
// the same API is zitadeltest.
package zitadel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/sourcegraph/conc/pool"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/internal/rawjson"
)

// DefaultRate is the request rate when the source sets none. ZITADEL Cloud
// allows 50 req/s per IP averaged over a minute and bans an IP for a
// minute past 50 req/s over three minutes (docs/providers.md, ZITADEL:
// rate limits);
// half of that leaves room for other clients behind the same IP.
// Self-hosted instances have no limit by default: raise it in the config.
const (
	DefaultRate  = 25
	defaultBurst = 5
)

// DefaultConcurrency bounds parallel pages and per-project listings.
const DefaultConcurrency = 4

// Fetcher pulls one ZITADEL org.
type Fetcher struct {
	base  string // https://acme.zitadel.cloud, no trailing slash
	pat   idsnap.Secret
	orgID string // configured org_id; empty: detected
	c     *fetch.Client
	conc  int

	pageSize atomic.Int64
	org      org // resolved by Fetch and Doctor
}

var (
	_ fetch.Fetcher  = (*Fetcher)(nil)
	_ fetch.Doctor   = (*Fetcher)(nil)
	_ fetch.Tenanted = (*Fetcher)(nil)
)

// Tenant is the id of the org the last Fetch read: org_id, or the org it
// detected.
func (f *Fetcher) Tenant() string { return f.org.ID }

// Provider describes ZITADEL sources to the configuration.
var Provider = fetch.Provider{Name: "zitadel", Settings: settings, Tenant: "org_id", CheckURL: instanceURL, New: New}

var settings = []fetch.Setting{
	{Key: "instance_url", Env: "IDSNAP_ZITADEL_INSTANCE_URL", URL: true, Required: true, Help: "the instance's URL, " + instanceExample},
	{Key: "pat", Env: "IDSNAP_ZITADEL_PAT", Secret: true, Required: true, Help: "a personal access token of a service user (ZITADEL console: Users > Service Users > Personal Access Tokens)"},
	{Key: "org_id", Env: "IDSNAP_ZITADEL_ORG_ID", Help: "the org to read; detected when the instance has one"},
}

const instanceExample = "such as https://acme.zitadel.cloud"

// New returns a fetcher for src, which needs instance_url and pat, and may
// name org_id.
func New(src idsnap.Source, c *fetch.Client) (fetch.Fetcher, error) {
	if err := fetch.Require(src, settings); err != nil {
		return nil, err
	}
	base, err := instanceURL(src.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("instance_url: %w", err)
	}
	orgID := src.Setting("org_id")
	if strings.ContainsAny(orgID, " /?#") {
		return nil, fmt.Errorf("org_id %q is not an org id; copy it from the ZITADEL console (Organization > Resource ID) or leave it out", orgID)
	}
	f := &Fetcher{base: base, pat: src.Secret("pat"), orgID: orgID, c: c, conc: src.Concurrency}
	if f.conc <= 0 {
		f.conc = DefaultConcurrency
	}
	f.pageSize.Store(pageSize)
	c.SetDefaultRate(DefaultRate, defaultBurst)
	c.SetBodyParser(parseBody)
	return f, nil
}

// instanceURL checks instance_url: scheme and host, no path.
func instanceURL(s string) (string, error) {
	u, err := fetch.ParseURL(s, "https://acme.zitadel.cloud (http:// for a local instance)", "pat")
	if err != nil {
		return "", err
	}
	if strings.Trim(u.Path, "/") != "" {
		return "", fmt.Errorf("must have no path: use the instance's root URL, %s", instanceExample)
	}
	return u.Scheme + "://" + u.Host, nil
}

// do sends one call with the PAT and, once the org is known, the org header.
func (f *Fetcher) do(ctx context.Context, method, path string, body, out any) error {
	h := http.Header{}
	if id := cmpOr(f.org.ID, f.orgID); id != "" {
		h.Set("x-zitadel-orgid", id)
	}
	r := fetch.Request{Method: method, URL: f.base + path, Header: h, Body: body, Token: f.pat}
	if _, err := f.c.Do(ctx, r, out); err != nil {
		return apiError(err)
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Fetch pulls the org: users ‖ (projects, then roles and grants per
// project, a bounded number of projects at a time).
func (f *Fetcher) Fetch(ctx context.Context, emit fetch.Emit) error {
	o, err := f.resolveOrg(ctx)
	if err != nil {
		return err
	}
	f.org = o
	p := pool.New().WithContext(ctx).WithCancelOnError().WithFirstError()
	p.Go(func(ctx context.Context) error { return f.users(ctx, emit) })
	p.Go(func(ctx context.Context) error {
		ids, err := f.projects(ctx, emit)
		if err != nil {
			return err
		}
		pp := pool.New().WithContext(ctx).WithCancelOnError().WithFirstError().WithMaxGoroutines(f.conc)
		for _, id := range ids {
			pp.Go(func(ctx context.Context) error { return f.roles(ctx, id, emit) })
			pp.Go(func(ctx context.Context) error { return f.grants(ctx, id, emit) })
		}
		return pp.Wait()
	})
	return p.Wait()
}

// details is the part of a ZITADEL object's details idsnap reads.
type details struct {
	CreationDate  string `json:"creationDate"`
	ResourceOwner string `json:"resourceOwner"`
}

// checkOwner refuses an object of another org: some versions ignore
// x-zitadel-orgid and answer with the service user's own org
// (docs/providers.md, ZITADEL: base URL, auth and org), which would file one org's users under another's name.
func (f *Fetcher) checkOwner(what, id, owner string) error {
	if owner != "" && owner != f.org.ID {
		return fmt.Errorf("%s %s belongs to org %s, not org %s: this ZITADEL version ignores the x-zitadel-orgid header (zitadel/zitadel#12482); use a service user of org %s or upgrade", what, id, owner, f.org.ID, f.org.ID)
	}
	return nil
}

// noise lists the fields of an object's details that change on events that
// change nothing an auditor looks at: sequence grows with every event on
// the object (ZITADEL also writes events for e.g. password checks) and
// changeDate follows it. Kept in Raw they would make records "changed" in
// every diff; creationDate and resourceOwner stay.
var noise = []string{"details.sequence", "details.changeDate"}

// filterOf is the byte-level filter that drops the dotted paths drop (one
// or two levels), writing strings as cleanRaw's round-trip does.
func filterOf(drop []string) *rawjson.Filter {
	f := &rawjson.Filter{Strings: rawjson.Reencode, Unique: true, SameKeys: true}
	for _, p := range drop {
		if parent, child, ok := strings.Cut(p, "."); ok {
			if f.Objects == nil {
				f.Objects = map[string][]string{}
			}
			f.Objects[parent] = append(f.Objects[parent], child)
		} else {
			f.Drop = append(f.Drop, p)
		}
	}
	return f
}

var noiseFilter = filterOf(noise)

// clean is cleanRaw(raw, drop, add) for the filter of drop: one pass over
// the bytes, and cleanRaw's map round-trip only for what the filter
// refuses (a duplicate key, a key with escapes), whose result the filter's
// equals otherwise (member order aside: the store sorts them).
func clean(raw json.RawMessage, f *rawjson.Filter, drop []string, add ...rawjson.Member) (json.RawMessage, error) {
	if out, ok := f.Object(make([]byte, 0, len(raw)+32), raw, add...); ok {
		return out, nil
	}
	m := make(map[string]any, len(add))
	for _, a := range add {
		m[a.Key] = json.RawMessage(a.Value)
	}
	return cleanRaw(raw, drop, m)
}

// cleanRaw returns raw without the dotted paths drop, plus the fields add.
func cleanRaw(raw json.RawMessage, drop []string, add map[string]any) (json.RawMessage, error) {
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber() // keep numbers exactly as sent
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	for _, p := range drop {
		obj := m
		parts := strings.Split(p, ".")
		for _, k := range parts[:len(parts)-1] {
			obj, _ = obj[k].(map[string]any)
		}
		if obj != nil {
			delete(obj, parts[len(parts)-1])
		}
	}
	for k, v := range add {
		m[k] = v
	}
	return json.Marshal(m)
}
