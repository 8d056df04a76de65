package ory

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
)

// identity is what idsnap reads of an Ory identity to fill the normalized
// fields; the whole object goes to Raw.
type identity struct {
	ID                  string          `json:"id"`
	State               string          `json:"state"`
	Traits              json.RawMessage `json:"traits"`
	VerifiableAddresses []address       `json:"verifiable_addresses"`
	ExternalID          string          `json:"external_id"`
	CreatedAt           time.Time       `json:"created_at"`
}

// address is what idsnap reads of a verifiable address.
type address struct {
	Value    string `json:"value"`
	Verified bool   `json:"verified"`
	Via      string `json:"via"`
}

// read is the fast path of jsonscan.Decode: it decodes an identity as
// json.Unmarshal does, or reports false for what it leaves to it. Of an
// identity Kratos sends, it skips everything but the few members above,
// which json.Unmarshal would check and match key by key.
func (id *identity) read(b []byte) bool {
	seenAddrs := false
	return jsonscan.Members(b, func(k, v []byte) bool {
		switch string(k) {
		case "id":
			return jsonscan.String(v, &id.ID)
		case "state":
			return jsonscan.String(v, &id.State)
		case "traits":
			// A copy, as json.RawMessage's UnmarshalJSON makes, so the
			// result is json.Unmarshal's in every way; traits are small.
			id.Traits = append(id.Traits[:0], v...)
			return true
		case "verifiable_addresses":
			// json.Unmarshal decodes a repeated array into the elements
			// of the one before; that is left to it.
			if seenAddrs {
				return false
			}
			seenAddrs = true
			return id.readAddresses(v)
		case "external_id":
			return jsonscan.String(v, &id.ExternalID)
		case "created_at":
			// time.Time's own method, as json.Unmarshal calls it: null
			// leaves the time, anything but an RFC 3339 string fails.
			return id.CreatedAt.UnmarshalJSON(v) == nil
		}
		return jsonscan.Other(k, "id", "state", "traits", "verifiable_addresses", "external_id", "created_at")
	})
}

// readAddresses reads verifiable_addresses into a fresh id: null leaves
// them nil, [] makes them empty, as json.Unmarshal does.
func (id *identity) readAddresses(v []byte) bool {
	if jsonscan.IsNull(v) {
		return true
	}
	addrs := []address{}
	ok := jsonscan.Elements(v, func(v []byte) bool {
		addrs = append(addrs, address{})
		a := &addrs[len(addrs)-1]
		return jsonscan.Object(v, func(k, v []byte) bool {
			switch string(k) {
			case "value":
				return jsonscan.String(v, &a.Value)
			case "verified":
				return jsonscan.Bool(v, &a.Verified)
			case "via":
				return jsonscan.String(v, &a.Via)
			}
			return jsonscan.Other(k, "value", "verified", "via")
		})
	})
	id.VerifiableAddresses = addrs
	return ok
}

// traits reads the conventional trait names of Ory's identity schemas. Any
// may be missing or of another type: traits follow the project's own
// JSON schema.
type traits struct {
	Email    any `json:"email"`
	Name     any `json:"name"`
	Username any `json:"username"`
}

// read is the fast path of jsonscan.Decode for traits whose conventional
// members are strings, or a name of string parts, as Ory's presets write
// them; any other value of theirs is left to json.Unmarshal.
func (tr *traits) read(b []byte) bool {
	return jsonscan.Members(b, func(k, v []byte) bool {
		switch string(k) {
		case "email":
			return anyString(v, &tr.Email)
		case "name":
			return anyString(v, &tr.Name) || nameParts(v, &tr.Name)
		case "username":
			return anyString(v, &tr.Username)
		}
		return jsonscan.Other(k, "email", "name", "username")
	})
}

// anyString reads a string or null into p as json.Unmarshal does into
// an any: a string, or nil.
func anyString(v []byte, p *any) bool {
	if jsonscan.IsNull(v) {
		*p = nil
		return true
	}
	var s string
	if len(v) == 0 || v[0] != '"' || !jsonscan.String(v, &s) {
		return false
	}
	*p = s
	return true
}

// nameParts reads an object of strings and nulls into p as json.Unmarshal
// does into an any: a new map[string]any.
func nameParts(v []byte, p *any) bool {
	m := map[string]any{}
	if !jsonscan.Members(v, func(k, v []byte) bool {
		var part any // json.Unmarshal replaces invalid UTF-8 in keys
		if !anyString(v, &part) || !utf8.Valid(k) {
			return false
		}
		m[string(k)] = part
		return true
	}) {
		return false
	}
	*p = m
	return true
}

// identityRecord turns one identity of the list into a user record.
func identityRecord(raw json.RawMessage) (idsnap.Record, error) {
	id, err := jsonscan.Decode(raw, (*identity).read)
	if err != nil {
		return idsnap.Record{}, fmt.Errorf("decode identity: %w", err)
	}
	if id.ID == "" {
		return idsnap.Record{}, fmt.Errorf("decode identity: an identity without id")
	}
	var tr traits
	if len(id.Traits) > 0 && id.Traits[0] == '{' {
		// Traits of an unexpected shape are kept in Raw; they only leave
		// the normalized fields empty.
		tr, _ = jsonscan.Decode(id.Traits, (*traits).read)
	}
	rec := idsnap.Record{
		Kind:       idsnap.KindUser,
		ID:         id.ID,
		Status:     status(id.State),
		Type:       idsnap.AccountHuman,
		ExternalID: id.ExternalID,
		CreatedAt:  id.CreatedAt.UTC(),
		Name:       nameOf(tr.Name),
		Username:   str(tr.Username),
	}
	// The email is the verifiable address Kratos verifies (a verified one
	// first), else traits.email, which no address backs: verified unknown.
	best := -1
	for i, a := range id.VerifiableAddresses {
		if a.Via != "email" || strings.TrimSpace(a.Value) == "" {
			continue
		}
		if best < 0 || (a.Verified && !id.VerifiableAddresses[best].Verified) {
			best = i
		}
	}
	if best >= 0 {
		a := id.VerifiableAddresses[best]
		rec.Email = strings.TrimSpace(a.Value)
		rec.EmailVerified = &a.Verified
	} else {
		rec.Email = strings.TrimSpace(str(tr.Email))
	}
	if rec.Raw, err = rawOf(raw); err != nil {
		return idsnap.Record{}, fmt.Errorf("identity %s: %w", id.ID, err)
	}
	return rec, nil
}

// status maps Kratos' state. Kratos lets only "active" sign in
// (Identity.IsActive), so anything else, including a missing state, is
// inactive.
func status(state string) idsnap.Status {
	if state == "active" {
		return idsnap.StatusActive
	}
	return idsnap.StatusInactive
}

// nameOf reads traits.name as Ory's presets write it: a string, or
// {"first": ..., "last": ...}.
func nameOf(v any) string {
	switch n := v.(type) {
	case string:
		return strings.TrimSpace(n)
	case map[string]any:
		parts := make([]string, 0, 2)
		for _, k := range []string{"first", "last"} {
			if s := strings.TrimSpace(str(n[k])); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, " ")
	}
	return ""
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
