package jsonbytes

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"b":1,"a":2}`, `{"a":2,"b":1}`},
		{" {\n \"z\" : [ 3 , {\"y\":1,\"x\":null} ], \"a\":\"s p\\\"\"}", `{"a":"s p\"","z":[3,{"x":null,"y":1}]}`},
		{`{"\u0062":1,"a":true}`, `{"a":true,"\u0062":1}`},
		{`[]`, `[]`},
		{`{}`, `{}`},
		{`"x"`, `"x"`},
		{`1.50`, `1.50`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Canonical([]byte(tt.in))
			if err != nil || string(got) != tt.want {
				t.Errorf("Canonical(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzCanonical holds the walker, which trusts its input once json.Valid
// has passed it, to the meaning of the JSON: the canonical form decodes to
// what the input does, is itself canonical, and has no white space outside
// strings.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":2}`, ` {"z" : [ 3 , {"y":1,"x":null} ], "a":"s p\""}`,
		`{"\u0062":1,"a":true,"b":2}`, `[{"a":{"c":1,"b":[]}},"\\"]`, `{"a":1,"a":2}`, `1e5`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonical(in)
		if !json.Valid(in) {
			if err == nil {
				t.Fatalf("Canonical(%q) accepted invalid JSON", in)
			}
			return
		}
		if err != nil {
			t.Fatalf("Canonical(%q) = %v", in, err)
		}
		if !json.Valid(out) {
			t.Fatalf("Canonical(%q) = %q, not valid JSON", in, out)
		}
		again, _ := Canonical(out)
		if !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
		var a, b any
		da, db := json.NewDecoder(bytes.NewReader(in)), json.NewDecoder(bytes.NewReader(out))
		da.UseNumber()
		db.UseNumber()
		if da.Decode(&a) != nil || db.Decode(&b) != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("Canonical(%q) = %q: decodes differently", in, out)
		}
	})
}

// BenchmarkCanonical is a Kinde-sized user object, keys out of order.
func BenchmarkCanonical(b *testing.B) {
	in := []byte(kindeUser)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Canonical(in); err != nil {
			b.Fatal(err)
		}
	}
}

// kindeUser is a Kinde-sized user object, keys out of order.
const kindeUser = `{"id":"kp_0123456789abcdef0123456789abcdef","provided_id":"ext-1","preferred_email":"user1@example.com","phone":null,"username":"user1","last_name":"Müller","first_name":"Zoë","is_suspended":false,"picture":"https://gravatar.com/avatar/0123456789abcdef0123456789abcdef","created_on":"2025-01-01T00:00:00Z","identities":[{"type":"email","identity":"user1@example.com","connection_id":null}],"billing":null}`

// BenchmarkCanonicalSorted is the same object already canonical, as the
// fetchers' filters write it.
func BenchmarkCanonicalSorted(b *testing.B) {
	in, err := Canonical([]byte(kindeUser))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Canonical(in); err != nil {
			b.Fatal(err)
		}
	}
}
