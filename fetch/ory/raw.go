package ory

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/idsnap/idsnap/fetch/internal/rawjson"
)

// rawOf is the identity as Raw keeps it, minus what would make a record
// look changed when no attribute changed:
//
//   - updated_at, of the identity and of each address: Kratos bumps it on
//     every write, including a user's own password change or a resent
//     verification mail, so keeping it would report "changed" with an
//     extra field on every edit. The snapshot in which a change is first
//     seen already dates it. created_at and state_changed_at stay.
//   - credentials: idsnap never asks for them (no include_credential), but
//     a server that sends them anyway must not get hashes and OIDC tokens
//     into the database.
//
// The byte-level filter does it in one pass; what it refuses (a duplicate
// key, a key with escapes) takes the map round-trip, whose result it
// equals otherwise.
func rawOf(raw json.RawMessage) (json.RawMessage, error) {
	if out, ok := rawFilter.Object(make([]byte, 0, len(raw)), raw); ok {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode identity: %w", err)
	}
	delete(m, "updated_at")
	delete(m, "credentials")
	for _, k := range []string{"verifiable_addresses", "recovery_addresses"} {
		v, ok := m[k]
		if !ok || bytes.Equal(v, []byte("null")) {
			continue
		}
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(v, &list); err != nil {
			continue // an unexpected shape is kept as it came
		}
		for _, a := range list {
			delete(a, "updated_at")
		}
		b, err := marshal(list)
		if err != nil {
			return nil, err
		}
		m[k] = b
	}
	return marshal(m)
}

var rawFilter = rawjson.Filter{
	Drop:   []string{"updated_at", "credentials"},
	Arrays: map[string][]string{"verifiable_addresses": {"updated_at"}, "recovery_addresses": {"updated_at"}},
}

// marshal is json.Marshal without HTML escaping, so Raw keeps "<" and "&"
// in traits as the provider sent them.
func marshal(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
