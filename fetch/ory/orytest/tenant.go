// Package orytest is a fake Ory Identities (Kratos) Admin API: a Tenant of
// identities, safe to mutate between pulls, served by NewHandler as Kratos
// v26 serves it (captured in specs/ory-kratos-samples): the bare-array
// list, the Link header with path-relative URLs, keyset page tokens ordered
// by id, page_size clamping, the herodot error envelope, plain-text 404s.
// Like net/http/httptest it never imports testing; tests and cmd/idsim
// both use it.
package orytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"
)

// Identity is one Kratos identity as the fake keeps it. Zero values are
// filled by AddIdentity.
type Identity struct {
	ID             string // a UUID; Kratos orders listings by it
	SchemaID       string // "default"
	State          string // "active" | "inactive"
	StateChangedAt time.Time
	// Traits is the identity's JSON object; the default schema has
	// email, name {first, last} and, for some identities, username.
	Traits              json.RawMessage
	VerifiableAddresses []VerifiableAddress
	RecoveryAddresses   []RecoveryAddress
	MetadataPublic      json.RawMessage // nil: null
	MetadataAdmin       json.RawMessage // nil: null
	ExternalID          string
	OrganizationID      string // "": null
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// VerifiableAddress is an address Kratos verifies (email or sms).
type VerifiableAddress struct {
	ID         string
	Value      string
	Verified   bool
	Via        string // "email" | "sms"
	Status     string // "pending" | "sent" | "completed"
	VerifiedAt time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// RecoveryAddress is an address that can recover the account.
type RecoveryAddress struct {
	ID        string
	Value     string
	Via       string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Tenant is one Ory project's identities. All methods are safe for
// concurrent use, also while a handler serves the tenant.
type Tenant struct {
	mu    sync.RWMutex
	byID  map[string]*Identity
	order []string // ids, sorted: the keyset order
	rng   *rand.Rand
	now   func() time.Time
}

// NewTenant returns an empty tenant whose generated ids follow seed.
func NewTenant(seed int64) *Tenant {
	return &Tenant{
		byID: make(map[string]*Identity),
		rng:  rand.New(rand.NewPCG(uint64(seed), 0x6f7279)),
		now:  func() time.Time { return time.Now().UTC() },
	}
}

// SetClock replaces the clock that stamps created_at, updated_at and
// state_changed_at on mutations (time.Now by default).
func (t *Tenant) SetClock(now func() time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.now = now
}

// NewID returns a fresh random (version 4) UUID from the tenant's seed.
func (t *Tenant) NewID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.newID()
}

func (t *Tenant) newID() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := t.rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Person returns a new identity (not yet added) with the default schema's
// traits: email and, when first or last is set, name {first, last}. Its
// email becomes an unverified verifiable address and a recovery address
// when added.
func Person(email, first, last string) Identity {
	tr := map[string]any{"email": email}
	if first != "" || last != "" {
		tr["name"] = map[string]string{"first": first, "last": last}
	}
	return Identity{Traits: mustJSON(tr)}
}

// AddIdentity adds in and returns it as stored. Missing fields are filled
// as Kratos fills them on create: a new id, schema "default", state active,
// timestamps now, and an unverified email address plus a recovery address
// for traits.email when in has no addresses. An existing id is replaced.
func (t *Tenant) AddIdentity(in Identity) Identity {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	id := in
	if id.ID == "" {
		id.ID = t.newID()
	}
	if id.SchemaID == "" {
		id.SchemaID = "default"
	}
	if id.State == "" {
		id.State = "active"
	}
	if id.CreatedAt.IsZero() {
		id.CreatedAt = now
	}
	if id.UpdatedAt.IsZero() {
		id.UpdatedAt = id.CreatedAt
	}
	if id.StateChangedAt.IsZero() {
		id.StateChangedAt = id.CreatedAt
	}
	if len(id.Traits) == 0 {
		id.Traits = json.RawMessage(`{}`)
	}
	if email := traitString(id.Traits, "email"); email != "" && len(id.VerifiableAddresses) == 0 && len(id.RecoveryAddresses) == 0 {
		id.VerifiableAddresses = []VerifiableAddress{{ID: t.newID(), Value: email, Via: "email", Status: "pending", CreatedAt: id.CreatedAt, UpdatedAt: id.CreatedAt}}
		id.RecoveryAddresses = []RecoveryAddress{{ID: t.newID(), Value: email, Via: "email", CreatedAt: id.CreatedAt, UpdatedAt: id.CreatedAt}}
	}
	t.put(&id)
	return clone(&id)
}

func (t *Tenant) put(id *Identity) {
	if _, ok := t.byID[id.ID]; !ok {
		i, _ := slices.BinarySearch(t.order, id.ID)
		t.order = slices.Insert(t.order, i, id.ID)
	}
	t.byID[id.ID] = id
}

// DeleteIdentity removes the identity id and reports whether it existed.
func (t *Tenant) DeleteIdentity(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.byID[id]; !ok {
		return false
	}
	delete(t.byID, id)
	if i, ok := slices.BinarySearch(t.order, id); ok {
		t.order = slices.Delete(t.order, i, i+1)
	}
	return true
}

// Identity returns a copy of the identity id.
func (t *Tenant) Identity(id string) (Identity, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	p, ok := t.byID[id]
	if !ok {
		return Identity{}, false
	}
	return clone(p), true
}

// IDs returns every identity id in listing (keyset) order.
func (t *Tenant) IDs() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Clone(t.order)
}

// Len is the number of identities.
func (t *Tenant) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.order)
}

