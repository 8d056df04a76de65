package orytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kratos' keyset paging (ory/x keysetpagination): default 250, larger
// sizes silently clamped to 500, the first page's token the nil UUID.
const (
	DefaultPageSize = 250
	MaxPageSize     = 500
	nilUUID         = "00000000-0000-0000-0000-000000000000"
	// legacyMaxItems bounds the deprecated page/per_page paging.
	legacyMaxItems = 1000
)

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

const (
	msgBadRequest  = "The request was malformed or contained invalid parameters"
	reasonBadToken = "The page token is invalid, do not craft your own page tokens"
)

// listIdentities serves GET /admin/identities as Kratos does: filters,
// then keyset paging when page_token or page_size is given (or neither
// page nor anything else: per_page is read as page_size), legacy
// page/per_page paging when page is given.
func (h *handler) listIdentities(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filters := 0
	for _, k := range []string{"ids", "credentials_identifier", "preview_credentials_identifier_similar", "organization_id"} {
		if q.Get(k) != "" {
			filters++
		}
	}
	if filters > 1 {
		writeError(w, http.StatusBadRequest, "Bad Request", msgBadRequest, "You cannot combine multiple filters in this API")
		return
	}
	if ids := q["ids"]; len(ids) > 0 {
		for _, id := range ids {
			if !uuidRE.MatchString(id) {
				writeError(w, http.StatusBadRequest, "Bad Request", msgBadRequest, fmt.Sprintf("Invalid UUID value `%s` for parameter `ids`.", id))
				return
			}
		}
	}
	if q.Has("page") && !q.Has("page_token") && !q.Has("page_size") {
		h.legacyPage(w, r, q)
		return
	}
	if pp, ok := q["per_page"]; ok && !q.Has("page_size") {
		q["page_size"] = pp
	}
	q.Del("per_page")
	size := DefaultPageSize
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "Bad Request", msgBadRequest, err.Error())
			return
		}
		if n > 0 {
			size = min(n, MaxPageSize)
		}
	}
	after := nilUUID
	if v := q.Get("page_token"); v != "" {
		if !uuidRE.MatchString(v) {
			writeError(w, http.StatusBadRequest, "Bad Request", msgBadRequest, reasonBadToken)
			return
		}
		after = strings.ToLower(v)
	}

	match := h.filter(q)
	h.t.mu.RLock()
	page := make([]*Identity, 0, min(size, len(h.t.order)))
	i, found := slices.BinarySearch(h.t.order, after)
	if found {
		i++
	}
	more := false
	for ; i < len(h.t.order); i++ {
		p := h.t.byID[h.t.order[i]]
		if !match(p) {
			continue
		}
		if len(page) == size && !q.Has("ids") {
			more = true
			break
		}
		page = append(page, p)
	}
	h.t.mu.RUnlock()

	// Link: the request's query re-encoded (sorted) with page_size and
	// page_token set, path-relative, comma-joined without a space.
	q.Set("page_size", strconv.Itoa(size))
	q.Set("page_token", nilUUID)
	link := "</admin/identities?" + q.Encode() + `>; rel="first"`
	if more {
		q.Set("page_token", page[len(page)-1].ID)
		link += ",</admin/identities?" + q.Encode() + `>; rel="next"`
	}
	w.Header().Set("Link", link)
	h.writeList(w, r, page)
}

// filter is the predicate of the one filter the query may carry.
func (h *handler) filter(q url.Values) func(*Identity) bool {
	switch {
	case len(q["ids"]) > 0:
		want := map[string]bool{}
		for _, id := range q["ids"] {
			want[strings.ToLower(id)] = true
		}
		return func(p *Identity) bool { return want[p.ID] }
	case q.Get("credentials_identifier") != "":
		v := strings.ToLower(q.Get("credentials_identifier"))
		return func(p *Identity) bool {
			return strings.ToLower(traitString(p.Traits, "email")) == v || strings.ToLower(traitString(p.Traits, "username")) == v
		}
	case q.Get("organization_id") != "":
		v := q.Get("organization_id")
		return func(p *Identity) bool { return p.OrganizationID == v }
	}
	return func(*Identity) bool { return true }
}

// legacyPage serves the deprecated page/per_page paging: 0-based pages,
// X-Total-Count, and a Link with first/next/prev/last in page= form.
func (h *handler) legacyPage(w http.ResponseWriter, r *http.Request, q url.Values) {
	pageNo, err := strconv.Atoi(q.Get("page"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad Request", msgBadRequest, err.Error())
		return
	}
	perPage := DefaultPageSize
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "Bad Request", msgBadRequest, err.Error())
			return
		}
		if n > 0 {
			perPage = min(n, MaxPageSize)
		}
	}
	pageNo = max(pageNo, 0)
	if pageNo*perPage > legacyMaxItems {
		writeError(w, http.StatusBadRequest, "Bad Request", msgBadRequest, "Legacy pagination is not supported for enumerating over 1000 items. Please switch to using page_token and page_size.")
		return
	}
	match := h.filter(q)
	h.t.mu.RLock()
	var all []*Identity
	for _, id := range h.t.order {
		if p := h.t.byID[id]; match(p) {
			all = append(all, p)
		}
	}
	h.t.mu.RUnlock()
	total := len(all)
	from, to := min(pageNo*perPage, total), min((pageNo+1)*perPage, total)
	last := max(0, (total+perPage-1)/perPage-1)
	ref := func(n int) string { return fmt.Sprintf("</admin/identities?page=%d&per_page=%d>", n, perPage) }
	var links []string
	if pageNo > 0 {
		links = append(links, ref(0)+`; rel="first"`)
	}
	if pageNo < last {
		links = append(links, ref(pageNo+1)+`; rel="next"`)
	}
	if pageNo > 0 {
		links = append(links, ref(min(pageNo-1, last))+`; rel="prev"`)
	}
	if pageNo < last {
		links = append(links, ref(last)+`; rel="last"`)
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ","))
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	h.writeList(w, r, all[from:to])
}

