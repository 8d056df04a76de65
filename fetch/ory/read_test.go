package ory

import (
	"encoding/json"
	"reflect"
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

// checkTraitsReader is checkIdentityReader for traits.
func checkTraitsReader(t *testing.T, b []byte) bool {
	t.Helper()
	var want traits
	wantErr := json.Unmarshal(b, &want)
	var fast traits
	took := fast.read(b)
	if took && wantErr != nil {
		t.Errorf("traits read(%s) = true, but json.Unmarshal: %v", b, wantErr)
	}
	got, err := jsonscan.Decode(b, (*traits).read)
	if (err != nil) != (wantErr != nil) {
		t.Errorf("traits Decode(%s) error = %v, json.Unmarshal %v", b, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("traits Decode(%s) = %#v, json.Unmarshal %#v", b, got, want)
	}
	return took
}

var traitsCases = []struct {
	name string
	raw  string
	fast bool // the reader takes it
}{
	{"preset", `{"email":"a@example.com","name":{"first":"A","last":"B"},"username":"a1","phone":"+1","tags":[1,{"x":null}]}`, true},
	{"name string", `{"email":"a@x","name":"Ada L"}`, true},
	{"nulls", `{"email":null,"name":null,"username":null}`, true},
	{"name parts", ` { "name" : { "first" : null , "middle":"m\u00e9", "läst":"ü" } } `, true},
	{"empty name", `{"name":{}}`, true},
	{"repeated name", `{"name":{"first":"A"},"name":"B"}`, true},
	{"repeated part", `{"name":{"first":"A","first":"B"}}`, true},
	{"invalid utf-8", "{\"email\":\"\xff\"}", true},
	{"invalid utf-8 part key", "{\"name\":{\"\xff\":\"a\"}}", false},
	{"escaped part key", `{"name":{"fir\u0073t":"A"}}`, false},
	{"number part", `{"name":{"first":1}}`, false},
	{"number email", `{"email":1}`, false},
	{"array name", `{"name":["A","B"]}`, false},
	{"case-folded key", `{"Email":"a@x"}`, false},
	{"not an object", `"s"`, false},
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

// The traits an identity holds are its own copy, as json.RawMessage's
// UnmarshalJSON makes: records outlive the page they came from.
func TestIdentityReaderCopiesTraits(t *testing.T) {
	b := []byte(`{"id":"a","traits":{"email":"a@x"}}`)
	id, err := jsonscan.Decode(b, (*identity).read)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if got, want := string(id.Traits), `{"email":"a@x"}`; got != want {
		t.Errorf("traits after the page was overwritten = %s, want %s", got, want)
	}
}

// FuzzIdentityReader compares the identity and traits readers, with their
// fallback, with json.Unmarshal. Identities come from a page json.Unmarshal
// validated (arrayBody), so only valid JSON is an identity the reader
// sees.
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
