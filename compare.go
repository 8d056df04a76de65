package idsnap

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"time"
)

// Compare lists what differs between two versions of a record: the
// normalized fields first (status, email, name, username, email_verified,
// type, external_id, then the links and created_at), then the leaves of
// Raw by dotted path ("traits.name.first"), sorted. Arrays are compared
// whole: an index path would turn one insertion into many changes. A JSON
// null reads as absent, and a nil record as an empty one. Activity is not an attribute and is never
// compared.
func Compare(before, after *Record) []FieldChange {
	var b, a Record
	if before != nil {
		b = *before
	}
	if after != nil {
		a = *after
	}
	var out []FieldChange
	str := func(field, from, to string) {
		if from != to {
			out = append(out, FieldChange{Field: field, From: from, To: to})
		}
	}
	str("status", string(b.Status), string(a.Status))
	str("email", b.Email, a.Email)
	str("name", b.Name, a.Name)
	str("username", b.Username, a.Username)
	if bv, av := boolPtr(b.EmailVerified), boolPtr(a.EmailVerified); bv != av {
		out = append(out, FieldChange{Field: "email_verified", From: bv, To: av})
	}
	str("type", string(b.Type), string(a.Type))
	str("external_id", b.ExternalID, a.ExternalID)
	str("principal_id", b.PrincipalID, a.PrincipalID)
	str("resource_id", b.ResourceID, a.ResourceID)
	str("entitlement_id", b.EntitlementID, a.EntitlementID)
	str("created_at", timeString(b.CreatedAt), timeString(a.CreatedAt))

	bl, al := map[string]any{}, map[string]any{}
	flatten(bl, "", decode(b.Raw))
	flatten(al, "", decode(a.Raw))
	var paths []string
	for p := range bl {
		paths = append(paths, p)
	}
	for p := range al {
		if _, ok := bl[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		if !reflect.DeepEqual(bl[p], al[p]) {
			out = append(out, FieldChange{Field: p, From: bl[p], To: al[p]})
		}
	}
	return out
}

// boolPtr returns nil for a nil pointer, else the bool.
func boolPtr(p *bool) any {
	if p == nil {
		return nil
	}
	return *p
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// decode reads Raw keeping numbers exact; invalid or empty Raw is nil.
func decode(raw json.RawMessage) any {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil
	}
	return v
}

// flatten maps each leaf of v to its dotted path. Objects are walked; any
// other value, arrays included, is a leaf. A non-object top level is the
// leaf "raw".
func flatten(out map[string]any, prefix string, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		if v != nil || prefix != "" {
			if prefix == "" {
				prefix = "raw"
			}
			out[prefix] = v
		}
		return
	}
	if len(m) == 0 && prefix != "" {
		out[prefix] = m
		return
	}
	for k, x := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		flatten(out, p, x)
	}
}
