package orytest

import (
	"crypto/subtle"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/idsnap/idsnap/fetch/fetchtest"
)

// Config shapes the fake.
type Config struct {
	// APIToken, when set, is the one project API key accepted (Ory Network
	// mode): a request without "Authorization: Bearer <APIToken>" gets 401
	// with the Ory error envelope. Empty: self-hosted Kratos, whose admin
	// port has no auth.
	APIToken string
	// ForeignTokens are keys Ory knows but that may not read this project
	// (a key of another project): 403.
	ForeignTokens []string
	// PublicURL is the Kratos public URL, used in schema_url. Default
	// http://127.0.0.1:4433, as in the captured samples.
	PublicURL string
	// RateLimitHeaders adds Ory Network's x-ratelimit-* headers to every
	// answer.
	RateLimitHeaders bool
}

// NewHandler serves t as the Kratos Admin API does: GET /admin/identities
// (and its unprefixed alias /identities), everything else the plain-text
// 404 of Go's mux. It is read-only: other methods on the list get 405.
func NewHandler(t *Tenant, cfg Config) http.Handler {
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://127.0.0.1:4433"
	}
	h := &handler{t: t, cfg: cfg, schemaURL: strings.TrimSuffix(cfg.PublicURL, "/") + "/schemas/ZGVmYXVsdA"}
	return h
}

type handler struct {
	t         *Tenant
	cfg       Config
	schemaURL string // base64url("default"), as Kratos names its schema URL
	// encoded keeps each stored identity's wire JSON (*Identity → []byte).
	// Stored identities are never changed in place (an update stores a
	// copy), so the bytes stay right; encoding is then paid once per
	// version, as a server's cost, rather than on every page of every
	// pull by a fake that shares the client's CPU.
	encoded sync.Map
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.cfg.RateLimitHeaders {
		w.Header().Set("X-Ratelimit-Limit", "10, 10;w=1, 300;w=60")
		w.Header().Set("X-Ratelimit-Remaining", "9")
		w.Header().Set("X-Ratelimit-Reset", "1")
	}
	if !h.authorized(w, r) {
		return
	}
	switch r.URL.Path {
	case "/admin/identities", "/identities":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h.listIdentities(w, r)
		default:
			w.Header().Set("Allow", "GET, HEAD, PATCH, POST")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		}
	default:
		// Kratos' router answers unknown routes (and /admin/identities/)
		// with Go's own text/plain "404 page not found".
		w.Header().Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
		http.NotFound(w, r)
	}
}

// authorized checks the bearer key in Network mode.
func (h *handler) authorized(w http.ResponseWriter, r *http.Request) bool {
	if h.cfg.APIToken == "" {
		return true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case ok && subtle.ConstantTimeCompare([]byte(tok), []byte(h.cfg.APIToken)) == 1:
		return true
	case ok && contains(h.cfg.ForeignTokens, tok):
		writeError(w, http.StatusForbidden, "Forbidden", "The requested action was forbidden", "This API key does not grant access to this project.")
	default:
		writeError(w, http.StatusUnauthorized, "Unauthorized", "The request could not be authorized", "")
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if subtle.ConstantTimeCompare([]byte(v), []byte(s)) == 1 {
			return true
		}
	}
	return false
}

// Server is the fake on a loopback port, with faults in front.
type Server struct {
	*httptest.Server
	Tenant *Tenant
	Faults *fetchtest.Faults
}

// NewServer starts a fake serving t, wrapped in a fresh Faults.
func NewServer(t *Tenant, cfg Config) *Server {
	f := &fetchtest.Faults{}
	return &Server{Server: httptest.NewServer(f.Wrap(NewHandler(t, cfg))), Tenant: t, Faults: f}
}

// PublicHandler answers like Kratos' public port does for admin paths:
// 307 Temporary Redirect to the same path on adminURL (the admin port).
func PublicHandler(adminURL string) http.Handler {
	adminURL = strings.TrimSuffix(adminURL, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/admin/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
		w.Header().Set("Vary", "Cookie")
		http.Redirect(w, r, adminURL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	})
}