// wireIdentity is the identity as Kratos writes it, field order included.
type wireIdentity struct {
	ID                  string           `json:"id"`
	ExternalID          string           `json:"external_id,omitempty"`
	SchemaID            string           `json:"schema_id"`
	SchemaURL           string           `json:"schema_url"`
	State               string           `json:"state"`
	StateChangedAt      *time.Time       `json:"state_changed_at,omitempty"`
	Traits              json.RawMessage  `json:"traits"`
	VerifiableAddresses []wireVerifiable `json:"verifiable_addresses,omitempty"`
	RecoveryAddresses   []wireRecovery   `json:"recovery_addresses,omitempty"`
	MetadataPublic      json.RawMessage  `json:"metadata_public"`
	MetadataAdmin       json.RawMessage  `json:"metadata_admin"`
	CreatedAt           time.Time        `json:"created_at"`
	UpdatedAt           time.Time        `json:"updated_at"`
	OrganizationID      *string          `json:"organization_id"`
}

type wireVerifiable struct {
	ID         string     `json:"id"`
	Value      string     `json:"value"`
	Verified   bool       `json:"verified"`
	Via        string     `json:"via"`
	Status     string     `json:"status"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

type wireRecovery struct {
	ID        string    `json:"id"`
	Value     string    `json:"value"`
	Via       string    `json:"via"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// wire is p as the Admin API writes it.
func (h *handler) wire(p *Identity) wireIdentity {
	w := wireIdentity{
		ID: p.ID, ExternalID: p.ExternalID, SchemaID: p.SchemaID, SchemaURL: h.schemaURL, State: p.State,
		Traits: p.Traits, MetadataPublic: p.MetadataPublic, MetadataAdmin: p.MetadataAdmin,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if !p.StateChangedAt.IsZero() {
		t := p.StateChangedAt
		w.StateChangedAt = &t
	}
	if p.OrganizationID != "" {
		o := p.OrganizationID
		w.OrganizationID = &o
	}
	for _, a := range p.VerifiableAddresses {
		v := wireVerifiable{ID: a.ID, Value: a.Value, Verified: a.Verified, Via: a.Via, Status: a.Status, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
		if !a.VerifiedAt.IsZero() {
			t := a.VerifiedAt
			v.VerifiedAt = &t
		}
		w.VerifiableAddresses = append(w.VerifiableAddresses, v)
	}
	for _, a := range p.RecoveryAddresses {
		w.RecoveryAddresses = append(w.RecoveryAddresses, wireRecovery(a))
	}
	return w
}

// encode is p as the Admin API writes it, encoded.
func (h *handler) encode(p *Identity) ([]byte, error) {
	if b, ok := h.encoded.Load(p); ok {
		return b.([]byte), nil
	}
	b, err := json.Marshal(h.wire(p))
	if err == nil {
		h.encoded.Store(p, b)
	}
	return b, err
}

// writeList writes a page as Kratos does: one compact JSON array and a
// newline (its json.Encoder), chunked when large. It streams: the headers
// go out once the first stretch is encoded, not after all of a page, so a
// client that reads the next link from the headers waits for the latency
// and not for the fake encoding 500 identities as well.
//
// The page is encoded without the tenant's lock: stored identities are
// never changed in place (updates copy), so the page keeps what it read.
// A page that cannot be encoded (traits set to something that is not
// JSON) fails with a 500 when that shows before the answer has started,
// and with a cut connection after, so a client never takes half a page
// for a page.
func (h *handler) writeList(w http.ResponseWriter, r *http.Request, page []*Identity) {
	const stretch = 32 << 10
	started := false
	write := func(b []byte) {
		if !started {
			w.Header().Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		if r.Method != http.MethodHead {
			w.Write(b)
		}
	}
	buf := make([]byte, 0, stretch+4<<10)
	buf = append(buf, '[')
	for i, p := range page {
		b, err := h.encode(p)
		if err != nil {
			if started {
				panic(http.ErrAbortHandler)
			}
			w.Header().Del("Link")
			w.Header().Del("X-Total-Count")
			writeError(w, http.StatusInternalServerError, "Internal Server Error", "An internal server error occurred, please contact the system administrator", err.Error())
			return
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, b...)
		if len(buf) >= stretch {
			write(buf)
			buf = buf[:0]
		}
	}
	write(append(buf, ']', '\n'))
}

// writeError writes the herodot error envelope Kratos answers with.
func writeError(w http.ResponseWriter, status int, statusText, message, reason string) {
	type genericError struct {
		Code    int    `json:"code"`
		Status  string `json:"status"`
		Reason  string `json:"reason,omitempty"`
		Message string `json:"message"`
	}
	body, _ := json.Marshal(struct {
		Error genericError `json:"error"`
	}{genericError{status, statusText, reason, message}})
	body = append(body, '\n') // herodot writes with a json.Encoder
	w.Header().Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
	w.Header().Set("Content-Type", "application/json")
	w.Header()["Ory-Error-Id"] = []string{""}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// ErrorBody is the Ory error envelope for status, for faults that mimic
// Ory Network's answers (429 "Too Many Requests").
func ErrorBody(status int, reason string) string {
	type genericError struct {
		Code    int    `json:"code"`
		Status  string `json:"status"`
		Reason  string `json:"reason,omitempty"`
		Message string `json:"message"`
	}
	body, _ := json.Marshal(struct {
		Error genericError `json:"error"`
	}{genericError{status, http.StatusText(status), reason, http.StatusText(status)}})
	return string(body) + "\n"
}
