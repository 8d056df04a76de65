// Package kindetest is a protocol fake of the Kinde Management API: the real
// paths, the M2M client-credentials token endpoint with its audience and
// secret checks, bearer tokens that expire, scopes per endpoint,
// next_token pagination and the error bodies of the OpenAPI spec
// Kinde publishes (docs/providers.md, Kinde). It is read-only: every write
// route answers ROUTE_NOT_FOUND. Like net/http/httptest it never imports
// testing, so tests and cmd/idsim share it.
package kindetest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"

	"github.com/idsnap/idsnap/fetch/fetchtest"
)

// Demo credentials of the fake's M2M application, used when a Config leaves
// them empty.
const (
	DemoClientID     = "idsnap-demo-m2m"
	DemoClientSecret = "idsnap-demo-secret-do-not-use"
)

// Scopes the fake enforces, one per endpoint it serves.
const (
	ScopeReadUsers             = "read:users"
	ScopeReadOrganizations     = "read:organizations"
	ScopeReadOrganizationUsers = "read:organization_users"
)

// AllScopes are the scopes idsnap needs, granted by default.
var AllScopes = []string{ScopeReadUsers, ScopeReadOrganizations, ScopeReadOrganizationUsers}

// Page sizes: Kinde defaults to 10 when page_size is not sent (spec) and
// serves at most 500 per page (api-rate-limits docs). The docs do not say
// what a larger page_size does; the fake clamps it to 500.
const (
	DefaultPageSize = 10
	MaxPageSize     = 500
)

// Config is the fake's M2M application and behaviour.
type Config struct {
	ClientID     string        // empty: DemoClientID
	ClientSecret string        // empty: DemoClientSecret
	Scopes       []string      // scopes granted to the application; nil: AllScopes
	TokenTTL     time.Duration // token lifetime, sent as expires_in; 0: 24h (Kinde's default)
	// NotAuthorized makes the application one that was never authorized for
	// the Kinde Management API: every token request gets the audience error.
	NotAuthorized bool
	// Latency is added to every request by NewServer (through Faults).
	Latency time.Duration
	// Now is the fake's clock for token expiry; nil: time.Now. Advancing it
	// expires tokens the client still believes valid.
	Now func() time.Time
	// Webhooks signs the business's webhooks; its keys are served at
	// /.well-known/jwks. nil: a new signer (NewServer exposes it).
	Webhooks *Webhooks
}

// Server is a running fake: an httptest.Server whose handler is wrapped in
// Faults, so tests can inject 429s, 5xx and slow pages.
type Server struct {
	*httptest.Server
	Tenant   *Tenant
	Faults   *fetchtest.Faults
	Webhooks *Webhooks
}

// NewServer starts a fake serving t on loopback. Close it when done.
func NewServer(t *Tenant, cfg Config) *Server {
	f := &fetchtest.Faults{Latency: cfg.Latency}
	if cfg.Webhooks == nil {
		cfg.Webhooks = NewWebhooks()
	}
	return &Server{Server: httptest.NewServer(f.Wrap(NewHandler(t, cfg))), Tenant: t, Faults: f, Webhooks: cfg.Webhooks}
}

type handler struct {
	t   *Tenant
	cfg Config

	mu     sync.Mutex
	tokens map[string]token
}

type token struct {
	expires time.Time
	scopes  map[string]bool
}

// NewHandler returns the fake API serving t, without faults or latency.
// It encodes every membership's row before it returns (writeMemberRows).
func NewHandler(t *Tenant, cfg Config) http.Handler {
	if cfg.ClientID == "" {
		cfg.ClientID = DemoClientID
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = DemoClientSecret
	}
	if cfg.Scopes == nil {
		cfg.Scopes = AllScopes
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Webhooks == nil {
		cfg.Webhooks = NewWebhooks()
	}
	t.writeMemberRows()
	h := &handler{t: t, cfg: cfg, tokens: map[string]token{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/token", h.token)
	mux.HandleFunc("GET /api/v1/users", h.api(ScopeReadUsers, h.users))
	mux.HandleFunc("GET /api/v1/organizations", h.api(ScopeReadOrganizations, h.organizations))
	mux.HandleFunc("GET /api/v1/organizations/{org_code}/users", h.api(ScopeReadOrganizationUsers, h.organizationUsers))
	mux.HandleFunc("GET /.well-known/jwks", cfg.Webhooks.serveJWKS)
	mux.HandleFunc("/", h.notFound)
	return mux
}

// notFound answers any other route, including writes, as Kinde does: with
// errors as an object, not the array of every other error.
func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]any{
		"errors": map[string]string{"code": "ROUTE_NOT_FOUND", "message": "The requested API route does not exist"},
	})
}

// apiError writes the spec's error_response.
func apiError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{
		"errors": []map[string]string{{"code": code, "message": message}},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// pageParams reads page_size and next_token. A next_token is an opaque
// base64 keyset cursor: the last id of the previous page, bound to its
// listing so a token of one listing fails on another.
func pageParams(w http.ResponseWriter, r *http.Request, listing string) (size int, after string, ok bool) {
	q := r.URL.Query()
	size = DefaultPageSize
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			apiError(w, http.StatusBadRequest, "INVALID_PAGE_SIZE", "page_size must be a positive integer")
			return 0, "", false
		}
		size = min(n, MaxPageSize)
	}
	if v := q.Get("next_token"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		prefix := listing + "\x00"
		if err != nil || len(b) <= len(prefix) || string(b[:len(prefix)]) != prefix {
			apiError(w, http.StatusBadRequest, "INVALID_NEXT_TOKEN", "The next_token is invalid")
			return 0, "", false
		}
		after = string(b[len(prefix):])
	}
	return size, after, true
}

// nextToken is the cursor after last, or nil (JSON null) on the last page,
// as Kinde answers (management-api-js regression tests).
func nextToken(listing, last string, more bool) *string {
	if !more {
		return nil
	}
	s := base64.RawURLEncoding.EncodeToString([]byte(listing + "\x00" + last))
	return &s
}

// timestamp formats t as Kinde does: 2025-02-12T18:02:23.614638+00:00.
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000-07:00")
}

func nullableTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timestamp(t)
	return &s
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
