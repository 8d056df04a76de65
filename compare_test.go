package idsnap

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestCompare(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name          string
		before, after *Record
		want          []FieldChange
	}{
		{"equal", &Record{Email: "a@x", Raw: json.RawMessage(`{"a":1}`)}, &Record{Email: "a@x", Raw: json.RawMessage(`{ "a" : 1 }`)}, nil},
		{"activity is not an attribute",
			&Record{Activity: &Activity{SignIns: 1}}, &Record{Activity: &Activity{SignIns: 9, LastSignIn: time.Unix(5, 0)}}, nil},
		{"normalized fields in order",
			&Record{Status: StatusActive, Email: "a@x", Name: "A", Username: "a", EmailVerified: &no, Type: AccountHuman, ExternalID: "e1"},
			&Record{Status: StatusSuspended, Email: "b@x", Name: "B", Username: "b", EmailVerified: &yes, Type: AccountMachine, ExternalID: "e2"},
			[]FieldChange{{"status", "active", "suspended"}, {"email", "a@x", "b@x"}, {"name", "A", "B"}, {"username", "a", "b"},
				{"email_verified", false, true}, {"type", "human", "machine"}, {"external_id", "e1", "e2"}}},
		{"email_verified unknown", &Record{EmailVerified: &yes}, &Record{}, []FieldChange{{"email_verified", true, nil}}},
		{"raw dotted paths sorted",
			&Record{Raw: json.RawMessage(`{"traits":{"name":{"first":"Ann","last":"L"}},"b":[1,2],"state":"active","gone":1}`)},
			&Record{Raw: json.RawMessage(`{"traits":{"name":{"first":"Anne","last":"L"}},"b":[2,1],"state":"active","new":{"x":null}}`)},
			[]FieldChange{{"b", []any{json.Number("1"), json.Number("2")}, []any{json.Number("2"), json.Number("1")}},
				{"gone", json.Number("1"), nil}, {"traits.name.first", "Ann", "Anne"}}},
		{"null reads as absent", &Record{Raw: json.RawMessage(`{}`)}, &Record{Raw: json.RawMessage(`{"a":{"x":null}}`)}, nil},
		{"nil before", nil, &Record{Email: "a@x", Raw: json.RawMessage(`{"k":"v"}`)},
			[]FieldChange{{"email", "", "a@x"}, {"k", nil, "v"}}},
		{"grant links and created_at",
			&Record{PrincipalID: "u1", EntitlementID: "o:member", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
			&Record{PrincipalID: "u1", EntitlementID: "o:admin", CreatedAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)},
			[]FieldChange{{"entitlement_id", "o:member", "o:admin"}, {"created_at", "2026-01-02T03:04:05Z", "2026-01-02T03:04:06Z"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Compare(tt.before, tt.after); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Compare = %#v, want %#v", got, tt.want)
			}
		})
	}
}
