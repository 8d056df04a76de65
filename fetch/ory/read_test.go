package ory

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
)

// checkIdentityReader checks that decoding b with the reader, and
// json.Unmarshal where it declines, gives what json.Unmarshal gives, error
// or not, and that the reader accepts only what json.Unmarshal accepts.
// It reports whether the reader took b.
func checkIdentityReader(t *testing.T, b []byte) bool {
	t.Helper()
	var want identity
	wantErr := json.Unmarshal(b, &want)
	var fast identity
	took := fast.read(b)
	if took && wantErr != nil {
		t.Errorf("read(%s) = true, but json.Unmarshal: %v", b, wantErr)
	}
	got, err := jsonscan.Decode(b, (*identity).read)
	if (err != nil) != (wantErr != nil) {
		t.Errorf("Decode(%s) error = %v, json.Unmarshal %v", b, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode(%s) = %+v, json.Unmarshal %+v", b, got, want)
	}
	return took
}

var identityCases = []struct {
	name string
	raw  string
	fast bool // the reader takes it
}{
	{"kratos", `{"id":"5f0b9a4e-7d0c-4a5e-9a8e-2c4f1d0e6b7a","schema_id":"default","schema_url":"http://x/schemas/ZGVmYXVsdA","state":"active","state_changed_at":"2025-01-01T00:00:00.123456Z","traits":{"email":"a@example.com","name":{"first":"A","last":"B"}},"verifiable_addresses":[{"id":"1","value":"a@example.com","verified":true,"via":"email","status":"completed","verified_at":"2025-01-02T00:00:00Z","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}],"recovery_addresses":[{"id":"2","value":"a@example.com","via":"email"}],"metadata_public":null,"metadata_admin":{"k":[1,{"v":"]}"}]},"organization_id":null,"external_id":"ext-1","created_at":"2025-01-01T00:00:00.5+02:00","updated_at":"2025-01-01T00:00:00Z"}`, true},
	{"spaces", " { \"id\" : \"a\" ,\n\"traits\" : { \"email\" : \"x\" } , \"verifiable_addresses\" : [ { \"via\" : \"email\" } , null ] } ", true},
	{"nulls", `{"id":null,"state":null,"traits":null,"verifiable_addresses":null,"external_id":null,"created_at":null}`, true},
	{"null created_at after a time", `{"created_at":"2025-01-01T00:00:00Z","created_at":null}`, true},
	{"empty addresses", `{"id":"a","verifiable_addresses":[]}`, true},
	{"traits of another type", `{"id":"a","traits":"s"}`, true},
	{"repeated traits", `{"traits":{"email":"a"},"traits":[1]}`, true},
	{"utf-8 and escapes", `{"id":"m\u00fcller","state":"Müller \"M\"","verifiable_addresses":[{"value":"\u00e9@x"}]}`, true},
	{"invalid utf-8", "{\"id\":\"\xff\"}", true},
	{"empty", `{}`, true},
	{"repeated addresses", `{"verifiable_addresses":[{"value":"a","verified":true}],"verifiable_addresses":[{"via":"email"}]}`, false},
	{"case-folded key", `{"ID":"1"}`, false},
	{"case-folded address key", `{"verifiable_addresses":[{"Via":"email"}]}`, false},
	{"non-ascii key", `{"ſtate":"x"}`, false},
	{"escaped key", `{"i\u0064":"1"}`, false},
	{"number for string", `{"id":1,"state":"active"}`, false},
	{"string for bool", `{"verifiable_addresses":[{"verified":"true"}]}`, false},
	{"bad created_at", `{"id":"a","created_at":"yesterday"}`, false},
	{"number created_at", `{"id":"a","created_at":0}`, false},
	{"address not an object", `{"verifiable_addresses":[1]}`, false},
	{"addresses not an array", `{"verifiable_addresses":{}}`, false},
	{"null identity", `null`, false},
	{"array identity", `[]`, false},
}

// checkTraitsReader checks that traits read b as they were read before
// they had types of their own (traitsByAny), and that the fast path, where
// it takes b, reads what json.Unmarshal reads into the plain struct. It
// reports whether the fast path took b.
func checkTraitsReader(t *testing.T, b []byte) bool {
	t.Helper()
	b = bytes.Trim(b, " \t\r\n") // a value as the identity reader hands it over
	var got traits
	if err := got.UnmarshalJSON(b); err != nil {
		t.Errorf("traits UnmarshalJSON(%s): %v", b, err)
	}
	email, name, username := traitsByAny(b)
	if string(got.Email) != email || string(got.Name) != name || string(got.Username) != username {
		t.Errorf("traits(%s) = %q, %q, %q; read into anys %q, %q, %q", b, got.Email, got.Name, got.Username, email, name, username)
	}
	var fast traits
	took := fast.read(b)
	if took {
		var slow traitFields
		if err := json.Unmarshal(b, &slow); err != nil {
			t.Errorf("traits read(%s) = true, but json.Unmarshal: %v", b, err)
		} else if !reflect.DeepEqual(fast, traits(slow)) {
			t.Errorf("traits read(%s) = %#v, json.Unmarshal %#v", b, fast, slow)
		}
	}
	return took
}

// traitsByAny is how idsnap read traits before: json.Unmarshal into anys,
// a name of string parts, strings only.
func traitsByAny(b []byte) (email, name, username string) {
	if len(b) == 0 || b[0] != '{' {
		return "", "", ""
	}
	var tr struct {
		Email    any `json:"email"`
		Name     any `json:"name"`
		Username any `json:"username"`
	}
	_ = json.Unmarshal(b, &tr) // as before: what did not decode stays empty
	str := func(v any) string { s, _ := v.(string); return s }
	switch n := tr.Name.(type) {
	case string:
		name = strings.TrimSpace(n)
	case map[string]any:
		parts := make([]string, 0, 2)
		for _, k := range []string{"first", "last"} {
			if s := strings.TrimSpace(str(n[k])); s != "" {
				parts = append(parts, s)
			}
		}
		name = strings.Join(parts, " ")
	}
	return str(tr.Email), name, str(tr.Username)
}

var traitsCases = []struct {
	name string
	raw  string
	fast bool // the fast path takes it
}{
	{"preset", `{"email":"a@example.com","name":{"first":"A","last":"B"},"username":"a1","phone":"+1","tags":[1,{"x":null}]}`, true},
	{"name string", `{"email":"a@x","name":" Ada L "}`, true},
	{"nulls", `{"email":null,"name":null,"username":null}`, true},
	{"name parts", ` { "name" : { "first" : null , "middle":"m\u00e9", "läst":"ü", "last": " \u00fc " } } `, true},
	{"empty name", `{"name":{}}`, true},
	{"blank parts", `{"name":{"first":" ","last":"L"}}`, true},
	{"repeated name", `{"name":{"first":"A"},"name":"B"}`, true},
	{"repeated name object", `{"name":{"first":"A"},"name":{"last":"B"}}`, true},
	{"repeated part", `{"name":{"first":"A","first":"B"}}`, true},
	{"repeated email", `{"email":"a","email":null}`, true},
	{"invalid utf-8", "{\"email\":\"\xff\"}", true},
	{"invalid utf-8 part key", "{\"name\":{\"\xff\":\"a\",\"first\":\"\xfe\"}}", true},
	{"escaped part key", `{"name":{"fir\u0073t":"A","first":"B","l\u0061st":"C"}}`, true},
	{"case-folded part key", `{"name":{"First":"A"}}`, true},
	{"number part", `{"name":{"first":1,"last":"L"}}`, true},
	{"number email", `{"email":1,"username":true}`, true},
	{"array name", `{"name":["A","B"]}`, true},
	{"escaped email", `{"email":"a\u0040x"}`, true},
	{"case-folded key", `{"Email":"a@x","NAME":"N"}`, false},
	{"non-ascii key", `{"ſername":"u"}`, false},
	{"escaped key", `{"em\u0061il":"a@x"}`, false},
	{"case-folded after exact", `{"email":"a","EMAIL":"b"}`, false},
	{"not an object", `"s"`, false},
	{"array", `[{"email":"a"}]`, false},
	{"null", `null`, false},
}

func TestTraitsReader(t *testing.T) {
	for _, tt := range traitsCases {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkTraitsReader(t, []byte(tt.raw)); got != tt.fast {
				t.Errorf("traits read(%s) = %v, want %v", tt.raw, got, tt.fast)
			}
		})
	}
}

func TestIdentityReader(t *testing.T) {
	for _, tt := range identityCases {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkIdentityReader(t, []byte(tt.raw)); got != tt.fast {
				t.Errorf("read(%s) = %v, want %v", tt.raw, got, tt.fast)
			}
		})
	}
}

// FuzzIdentityReader compares the identity and traits readers, with their
// fallback, with json.Unmarshal, and traits with how they were read
// before. Identities come from a page the client validated, so only valid
// JSON is an identity the reader sees.
func FuzzIdentityReader(f *testing.F) {
	for _, tt := range identityCases {
		f.Add([]byte(tt.raw))
	}
	for _, tt := range traitsCases {
		f.Add([]byte(tt.raw))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if json.Valid(b) {
			checkIdentityReader(t, b)
			checkTraitsReader(t, b)
		}
	})
}
