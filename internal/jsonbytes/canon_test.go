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

// slowCanonical is Canonical without the fast path: validate, then walk and
// sort, as every record took before.
func slowCanonical(src []byte) ([]byte, error) {
	if !Valid(src) {
		return nil, errInvalid
	}
	p := &canon{s: src}
	p.value()
	return p.tmp, nil
}

// FuzzCanonicalFast holds the fast path for canonical input to the walk it
// skips: the same bytes (and error) from Canonical and CanonicalString for
// every input, and the validating pass calls exactly the walk's fixed
// points canonical (keys with escapes aside, which it leaves to the walk).
func FuzzCanonicalFast(f *testing.F) {
	for _, s := range []string{`{"a":2,"b":1}`, `{"b":1,"a":2}`, `{"a":1,"a":0}`, `{"a":{"c":1,"b":[]}}`, `[{"a":1},{"b":2,"a":3}]`,
		`{"\u0062":1,"a":true}`, `{"a":true,"\u0062":1}`, ` {"a":1}`, `{"a":1} `, `{"a" :1}`, `[1, 2]`, `"x y"`, `1e5`, `{`, ``,
		`{"":1,"a":2}`, "{\"\xff\":1,\"a\":2}", `{"ab":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want, werr := slowCanonical(in)
		got, err := Canonical(in)
		if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("Canonical(%q) = %q, %v; the walk gives %q, %v", in, got, err, want, werr)
		}
		s, err := CanonicalString(in)
		if (err != nil) != (werr != nil) || s != string(want) {
			t.Fatalf("CanonicalString(%q) = %q, %v; the walk gives %q, %v", in, s, err, want, werr)
		}
		canonical, valid := check(in)
		if valid != (werr == nil) {
			t.Fatalf("check(%q) valid = %v, Valid says %v", in, valid, werr == nil)
		}
		fixed := werr == nil && bytes.Equal(want, in)
		if canonical && !fixed {
			t.Fatalf("check(%q) says canonical, the walk gives %q", in, want)
		}
		if fixed && !canonical && !bytes.Contains(in, []byte(`\`)) {
			t.Fatalf("check(%q) says not canonical, the walk leaves it as it is", in)
		}
	})
}
