package zitadeltest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idsnap/idsnap/fetch/fetchtest"
)

// DefaultPAT is the token a Config without PAT accepts.
const DefaultPAT = "zitadeltest-pat"

// DefaultMaxLimit is the newest ZITADEL's v1 list limit: the default and
// the maximum (PROVIDERS.md §3 Limits / paging).
const DefaultMaxLimit = 1000

// Permissions lists every permission the fake checks, one per endpoint
// (PROVIDERS.md §3 Endpoints, permissions).
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

// NewHandler returns the fake's handler for t.
func NewHandler(t *Tenant, cfg Config) http.Handler {
	if cfg.PAT == "" {
		cfg.PAT = DefaultPAT
	}
	if cfg.Permissions == nil {
		cfg.Permissions = Permissions
	}
	if cfg.MaxLimit == 0 {
		cfg.MaxLimit = DefaultMaxLimit
	}
	h := &handler{t: t, cfg: cfg}
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

// gRPC codes and the HTTP statuses grpc-gateway maps them to (PROVIDERS.md §3 Errors).
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

// listRequest is the body of every _search call. offset is a uint64 and
// limit a uint32: protojson accepts both as JSON strings or numbers.
type listRequest struct {
	Query *struct {
		Offset json.RawMessage `json:"offset"`
		Limit  json.RawMessage `json:"limit"`
		Asc    bool            `json:"asc"`
	} `json:"query"`
	SortingColumn string                       `json:"sortingColumn"`
	Queries       []map[string]json.RawMessage `json:"queries"`
}

type page struct {
	offset, limit uint64
	asc           bool
	unbounded     bool
}

func protoUint(raw json.RawMessage) (uint64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	return strconv.ParseUint(strings.Trim(string(raw), `"`), 10, 64)
}

// readList decodes a _search body and applies the limit rules; it writes
// the error itself and returns false on a bad request.
func (h *handler) readList(w http.ResponseWriter, r *request, allowed ...string) (*listRequest, page, bool) {
	var lr listRequest
	if err := json.NewDecoder(r.Body).Decode(&lr); err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidArgument, "invalid request body: "+err.Error(), "")
		return nil, page{}, false
	}
	var p page
	if lr.Query != nil {
		var err1, err2 error
		p.offset, err1 = protoUint(lr.Query.Offset)
		p.limit, err2 = protoUint(lr.Query.Limit)
		if err1 != nil || err2 != nil || p.limit > 1<<32-1 {
			writeError(w, http.StatusBadRequest, codeInvalidArgument, "invalid query: offset and limit must be unsigned integers", "")
			return nil, page{}, false
		}
		p.asc = lr.Query.Asc
	}
	switch max := h.cfg.MaxLimit; {
	case max > 0 && p.limit > uint64(max):
		writeError(w, http.StatusBadRequest, codeInvalidArgument,
			fmt.Sprintf("Errors.Query.LimitExceeded (given: %d, allowed: %d)", p.limit, max), "QUERY-4M0fs")
		return nil, page{}, false
	case max > 0 && p.limit == 0:
		p.limit = uint64(max)
	case p.limit == 0:
		p.unbounded = true
	}
	for _, q := range lr.Queries {
		for k := range q {
			if !slices.Contains(allowed, k) {
				writeError(w, http.StatusBadRequest, codeInvalidArgument, "zitadeltest does not implement the query "+k, "")
				return nil, page{}, false
			}
		}
	}
	if h.cfg.BeforePage != nil {
		h.cfg.BeforePage(r.URL.Path, p.offset)
	}
	return &lr, p, true
}

// cut returns the page's window of n rows.
func (p page) cut(n int) (int, int) {
	lo := int(min(p.offset, uint64(n)))
	if p.unbounded {
		return lo, n
	}
	return lo, int(min(uint64(lo)+p.limit, uint64(n)))
}

type details struct {
	Sequence      string `json:"sequence,omitempty"`
	CreationDate  string `json:"creationDate,omitempty"`
	ChangeDate    string `json:"changeDate,omitempty"`
	ResourceOwner string `json:"resourceOwner,omitempty"`
}

func objectDetails(seq uint64, created, changed time.Time, owner string) *details {
	return &details{Sequence: u64(seq), CreationDate: ts(created), ChangeDate: ts(changed), ResourceOwner: owner}
}

