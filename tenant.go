package idsnap

import (
	"cmp"
	"strconv"
	"strings"
)

// Tenant is what a snapshot was pulled from: the provider, its base URL
// (Kinde business, Ory project or Kratos, ZITADEL instance) and the org
// within it (ZITADEL org id, Ory project slug). Two snapshots of one
// source name compare only when they are of one tenant: otherwise every
// record of the one "left" and every record of the other "joined".
type Tenant struct {
	Provider string `json:"provider"`
	BaseURL  string `json:"base_url,omitempty"`
	Org      string `json:"org,omitempty"`
}

// Tenant is the tenant s was pulled from.
func (s Snapshot) Tenant() Tenant {
	return Tenant{Provider: s.Provider, BaseURL: s.BaseURL, Org: s.Org}
}

// Differs says t and u are different tenants. An empty base URL or org is
// unknown, not different: snapshots taken before idsnap recorded it, or
// an Ory project slug added to a configuration later, name the same
// tenant as before. Base URLs compare without a trailing slash and case.
func (t Tenant) Differs(u Tenant) bool {
	return t.Change(u) != ""
}

// Change says how u differs from t, as "org A → B" (parts joined by ", "),
// or "" when they are one tenant (see Differs).
func (t Tenant) Change(u Tenant) string {
	var parts []string
	if t.Provider != u.Provider && t.Provider != "" && u.Provider != "" {
		parts = append(parts, "provider "+t.Provider+" → "+u.Provider)
	}
	norm := func(s string) string { return strings.ToLower(strings.TrimRight(s, "/")) }
	if t.BaseURL != "" && u.BaseURL != "" && norm(t.BaseURL) != norm(u.BaseURL) {
		parts = append(parts, "base URL "+t.BaseURL+" → "+u.BaseURL)
	}
	if t.Org != "" && u.Org != "" && t.Org != u.Org {
		parts = append(parts, "org "+t.Org+" → "+u.Org)
	}
	return strings.Join(parts, ", ")
}

// String names the tenant for one-line messages: "zitadel https://x org 42".
func (t Tenant) String() string {
	s := t.Provider
	if t.BaseURL != "" {
		s += " " + t.BaseURL
	}
	if t.Org != "" {
		s += " org " + t.Org
	}
	return s
}

// TenantChange is where a source's tenant changed: Before is the source's
// previous snapshot, After the first of the new tenant.
type TenantChange struct {
	Before, After Snapshot
}

// String names both snapshots and how the tenant changed, short enough
// for one line: "snapshot 1 to 2 (org 4021 → 4022)".
func (c TenantChange) String() string {
	return "snapshot " + strconv.FormatInt(c.Before.ID, 10) + " to " + strconv.FormatInt(c.After.ID, 10) + " (" + c.Detail() + ")"
}

// Detail is how the tenant changed, "org 4021 → 4022", or both tenants in
// full when only an earlier snapshot knew the part that changed.
func (c TenantChange) Detail() string {
	if d := c.Before.Tenant().Change(c.After.Tenant()); d != "" {
		return d
	}
	return c.Before.Tenant().String() + " → " + c.After.Tenant().String()
}

// TenantChanges lists where the tenant changes between consecutive
// snapshots of one source, given oldest first. The snapshots rows are the
// record: each keeps its own tenant, so a change is derived from the
// neighbours that exist, and a pruned predecessor leaves nothing across
// which a comparison could be made.
//
// A snapshot that leaves a part unknown (see Differs) takes it from the
// ones before, so org X, unknown, org Y is still a change.
func TenantChanges(snaps []Snapshot) []TenantChange {
	var out []TenantChange
	var known Tenant
	for i, s := range snaps {
		t := s.Tenant()
		if i > 0 && known.Differs(t) {
			out = append(out, TenantChange{Before: snaps[i-1], After: s})
			known = Tenant{}
		}
		known.Provider = cmp.Or(t.Provider, known.Provider)
		known.BaseURL = cmp.Or(t.BaseURL, known.BaseURL)
		known.Org = cmp.Or(t.Org, known.Org)
	}
	return out
}

// TenantChange is how s's tenant differs from its source's previous
// snapshot's, as its commit found it; false when it does not, or when s
// was not just committed (Previous nil).
func (s Snapshot) TenantChange() (TenantChange, bool) {
	if s.Previous == nil || !s.Previous.Tenant().Differs(s.Tenant()) {
		return TenantChange{}, false
	}
	prev := *s.Previous
	prev.Previous = nil
	return TenantChange{Before: prev, After: s}, true
}
