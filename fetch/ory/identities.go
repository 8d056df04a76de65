package ory

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
)

// identity is what idsnap reads of an Ory identity to fill the normalized
// fields; the whole object goes to Raw.
type identity struct {
	ID                  string    `json:"id"`
	State               string    `json:"state"`
	Traits              traits    `json:"traits"`
	VerifiableAddresses []address `json:"verifiable_addresses"`
	ExternalID          string    `json:"external_id"`
	CreatedAt           time.Time `json:"created_at"`
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
// which json.Unmarshal would check and match key by key. Traits and
// addresses are read where they start, not skipped first to find where
// they end.
func (id *identity) read(b []byte) bool {
	seenAddrs := false
	return jsonscan.Whole(b, jsonscan.MembersAt(b, 0, func(k []byte, i int) int {
		switch string(k) {
		case "traits":
			return id.Traits.readAt(b, i)
		case "verifiable_addresses":
			// json.Unmarshal decodes a repeated array into the elements
			// of the one before; that is left to it.
			if seenAddrs {
				return -1
			}
			seenAddrs = true
			return id.readAddresses(b, i)
		}
		return jsonscan.Value(b, i, func(v []byte) bool { return id.member(k, v) })
	}))
}

// member reads the members of an identity but traits and addresses.
func (id *identity) member(k, v []byte) bool {
	switch string(k) {
	case "id":
		return jsonscan.String(v, &id.ID)
	case "state":
		return jsonscan.String(v, &id.State)
	case "external_id":
		return jsonscan.String(v, &id.ExternalID)
	case "created_at":
		// time.Time's own method, as json.Unmarshal calls it: null
		// leaves the time, anything but an RFC 3339 string fails.
		return id.CreatedAt.UnmarshalJSON(v) == nil
	}
	return jsonscan.Other(k, "id", "state", "traits", "verifiable_addresses", "external_id", "created_at")
}

// readAddresses reads the verifiable_addresses that start at b[i] into a
// fresh id, and returns where they end: null leaves them nil, [] makes
// them empty, as json.Unmarshal does.
func (id *identity) readAddresses(b []byte, i int) int {
	if jsonscan.NullAt(b, i) {
		return i + len("null")
	}
	addrs := []address{}
	end := jsonscan.ElementsAt(b, i, func(i int) int {
		addrs = append(addrs, address{})
		return jsonscan.ObjectAt(b, i, addrs[len(addrs)-1].member)
	})
	id.VerifiableAddresses = addrs
	return end
}

func (a *address) member(k, v []byte) bool {
	switch string(k) {
	case "value":
		return jsonscan.String(v, &a.Value)
	case "verified":
		return jsonscan.Bool(v, &a.Verified)
	case "via":
		return jsonscan.String(v, &a.Via)
	}
	return jsonscan.Other(k, "value", "verified", "via")
}

// traits reads the conventional trait names of Ory's identity schemas. Any
// may be missing or of another type: traits follow the project's own JSON
// schema, and what is not a string (or a name of string parts) leaves its
// normalized field empty.
type traits struct {
	Email    text `json:"email"`
	Name     name `json:"name"`
	Username text `json:"username"`
}

// traitFields is traits without its UnmarshalJSON: json.Unmarshal matches
// its keys, case-insensitively, as for any struct.
type traitFields traits

// UnmarshalJSON reads traits of any shape: what is no object (Raw keeps
// it) leaves them empty. It is the identity reader's too, so traits are
// read in the identity's pass rather than copied out and read again.
func (tr *traits) UnmarshalJSON(b []byte) error {
	*tr = traits{}
	if len(b) == 0 || b[0] != '{' || tr.read(b) {
		return nil
	}
	*tr = traits{}
	return json.Unmarshal(b, (*traitFields)(tr))
}

// readAt reads the traits that start at b[i] as UnmarshalJSON does, and
// returns where they end.
func (tr *traits) readAt(b []byte, i int) int {
	*tr = traits{}
	if i < len(b) && b[i] == '{' {
		if end := jsonscan.ObjectAt(b, i, tr.member); end >= 0 {
			return end
		}
	}
	return jsonscan.Value(b, i, func(v []byte) bool { return tr.UnmarshalJSON(v) == nil })
}

// read is the fast path of UnmarshalJSON for an object of plain keys;
// a key json.Unmarshal would fold onto a field is left to it.
func (tr *traits) read(b []byte) bool { return jsonscan.Members(b, tr.member) }

func (tr *traits) member(k, v []byte) bool {
	switch string(k) {
	case "email":
		tr.Email.read(v)
	case "name":
		tr.Name.read(v)
	case "username":
		tr.Username.read(v)
	default:
		return jsonscan.Other(k, "email", "name", "username")
	}
	return true
}

// text is a trait that counts only when it is a string: any other value,
// null included, reads as "".
type text string

// UnmarshalJSON reads any value, as text reads it.
func (t *text) UnmarshalJSON(b []byte) error {
	t.read(b)
	return nil
}

func (t *text) read(v []byte) {
	s, _ := jsonscan.Unquote(v)
	*t = text(s)
}

// name is traits.name as Ory's presets write it, a string or
// {"first": ..., "last": ...}, trimmed and the parts joined; any other
// value reads as "".
type name string

// UnmarshalJSON reads any value, as name reads it.
func (n *name) UnmarshalJSON(b []byte) error {
	n.read(b)
	return nil
}

func (n *name) read(v []byte) {
	*n = ""
	switch {
	case len(v) > 0 && v[0] == '"':
		var s text
		s.read(v)
		*n = name(strings.TrimSpace(string(s)))
	case len(v) > 0 && v[0] == '{':
		// The parts as a map[string]any has them: the last of a repeated
		// key, exact keys (a map does not fold them), strings only.
		var first, last text
		if !jsonscan.Members(v, func(k, v []byte) bool {
			switch string(k) {
			case "first":
				first.read(v)
			case "last":
				last.read(v)
			}
			return true
		}) {
			// Escaped keys: the map json.Unmarshal makes.
			var m map[string]json.RawMessage
			if json.Unmarshal(v, &m) != nil {
				return
			}
			first.read(m["first"])
			last.read(m["last"])
		}
		switch f, l := strings.TrimSpace(string(first)), strings.TrimSpace(string(last)); {
		case f == "":
			*n = name(l)
		case l == "":
			*n = name(f)
		default:
			*n = name(f + " " + l)
		}
	}
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
	tr := id.Traits
	rec := idsnap.Record{
		Kind:       idsnap.KindUser,
		ID:         id.ID,
		Status:     status(id.State),
		Type:       idsnap.AccountHuman,
		ExternalID: id.ExternalID,
		CreatedAt:  id.CreatedAt.UTC(),
		Name:       string(tr.Name),
		Username:   string(tr.Username),
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
		rec.Email = strings.TrimSpace(string(tr.Email))
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
