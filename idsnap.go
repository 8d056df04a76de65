// Package idsnap holds the nouns every idsnap package shares: sources, the
// records of the access graph (principals, resources, entitlements, grants),
// snapshots and the changes between them.
//
// Data flows one way: fetch turns a provider's API into Records, store keeps
// them as immutable snapshots, report reads snapshots and renders them.
package idsnap

import (
	"encoding/json"
	"time"
)

// Version is the tool's version; the build sets it with -ldflags.
var Version = "dev"

// Commit is the VCS revision the binary was built from; set with -ldflags.
var Commit = ""

// Kind is the kind of a record in the access graph.
type Kind string

// The four kinds of the access graph, as identity-governance tools model it.
const (
	KindUser        Kind = "user"        // a principal: human or machine account
	KindResource    Kind = "resource"    // a Kinde organization, a ZITADEL project
	KindEntitlement Kind = "entitlement" // something held on a resource: Kinde org member, a ZITADEL role
	KindGrant       Kind = "grant"       // principal holds entitlement
)

// Kinds lists every kind in canonical order.
var Kinds = []Kind{KindUser, KindResource, KindEntitlement, KindGrant}

// Status is a normalized account or grant status.
type Status string

// Normalized statuses. Providers map their own states onto these; the raw
// state stays in Record.Raw.
const (
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended" // blocked by an admin: Kinde is_suspended, ZITADEL LOCKED
	StatusInactive  Status = "inactive"  // deactivated: Ory inactive, ZITADEL INACTIVE
	StatusInitial   Status = "initial"   // ZITADEL USER_STATE_INITIAL: created, not yet set up
	StatusDeleted   Status = "deleted"
)

// AccountType tells human accounts from machine (service) accounts.
type AccountType string

// Account types.
const (
	AccountHuman   AccountType = "human"
	AccountMachine AccountType = "machine"
)

// Record is one object of the access graph as a provider reported it at pull
// time. Normalized fields are what reports need; Raw keeps the provider's own
// object so nothing the API said is lost.
type Record struct {
	Source string `json:"source,omitempty"` // set by store on read; fetchers leave it empty
	Kind   Kind   `json:"kind"`
	ID     string `json:"id"` // the provider's own id; for an entitlement "<resource id>:<key>"

	// Links between records. An entitlement has ResourceID; a grant has all
	// three. A grant's ID is GrantID(PrincipalID, EntitlementID).
	PrincipalID   string `json:"principal_id,omitempty"`
	ResourceID    string `json:"resource_id,omitempty"`
	EntitlementID string `json:"entitlement_id,omitempty"`

	Email         string      `json:"email,omitempty"`
	EmailVerified *bool       `json:"email_verified,omitempty"` // nil: the provider does not say
	Username      string      `json:"username,omitempty"`
	Name          string      `json:"name,omitempty"` // display name; for an entitlement its key or display name
	Status        Status      `json:"status,omitempty"`
	Type          AccountType `json:"type,omitempty"`        // users only
	ExternalID    string      `json:"external_id,omitempty"` // Kinde provided_id, Ory external_id: links people across providers
	CreatedAt     time.Time   `json:"created_at,omitzero"`

	// Raw is the provider's object as JSON, minus activity fields. The store
	// canonicalizes it (sorted keys) before hashing, so key order never
	// counts as a change.
	Raw json.RawMessage `json:"raw,omitempty"`

	// Activity is kept apart from attributes: a sign-in alone never makes a
	// record changed.
	Activity *Activity `json:"activity,omitempty"`
}

// Activity is what a provider says about sign-ins. A nil *Activity on a
// user means the provider exposes no sign-in data (Ory, ZITADEL): findings
// report UNKNOWN there, never "not dormant".
type Activity struct {
	LastSignIn    time.Time `json:"last_sign_in,omitzero"` // zero: never signed in
	SignIns       int64     `json:"sign_ins"`
	FailedSignIns int64     `json:"failed_sign_ins"`
}

// GrantID is the id of the grant of entitlement to principal.
func GrantID(principalID, entitlementID string) string {
	return principalID + "|" + entitlementID
}

// EntitlementID is the id of the entitlement key on a resource.
func EntitlementID(resourceID, key string) string {
	return resourceID + ":" + key
}

// Snapshot is one committed pull of one source. Snapshots are immutable; ID
// grows with every commit across all sources.
type Snapshot struct {
	ID          int64          `json:"id"`
	Source      string         `json:"source"`
	Provider    string         `json:"provider"`
	BaseURL     string         `json:"base_url,omitempty"`
	Org         string         `json:"org,omitempty"` // ZITADEL org id, Ory project slug
	TakenAt     time.Time      `json:"taken_at"`
	Counts      map[Kind]int64 `json:"counts"`
	Digest      string         `json:"digest"`       // SHA-256 over the records in canonical order
	ChainDigest string         `json:"chain_digest"` // SHA-256(previous chain digest || digest)
	// Pull is how the pull ran; nil for snapshots taken before idsnap
	// recorded it.
	Pull *PullInfo `json:"pull,omitempty"`
	// Previous is the source's snapshot before this one, as the commit
	// that made this one found it (nil for the first, and in listings:
	// there, neighbours are the record).
	Previous *Snapshot `json:"-"`
}

// Anchor is where a source's hash chain starts after its oldest snapshots
// were pruned: the first kept snapshot's chain digest is SHA-256 of
// ChainDigest followed by its own digest.
type Anchor struct {
	Source       string    `json:"source"`
	SnapshotID   int64     `json:"snapshot_id"` // the last pruned snapshot
	TakenAt      time.Time `json:"taken_at"`    // when it was taken
	PrunedBefore time.Time `json:"pruned_before"`
	ChainDigest  string    `json:"chain_digest"`
}

// ChangeType names what happened to a record between two snapshots.
type ChangeType string

// Change types, as the diff contract names them.
const (
	Joined  ChangeType = "joined"  // a user, resource or entitlement appeared
	Left    ChangeType = "left"    // ... vanished
	Changed ChangeType = "changed" // its attributes changed
	Granted ChangeType = "granted" // a grant appeared
	Revoked ChangeType = "revoked" // a grant vanished
)

// Change is one difference between two snapshots of a source.
type Change struct {
	Source string `json:"source"`
	// SnapshotID is the snapshot in which the change was first seen.
	SnapshotID int64      `json:"snapshot,omitempty"`
	Type       ChangeType `json:"change"`
	Kind       Kind       `json:"kind"`
	ID         string     `json:"id"`
	// Before is the version in the older snapshot (nil for joined/granted),
	// After the one in the newer (nil for left/revoked).
	Before *Record `json:"-"`
	After  *Record `json:"-"`
	// Fields lists what changed, for Changed.
	Fields []FieldChange `json:"fields,omitempty"`
	// For grants: who, on what, holding what, with their display names as of
	// the snapshot where the grant was seen.
	Principal   *Ref `json:"principal,omitempty"`
	Resource    *Ref `json:"resource,omitempty"`
	Entitlement *Ref `json:"entitlement,omitempty"`
}

// FieldChange is one attribute's old and new value. Field is a normalized
// name (status, email, name, username, ...) or a dotted path into Raw.
type FieldChange struct {
	Field string `json:"field"`
	From  any    `json:"from"`
	To    any    `json:"to"`
}

// Ref names a record for display.
type Ref struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}