type listDetails struct {
	TotalResult       string `json:"totalResult,omitempty"`
	ProcessedSequence string `json:"processedSequence,omitempty"`
	ViewTimestamp     string `json:"viewTimestamp,omitempty"`
}

// listDetails must be called with the tenant locked.
func (h *handler) listDetails(total int) listDetails {
	return listDetails{TotalResult: u64(uint64(total)), ProcessedSequence: u64(h.t.seq),
		ViewTimestamp: ts(h.t.base.Add(time.Duration(h.t.seq) * time.Minute))}
}

// u64 encodes a uint64 as protojson does: a string, omitted when zero.
func u64(n uint64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

type orgJSON struct {
	ID            string   `json:"id,omitempty"`
	Details       *details `json:"details,omitempty"`
	State         string   `json:"state,omitempty"`
	Name          string   `json:"name,omitempty"`
	PrimaryDomain string   `json:"primaryDomain,omitempty"`
}

func toOrg(o *Org) orgJSON {
	return orgJSON{ID: o.ID, Details: objectDetails(o.Sequence, o.Created, o.Changed, o.ID),
		State: "ORG_STATE_ACTIVE", Name: o.Name, PrimaryDomain: o.Domain}
}

// myOrg serves GET /management/v1/orgs/me.
func (h *handler) myOrg(w http.ResponseWriter, r *request) {
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"org": toOrg(r.org)})
}

