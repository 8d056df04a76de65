package zitadeltest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	"github.com/idsnap/idsnap/fetch/fetchtest"
)

// DefaultPAT is the token a Config without PAT accepts.
const DefaultPAT = "zitadeltest-pat"

// DefaultMaxLimit is the newest ZITADEL's v1 list limit: the default and
// the maximum (docs/providers.md, ZITADEL: paging).
const DefaultMaxLimit = 1000

// Permissions lists every permission the fake checks, one per endpoint
// (docs/providers.md, ZITADEL: permissions).
var Permissions = []string{"org.read", "user.read", "project.read", "project.role.read", "user.grant.read", "iam.read"}

// Config shapes how the fake behaves. Several orgs are a property of the
// Tenant (AddOrg), not of the Config.
type Config struct {
	// PAT is the one accepted bearer token; empty: DefaultPAT.
	PAT string
	// Permissions the service user holds, in every org; nil: all of
	// Permissions. Without iam.read, POST /admin/v1/orgs/_search is refused.
	Permissions []string
	// HomeOrg is the service user's org, used when a request names none;
	// empty: the tenant's first org.
	HomeOrg string
	// IgnoreOrgHeader simulates versions that ignore x-zitadel-orgid and
	// answer with the home org's data, even for unknown org ids
	// (zitadel/zitadel issue #12482).
	IgnoreOrgHeader bool
	// MaxLimit is the largest accepted query.limit, and the default for
	// limit 0; 0 takes DefaultMaxLimit. Negative: no maximum and no default
	// (ZITADEL up to v2.7x returns everything for limit 0).
	MaxLimit int
	// BeforePage, when set, runs before every list page is served, outside
	// the tenant's lock: tests change the tenant mid-pull with it. path is
	// the URL path, offset the page's query.offset.
	BeforePage func(path string, offset uint64)
}

// Server is the fake on a loopback httptest server, with faults in front.
type Server struct {
	*httptest.Server
	Tenant *Tenant
	Faults *fetchtest.Faults
}

// NewServer starts a fake of t configured by cfg. Close it when done.
func NewServer(t *Tenant, cfg Config) *Server {
	s := &Server{Tenant: t, Faults: &fetchtest.Faults{}}
	s.Server = httptest.NewServer(s.Faults.Wrap(NewHandler(t, cfg)))
	return s
}

// NewHandler returns the fake's handler for t. It writes every row of the
// tenant's listings before it returns (see writeRows).
func NewHandler(t *Tenant, cfg Config) http.Handler {
	h := newHandler(t, cfg)
	h.writeRows()
	return h.routes()
}

func newHandler(t *Tenant, cfg Config) *handler {
	if cfg.PAT == "" {
		cfg.PAT = DefaultPAT
	}
	if cfg.Permissions == nil {
		cfg.Permissions = Permissions
	}
	if cfg.MaxLimit == 0 {
		cfg.MaxLimit = DefaultMaxLimit
	}
	return &handler{t: t, cfg: cfg}
}

func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /management/v1/orgs/me", h.auth("org.read", h.myOrg))
	mux.HandleFunc("POST /management/v1/users/_search", h.auth("user.read", h.listUsers))
	mux.HandleFunc("POST /management/v1/projects/_search", h.auth("project.read", h.listProjects))
	mux.HandleFunc("POST /management/v1/projects/{projectId}/roles/_search", h.auth("project.role.read", h.listRoles))
	mux.HandleFunc("POST /management/v1/users/grants/_search", h.auth("user.grant.read", h.listGrants))
	mux.HandleFunc("POST /admin/v1/orgs/_search", h.auth("iam.read", h.listOrgs))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// grpc-gateway's answer to a route it does not know.
		writeError(w, http.StatusNotFound, 5, "Not Found", "")
	})
	return mux
}

type handler struct {
	t   *Tenant
	cfg Config
}

// gRPC codes and the HTTP statuses grpc-gateway maps them to
// (docs/providers.md, ZITADEL: errors).
const (
	codeInvalidArgument  = 3
	codeNotFound         = 5
	codePermissionDenied = 7
	codeUnauthenticated  = 16
)

type errorDetail struct {
	Type    string `json:"@type"`
	ID      string `json:"id,omitempty"`
	Message string `json:"message,omitempty"`
}

// writeError writes the gateway envelope: the message carries the ZITADEL
// error id in parentheses, and details hold a zitadel.v1.ErrorDetail.
func writeError(w http.ResponseWriter, status, code int, msg, id string) {
	body := struct {
		Code    int           `json:"code"`
		Message string        `json:"message"`
		Details []errorDetail `json:"details,omitempty"`
	}{Code: code, Message: msg}
	if id != "" {
		body.Message = fmt.Sprintf("%s (%s)", msg, id)
		body.Details = append(body.Details, errorDetail{Type: "type.googleapis.com/zitadel.v1.ErrorDetail", ID: id, Message: msg})
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// request is what a handler learns from the auth step.
type request struct {
	*http.Request
	org *Org
}

func (h *handler) auth(perm string, next func(http.ResponseWriter, *request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok != h.cfg.PAT {
			writeError(w, http.StatusUnauthorized, codeUnauthenticated, "Token is invalid", "AUTH-7fs1e")
			return
		}
		h.t.mu.Lock()
		org := h.t.org(h.cfg.HomeOrg)
		if id := r.Header.Get("x-zitadel-orgid"); id != "" && !h.cfg.IgnoreOrgHeader {
			org = h.t.org(id)
		}
		h.t.mu.Unlock()
		if org == nil {
			writeError(w, http.StatusNotFound, codeNotFound, "Organisation not found", "ZTEST-0rg404")
			return
		}
		if !slices.Contains(h.cfg.Permissions, perm) {
			writeError(w, http.StatusForbidden, codePermissionDenied, "No matching permissions found", "AUTH-5mWD2")
			return
		}
		next(w, &request{Request: r, org: org})
	}
}