// update applies fn to the identity id under the lock and stamps
// updated_at, as every Kratos write does.
func (t *Tenant) update(id string, fn func(p *Identity, now time.Time) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.byID[id]
	if !ok {
		return fmt.Errorf("orytest: no identity %s", id)
	}
	c := clone(p) // copy on write: pages being encoded keep the old value
	now := t.now()
	if err := fn(&c, now); err != nil {
		return err
	}
	c.UpdatedAt = now
	t.byID[id] = &c
	return nil
}

// SetState sets the state ("active" or "inactive") and state_changed_at.
func (t *Tenant) SetState(id, state string) error {
	if state != "active" && state != "inactive" {
		return fmt.Errorf("orytest: identity state %q is not valid", state)
	}
	return t.update(id, func(p *Identity, now time.Time) error {
		if p.State != state {
			p.State, p.StateChangedAt = state, now
		}
		return nil
	})
}

// SetTraits replaces the traits object.
func (t *Tenant) SetTraits(id string, traits json.RawMessage) error {
	if !json.Valid(traits) || !bytes.HasPrefix(bytes.TrimSpace(traits), []byte("{")) {
		return fmt.Errorf("orytest: traits must be a JSON object")
	}
	return t.update(id, func(p *Identity, _ time.Time) error {
		p.Traits = slices.Clone(traits)
		return nil
	})
}

// SetEmail changes traits.email and, as Kratos does for an identifier
// marked verifiable and recovery in the schema, replaces the email
// addresses with one for the new value (verified as told).
func (t *Tenant) SetEmail(id, email string, verified bool) error {
	return t.update(id, func(p *Identity, now time.Time) error {
		p.Traits = setTrait(p.Traits, "email", email)
		va := VerifiableAddress{ID: t.newID(), Value: email, Via: "email", Status: "pending", CreatedAt: now, UpdatedAt: now}
		if verified {
			va.Verified, va.Status, va.VerifiedAt = true, "completed", now
		}
		var vs []VerifiableAddress
		for _, a := range p.VerifiableAddresses {
			if a.Via != "email" {
				vs = append(vs, a)
			}
		}
		p.VerifiableAddresses = append(vs, va)
		var rs []RecoveryAddress
		for _, a := range p.RecoveryAddresses {
			if a.Via != "email" {
				rs = append(rs, a)
			}
		}
		p.RecoveryAddresses = append(rs, RecoveryAddress{ID: t.newID(), Value: email, Via: "email", CreatedAt: now, UpdatedAt: now})
		return nil
	})
}

// SetVerified marks the email address value verified (status completed)
// or not (status pending).
func (t *Tenant) SetVerified(id, value string, verified bool) error {
	return t.update(id, func(p *Identity, now time.Time) error {
		p.VerifiableAddresses = slices.Clone(p.VerifiableAddresses)
		for i := range p.VerifiableAddresses {
			a := &p.VerifiableAddresses[i]
			if a.Value != value {
				continue
			}
			a.Verified, a.UpdatedAt = verified, now
			a.Status, a.VerifiedAt = "pending", time.Time{}
			if verified {
				a.Status, a.VerifiedAt = "completed", now
			}
			return nil
		}
		return fmt.Errorf("orytest: identity %s has no address %q", p.ID, value)
	})
}

// SetName sets traits.name to {first, last}; both empty removes it.
func (t *Tenant) SetName(id, first, last string) error {
	return t.update(id, func(p *Identity, _ time.Time) error {
		if first == "" && last == "" {
			p.Traits = setTrait(p.Traits, "name", nil)
			return nil
		}
		p.Traits = setTrait(p.Traits, "name", map[string]string{"first": first, "last": last})
		return nil
	})
}

// SetMetadata replaces metadata_public and metadata_admin (nil: null).
func (t *Tenant) SetMetadata(id string, public, admin json.RawMessage) error {
	return t.update(id, func(p *Identity, _ time.Time) error {
		p.MetadataPublic, p.MetadataAdmin = slices.Clone(public), slices.Clone(admin)
		return nil
	})
}

// SetExternalID sets external_id ("" removes it).
func (t *Tenant) SetExternalID(id, externalID string) error {
	return t.update(id, func(p *Identity, _ time.Time) error {
		p.ExternalID = externalID
		return nil
	})
}

// Touch stamps updated_at only, as a user's own password change does.
func (t *Tenant) Touch(id string) error {
	return t.update(id, func(*Identity, time.Time) error { return nil })
}

// clone copies p deeply enough that the caller may change it freely.
func clone(p *Identity) Identity {
	c := *p
	c.Traits = slices.Clone(p.Traits)
	c.MetadataPublic = slices.Clone(p.MetadataPublic)
	c.MetadataAdmin = slices.Clone(p.MetadataAdmin)
	c.VerifiableAddresses = slices.Clone(p.VerifiableAddresses)
	c.RecoveryAddresses = slices.Clone(p.RecoveryAddresses)
	return c
}

// setTrait sets (v != nil) or removes key in a traits object.
func setTrait(traits json.RawMessage, key string, v any) json.RawMessage {
	m := map[string]any{}
	_ = json.Unmarshal(traits, &m)
	if v == nil {
		delete(m, key)
	} else {
		m[key] = v
	}
	return mustJSON(m)
}

func traitString(traits json.RawMessage, key string) string {
	var m map[string]any
	_ = json.Unmarshal(traits, &m)
	s, _ := m[key].(string)
	return s
}

func mustJSON(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// sortIDs restores the keyset order after a bulk load.
func (t *Tenant) sortIDs() { sort.Strings(t.order) }