// listOrgs serves POST /admin/v1/orgs/_search, sorted by name with
// ORG_FIELD_NAME_NAME, else by id.
func (h *handler) listOrgs(w http.ResponseWriter, r *request) {
	lr, p, ok := h.readList(w, r)
	if !ok {
		return
	}
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	orgs := slices.Clone(h.t.orgs)
	slices.SortStableFunc(orgs, func(a, b *Org) int {
		if lr.SortingColumn == "ORG_FIELD_NAME_NAME" {
			if c := cmp.Compare(a.Name, b.Name); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if !p.asc {
		slices.Reverse(orgs)
	}
	lo, hi := p.cut(len(orgs))
	var res []orgJSON
	for _, o := range orgs[lo:hi] {
		res = append(res, toOrg(o))
	}
	writeJSON(w, http.StatusOK, struct {
		Details       listDetails `json:"details"`
		SortingColumn string      `json:"sortingColumn,omitempty"`
		Result        []orgJSON   `json:"result,omitempty"`
	}{h.listDetails(len(orgs)), sortingColumn(lr.SortingColumn, "ORG_FIELD_NAME_UNSPECIFIED"), res})
}

func sortingColumn(s, unspecified string) string {
	if s == unspecified {
		return ""
	}
	return s
}

type profileJSON struct {
	FirstName         string `json:"firstName,omitempty"`
	LastName          string `json:"lastName,omitempty"`
	NickName          string `json:"nickName,omitempty"`
	DisplayName       string `json:"displayName,omitempty"`
	PreferredLanguage string `json:"preferredLanguage,omitempty"`
}

type emailJSON struct {
	Email           string `json:"email,omitempty"`
	IsEmailVerified bool   `json:"isEmailVerified,omitempty"`
}

type phoneJSON struct {
	Phone string `json:"phone,omitempty"`
}

type humanJSON struct {
	Profile *profileJSON `json:"profile,omitempty"`
	Email   *emailJSON   `json:"email,omitempty"`
	Phone   *phoneJSON   `json:"phone,omitempty"`
}

type machineJSON struct {
	Name            string `json:"name,omitempty"`
	Description     string `json:"description,omitempty"`
	AccessTokenType string `json:"accessTokenType,omitempty"`
}

type userJSON struct {
	ID                 string       `json:"id,omitempty"`
	Details            *details     `json:"details,omitempty"`
	State              string       `json:"state,omitempty"`
	UserName           string       `json:"userName,omitempty"`
	LoginNames         []string     `json:"loginNames,omitempty"`
	PreferredLoginName string       `json:"preferredLoginName,omitempty"`
	Human              *humanJSON   `json:"human,omitempty"`
	Machine            *machineJSON `json:"machine,omitempty"`
}

// toUser must be called with the tenant locked.
func (h *handler) toUser(u *User) userJSON {
	login := u.UserName + "@" + h.t.org(u.OrgID).Domain
	j := userJSON{ID: u.ID, Details: objectDetails(u.Sequence, u.Created, u.Changed, u.OrgID), State: u.State,
		UserName: u.UserName, LoginNames: []string{login}, PreferredLoginName: login}
	if u.Machine {
		// ACCESS_TOKEN_TYPE_BEARER is the enum's zero value: omitted.
		j.Machine = &machineJSON{Name: u.Name, Description: u.Description}
	} else {
		j.Human = &humanJSON{
			Profile: &profileJSON{FirstName: u.FirstName, LastName: u.LastName, NickName: u.NickName,
				DisplayName: u.DisplayName, PreferredLanguage: u.Language},
			Email: &emailJSON{Email: u.Email, IsEmailVerified: u.EmailVerified},
			Phone: &phoneJSON{Phone: u.Phone},
		}
	}
	return j
}

// listUsers serves POST /management/v1/users/_search: the org's users,
// by id unless a sorting column says otherwise, descending unless asc.
func (h *handler) listUsers(w http.ResponseWriter, r *request) {
	lr, p, ok := h.readList(w, r)
	if !ok {
		return
	}
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	users := h.t.usersOf(r.org.ID)
	var key func(*User) string
	switch lr.SortingColumn {
	case "USER_FIELD_NAME_USER_NAME":
		key = func(u *User) string { return u.UserName }
	case "USER_FIELD_NAME_EMAIL":
		key = func(u *User) string { return u.Email }
	case "USER_FIELD_NAME_DISPLAY_NAME":
		key = func(u *User) string { return u.DisplayName }
	case "USER_FIELD_NAME_CREATION_DATE":
		key = func(u *User) string { return ts(u.Created) }
	}
	if key != nil {
		users = slices.Clone(users)
		slices.SortStableFunc(users, func(a, b *User) int { return cmp.Compare(key(a), key(b)) })
	}
	if !p.asc {
		users = slices.Clone(users)
		slices.Reverse(users)
	}
	lo, hi := p.cut(len(users))
	res := make([]userJSON, 0, hi-lo) // omitempty drops it when empty, as nil
	for _, u := range users[lo:hi] {
		res = append(res, h.toUser(u))
	}
	writeJSON(w, http.StatusOK, struct {
		Details       listDetails `json:"details"`
		SortingColumn string      `json:"sortingColumn,omitempty"`
		Result        []userJSON  `json:"result,omitempty"`
	}{h.listDetails(len(users)), sortingColumn(lr.SortingColumn, "USER_FIELD_NAME_UNSPECIFIED"), res})
}

type projectJSON struct {
	ID                   string   `json:"id,omitempty"`
	Details              *details `json:"details,omitempty"`
	Name                 string   `json:"name,omitempty"`
	State                string   `json:"state,omitempty"`
	ProjectRoleAssertion bool     `json:"projectRoleAssertion,omitempty"`
	ProjectRoleCheck     bool     `json:"projectRoleCheck,omitempty"`
}

// listProjects serves POST /management/v1/projects/_search: the org's own
// projects in heap order (no ORDER BY; asc has no effect).
func (h *handler) listProjects(w http.ResponseWriter, r *request) {
	_, p, ok := h.readList(w, r)
	if !ok {
		return
	}
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	var ps []*project
	for _, pr := range h.t.projects {
		if pr.OrgID == r.org.ID {
			ps = append(ps, pr)
		}
	}
	lo, hi := p.cut(len(ps))
	var res []projectJSON
	for _, pr := range ps[lo:hi] {
		res = append(res, projectJSON{ID: pr.ID, Details: objectDetails(pr.Sequence, pr.Created, pr.Changed, pr.OrgID),
			Name: pr.Name, State: pr.State, ProjectRoleAssertion: pr.RoleAssertion, ProjectRoleCheck: pr.RoleCheck})
	}
	writeJSON(w, http.StatusOK, struct {
		Details listDetails   `json:"details"`
		Result  []projectJSON `json:"result,omitempty"`
	}{h.listDetails(len(ps)), res})
}

type roleJSON struct {
	Key         string   `json:"key,omitempty"`
	Details     *details `json:"details,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	Group       string   `json:"group,omitempty"`
}

// listRoles serves POST /management/v1/projects/{projectId}/roles/_search.
// A project of another org or an unknown one lists no roles.
func (h *handler) listRoles(w http.ResponseWriter, r *request) {
	_, p, ok := h.readList(w, r)
	if !ok {
		return
	}
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	var roles []*Role
	var owner string
	for _, pr := range h.t.projects {
		if pr.ID == r.PathValue("projectId") && pr.OrgID == r.org.ID {
			roles, owner = pr.roles, pr.OrgID
		}
	}
	lo, hi := p.cut(len(roles))
	var res []roleJSON
	for _, ro := range roles[lo:hi] {
		res = append(res, roleJSON{Key: ro.Key, Details: objectDetails(ro.Sequence, ro.Created, ro.Changed, owner),
			DisplayName: ro.DisplayName, Group: ro.Group})
	}
	writeJSON(w, http.StatusOK, struct {
		Details listDetails `json:"details"`
		Result  []roleJSON  `json:"result,omitempty"`
	}{h.listDetails(len(roles)), res})
}

type grantJSON struct {
	ID                 string   `json:"id,omitempty"`
	Details            *details `json:"details,omitempty"`
	RoleKeys           []string `json:"roleKeys,omitempty"`
	State              string   `json:"state,omitempty"`
	UserID             string   `json:"userId,omitempty"`
	UserName           string   `json:"userName,omitempty"`
	FirstName          string   `json:"firstName,omitempty"`
	LastName           string   `json:"lastName,omitempty"`
	Email              string   `json:"email,omitempty"`
	DisplayName        string   `json:"displayName,omitempty"`
	OrgID              string   `json:"orgId,omitempty"`
	OrgName            string   `json:"orgName,omitempty"`
	OrgDomain          string   `json:"orgDomain,omitempty"`
	ProjectID          string   `json:"projectId,omitempty"`
	ProjectName        string   `json:"projectName,omitempty"`
	PreferredLoginName string   `json:"preferredLoginName,omitempty"`
	UserType           string   `json:"userType,omitempty"`
}

// listGrants serves POST /management/v1/users/grants/_search: grants on
// the org's projects (the request org is the resource owner, as ZITADEL
// adds without withGrantedQuery), filtered by projectIdQuery and
// userIdQuery, in heap order.
func (h *handler) listGrants(w http.ResponseWriter, r *request) {
	lr, p, ok := h.readList(w, r, "projectIdQuery", "userIdQuery")
	if !ok {
		return
	}
	var projectID, userID string
	for _, q := range lr.Queries {
		var v struct {
			ProjectID string `json:"projectId"`
			UserID    string `json:"userId"`
		}
		for _, raw := range q {
			json.Unmarshal(raw, &v)
		}
		projectID, userID = cmp.Or(v.ProjectID, projectID), cmp.Or(v.UserID, userID)
	}
	h.t.mu.Lock()
	defer h.t.mu.Unlock()
	projects := make(map[string]*project) // the org's, of projectIdQuery if any
	for _, pr := range h.t.projects {
		if pr.OrgID == r.org.ID && (projectID == "" || pr.ID == projectID) {
			projects[pr.ID] = pr
		}
	}
	all := h.t.grants
	if projectID != "" {
		all = h.t.projectGrants(projectID)
	}
	var gs []*Grant
	for _, g := range all {
		if projects[g.ProjectID] != nil && (projectID == "" || g.ProjectID == projectID) && (userID == "" || g.UserID == userID) {
			gs = append(gs, g)
		}
	}
	lo, hi := p.cut(len(gs))
	res := make([]grantJSON, 0, hi-lo)
	for _, g := range gs[lo:hi] {
		u, pr := h.t.userIdx[g.UserID], projects[g.ProjectID]
		uo := h.t.org(u.OrgID)
		j := grantJSON{ID: g.ID, Details: objectDetails(g.Sequence, g.Created, g.Changed, pr.OrgID),
			RoleKeys: g.RoleKeys, State: g.State, UserID: u.ID, UserName: u.UserName, FirstName: u.FirstName,
			LastName: u.LastName, Email: u.Email, DisplayName: cmp.Or(u.DisplayName, u.Name),
			OrgID: uo.ID, OrgName: uo.Name, OrgDomain: uo.Domain, ProjectID: pr.ID, ProjectName: pr.Name,
			PreferredLoginName: u.UserName + "@" + uo.Domain, UserType: "TYPE_HUMAN"}
		if u.Machine {
			j.UserType = "TYPE_MACHINE"
		}
		res = append(res, j)
	}
	writeJSON(w, http.StatusOK, struct {
		Details listDetails `json:"details"`
		Result  []grantJSON `json:"result,omitempty"`
	}{h.listDetails(len(gs)), res})
}
