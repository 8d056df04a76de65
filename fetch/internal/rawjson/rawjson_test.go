package rawjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
	"github.com/idsnap/idsnap/internal/jsonbytes"
)

// errNotObject: the round-trips decode null into a nil map, where the
// filters refuse anything but an object (the fetchers then take the
// round-trip, which keeps null as null).
var errNotObject = errors.New("not an object")

// The filters the fetchers use, and the map round-trips they replace.
var (
	ory = Filter{Drop: []string{"updated_at", "credentials"},
		Arrays: map[string][]string{"verifiable_addresses": {"updated_at"}, "recovery_addresses": {"updated_at"}}}
	kinde   = Filter{Drop: []string{"last_signed_in", "total_sign_ins"}, Strings: EscapeHTML}
	zitadel = Filter{Drop: []string{"roleKeys", "userName"}, Objects: map[string][]string{"details": {"sequence", "changeDate"}},
		Strings: Reencode, Unique: true, SameKeys: true}
)

func oryRoundTrip(raw []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errNotObject
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
			continue
		}
		for _, a := range list {
			delete(a, "updated_at")
		}
		b, err := marshalNoHTML(list)
		if err != nil {
			return nil, err
		}
		m[k] = b
	}
	return marshalNoHTML(m)
}

func marshalNoHTML(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func kindeRoundTrip(raw []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errNotObject
	}
	delete(m, "last_signed_in")
	delete(m, "total_sign_ins")
	return json.Marshal(m)
}

func zitadelRoundTrip(raw []byte, add map[string]any) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errNotObject
	}
	delete(m, "roleKeys")
	delete(m, "userName")
	if det, ok := m["details"].(map[string]any); ok {
		delete(det, "sequence")
		delete(det, "changeDate")
	}
	for k, v := range add {
		m[k] = v
	}
	return json.Marshal(m)
}

var cases = []string{
	`{}`,
	`{"id":"a","updated_at":"2024-01-01T00:00:00Z","name":"x"}`,
	` { "id" : "a" , "n" : 1.50e3 , "t" : true , "f" : false , "z" : null , "a" : [ 1 , "2" , { "b" : [ ] } ] } `,
	`{"id":"a","credentials":{"password":{"hashed":"$2a$"}},"traits":{"email":"a<b & c>d","name":{"first":"Zoë","last":"Müller"}}}`,
	`{"verifiable_addresses":[{"id":"1","updated_at":"x","value":"a@b"},null,{"updated_at":"y"}],"recovery_addresses":null}`,
	`{"verifiable_addresses":[{"id":"1","updated_at":"x"},3],"recovery_addresses":{"updated_at":"kept"}}`,
	`{"verifiable_addresses":[],"recovery_addresses":[{}]}`,
	`{"s":"esc \" \\ \/ \u00e9 \u2028 \n \t \u0041 é"}`,
	"{\"s\":\"line\u2028sep\u2029 & <tag>\"}",
	`{"details":{"sequence":"12","changeDate":"2024","creationDate":"2023","resourceOwner":"o"},"roleKeys":["a","b"],"userName":"u","id":"g"}`,
	`{"details":null,"id":"g"}`,
	`{"details":[{"sequence":"1"}],"id":"g"}`,
	`{"last_signed_in":"2024","total_sign_ins":3,"identities":[{"type":"email","identity":"a@b"}],"billing":{"customer_id":"c&d"}}`,
	`{"deep":{"deeper":{"deepest":[[[{"k":"v"}]]]}}}`,
	`{"roleKey":"old","id":"x"}`,
	`{"z":{"b":1,"a":2,"b":0},"verifiable_addresses":[{"z":1,"updated_at":"x","a":2,"a":1}],"a":1,"last_signed_in":0}`,
	`{"projectId":"p","details":{"z":1,"sequence":"1","a":{"y":[{"b":1,"a":2}],"x":1}},"b":"<&>","a":" "}`,
}

// TestObjectMatchesRoundTrip checks each filter against the map round-trip
// it replaces: the same members, strings written the same, once sorted.
func TestObjectMatchesRoundTrip(t *testing.T) {
	for _, c := range cases {
		t.Run(c, func(t *testing.T) { compare(t, []byte(c)) })
	}
}

func compare(t *testing.T, src []byte) {
	t.Helper()
	type variant struct {
		name string
		f    *Filter
		add  []Member
		ref  func([]byte) ([]byte, error)
	}
	for _, v := range []variant{
		{"ory", &ory, nil, oryRoundTrip},
		{"kinde", &kinde, nil, kindeRoundTrip},
		{"zitadel", &zitadel, nil, func(b []byte) ([]byte, error) { return zitadelRoundTrip(b, nil) }},
		{"zitadel+add", &zitadel, []Member{{"roleKey", String("a<b")}},
			func(b []byte) ([]byte, error) { return zitadelRoundTrip(b, map[string]any{"roleKey": "a<b"}) }},
	} {
		sameVisit(t, v.name, v.f, src, v.add)
		want, err := v.ref(src)
		got, ok := v.f.Object(nil, src, v.add...)
		if err != nil {
			if ok {
				t.Errorf("%s: Object(%s) = %s, want refused: the round-trip fails (%v)", v.name, src, got, err)
			}
			continue
		}
		if !ok {
			// Refusing is allowed only for what the round-trip changes.
			if !mayRefuse(src) {
				t.Errorf("%s: Object(%s) refused", v.name, src)
			}
			continue
		}
		if !json.Valid(got) {
			t.Fatalf("%s: Object(%s) = %s, not valid JSON", v.name, src, got)
		}
		if g, w := rawCanonical(t, got), rawCanonical(t, want); g != w {
			t.Errorf("%s: Object(%s)\n got %s\nwant %s", v.name, src, g, w)
		}
		sortedAsStore(t, v.name, v.f, src, v.add)
	}
}

// sortedAsStore holds Object's sorted output to what the store made of
// the output in source order: jsonbytes.Canonical of it, byte for byte (so
// every stored Raw and digest stays as it was), and so canonical already.
func sortedAsStore(t *testing.T, name string, f *Filter, src []byte, add []Member) {
	t.Helper()
	got, ok := f.Object(nil, src, add...)
	kept, keptOK := f.object(nil, src, true, nil, add)
	if ok != keptOK {
		t.Fatalf("%s: Object(%s) ok = %v, in source order %v", name, src, ok, keptOK)
	}
	if !ok || !json.Valid(kept) {
		return
	}
	want, err := jsonbytes.Canonical(kept)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: Object(%s)\n got %s\nwant %s (Canonical of %s)", name, src, got, want, kept)
	}
}

// sameVisit holds ObjectFunc to Object (the same output, refused alike)
// and its visits to jsonscan.Members, which the decoders use: where both
// take src, the same keys and values in the same order. A visit that
// declines makes ObjectFunc refuse.
func sameVisit(t *testing.T, name string, f *Filter, src []byte, add []Member) {
	t.Helper()
	type kv struct{ k, v string }
	var visited, members []kv
	got, ok := f.ObjectFunc(nil, src, func(k, v []byte) bool {
		visited = append(visited, kv{string(k), string(v)})
		return true
	}, add...)
	want, wantOK := f.Object(nil, src, add...)
	if ok != wantOK || !bytes.Equal(got, want) {
		t.Fatalf("%s: ObjectFunc(%s) = %s, %v; Object %s, %v", name, src, got, ok, want, wantOK)
	}
	if !ok {
		return
	}
	if jsonscan.Members(src, func(k, v []byte) bool {
		members = append(members, kv{string(k), string(v)})
		return true
	}) && !slices.Equal(visited, members) {
		t.Fatalf("%s: ObjectFunc(%s) visited %q; jsonscan.Members %q", name, src, visited, members)
	}
	for n := range visited {
		if _, ok := f.ObjectFunc(nil, src, func(k, v []byte) bool { n--; return n >= 0 }, add...); ok {
			t.Fatalf("%s: ObjectFunc(%s) took the object though visit %d declined", name, src, n+1)
		}
	}
}

// TestSameKeys runs objects whose keys repeat, come in another order,
// differ by one or repeat a key, through one SameKeys filter, each
// against a filter that sorts every object.
func TestSameKeys(t *testing.T) {
	objs := []string{
		`{"z":1,"b":{"y":1,"x":2},"a":"<","userName":"u"}`,
		`{"z":2,"b":{"x":1,"y":2},"a":"&","userName":"v"}`,
		`{"z":3,"b":3,"a":"x","userName":"w"}`,
		`{"z":1,"a":2,"b":3}`,
		`{"a":1,"z":2,"b":3}`,
		`{"z":1,"b":2,"a":3,"userName":"u"}`,
		`{"z":1,"b":2,"a":3,"a":4}`,
		`{"z":1,"b":2,"z":3}`,
		`{"z":1,"b":2,"userName":"u","a":{"d":1,"c":2}}`,
		`{"z":1,"b":2,"userName":"u","a":{"d":1,"c":2}}`,
		`{"y":1,"b":2,"userName":"u","a":3}`,
		`{"zz":1,"b":2,"userName":"u","a":3}`,
		`{"z":1,"b":2,"a":3,"userName":"u","roleKeys":[]}`,
		`{"z":{"b":1,"a":2},"b":[{"y":1,"x":2}],"a":null}`,
		`{"z":1,"b":2,"a":3}`,
	}
	filter := func(same bool) *Filter {
		return &Filter{Drop: zitadel.Drop, Objects: zitadel.Objects, Strings: Reencode, Unique: true, SameKeys: same}
	}
	plain, same := filter(false), filter(true)
	for round := range 3 {
		for _, o := range objs {
			for _, add := range [][]Member{nil, {{"roleKey", String("k")}}} {
				got, ok := same.Object(nil, []byte(o), add...)
				want, wantOK := plain.Object(nil, []byte(o), add...)
				if ok != wantOK || !bytes.Equal(got, want) {
					t.Fatalf("round %d: Object(%s) = %s, %v with SameKeys; %s, %v without", round, o, got, ok, want, wantOK)
				}
			}
		}
		slices.Reverse(objs)
	}
}

// rawCanonical is canonical, but with strings as written: the filters must
// write them byte for byte as the round-trip did.
func rawCanonical(t testing.TB, b []byte) string {
	var v rawValue
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("rawCanonical %s: %v", b, err)
	}
	return v.s
}

// rawValue sorts object members and keeps scalars byte for byte.
type rawValue struct{ s string }

func (r *rawValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch b[0] {
	case '{':
		var m []string
		d := json.NewDecoder(bytes.NewReader(b))
		d.Token()
		for d.More() {
			// The key as written, not as the decoder unescapes it.
			before := d.InputOffset()
			if _, err := d.Token(); err != nil {
				return err
			}
			k := strings.Trim(string(b[before:d.InputOffset()]), " \t\r\n,:")
			var v rawValue
			if err := d.Decode(&v); err != nil {
				return err
			}
			m = append(m, k+":"+v.s)
		}
		slices.Sort(m)
		r.s = "{" + strings.Join(m, ",") + "}"
	case '[':
		var vs []rawValue
		if err := json.Unmarshal(b, &vs); err != nil {
			return err
		}
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = v.s
		}
		r.s = "[" + strings.Join(parts, ",") + "]"
	default:
		r.s = string(b)
	}
	return nil
}

func mayRefuse(b []byte) bool {
	if bytes.Contains(b, []byte(`\`)) || !utf8.Valid(b) {
		return true // possibly in a key, which the round-trip rewrites
	}
	d := json.NewDecoder(bytes.NewReader(b))
	var dup func() bool
	dup = func() bool {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			found := false
			for d.More() {
				k, _ := d.Token()
				if seen[k.(string)] {
					found = true
				}
				seen[k.(string)] = true
				found = dup() || found
			}
			d.Token()
			return found
		case json.Delim('['):
			found := false
			for d.More() {
				found = dup() || found
			}
			d.Token()
			return found
		}
		return false
	}
	return dup()
}

func TestObjectRefuses(t *testing.T) {
	for _, c := range []string{``, `[]`, `"s"`, `{"a":1,"a":2}`, `{"a\u0062":1}`, `{"a":1`, `{"a":"x}`, `{"a":1} x`, `{"a" 1}`} {
		t.Run(c, func(t *testing.T) {
			dst := []byte("keep")
			if got, ok := zitadel.Object(dst, []byte(c)); ok || string(got) != "keep" {
				t.Errorf("Object(%q) = %q, %v; want refused with dst unchanged", c, got, ok)
			}
		})
	}
	// Nested duplicates only matter where the round-trip decoded maps.
	if _, ok := kinde.Object(nil, []byte(`{"a":{"b":1,"b":2}}`)); !ok {
		t.Error("kinde refused a duplicate below the top level, which its round-trip kept")
	}
	if _, ok := zitadel.Object(nil, []byte(`{"a":{"b":1,"b":2}}`)); ok {
		t.Error("zitadel took a duplicate below the top level, which its round-trip dropped")
	}
}

func TestWith(t *testing.T) {
	for _, c := range []struct{ obj, want string }{
		{`{}`, `{"k":"v"}`},
		{`{"a":1}`, `{"a":1,"k":"v"}`},
		{`{"z":1}`, `{"k":"v","z":1}`},
		{`{"a":{"z":1},"k":[1,"}"],"l":"x,\"y","m":null}`, `{"a":{"z":1},"k":[1,"}"],"k":"v","l":"x,\"y","m":null}`},
		{`{"a":1,"ka":2}`, `{"a":1,"k":"v","ka":2}`},
		{`{"b":1,"a":2}`, `{"b":1,"a":2,"k":"v"}`}, // not canonical: the store sorts it
	} {
		t.Run(c.obj, func(t *testing.T) {
			got := With(nil, []byte(c.obj), Member{"k", String("v")})
			if string(got) != c.want {
				t.Errorf("With(%s) = %s, want %s", c.obj, got, c.want)
			}
			if !json.Valid(got) {
				t.Errorf("With(%s) = %s, not valid JSON", c.obj, got)
			}
		})
	}
}

// FuzzWith holds With to what the store made of the member appended at the
// end: the same canonical form, and canonical output for canonical input.
func FuzzWith(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c), "roleKey")
	}
	f.Add([]byte(`{"a":1,"k":2}`), "k")
	f.Fuzz(func(t *testing.T, src []byte, key string) {
		obj, ok := zitadel.Object(nil, src)
		if !ok || !json.Valid(obj) || strings.ContainsAny(key, "\"\\") || !utf8.ValidString(key) || strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 }) {
			return
		}
		m := Member{key, String("v")}
		got := With(nil, obj, m)
		end := bytes.LastIndexByte(obj, '}')
		appended := string(obj[:end])
		if end > 1 {
			appended += ","
		}
		appended += `"` + key + `":"v"}`
		want, err := jsonbytes.Canonical([]byte(appended))
		if err != nil {
			t.Fatalf("With(%s, %q): appended %s: %v", obj, key, appended, err)
		}
		if canon, _ := jsonbytes.Canonical(got); !bytes.Equal(canon, want) {
			t.Fatalf("With(%s, %q) = %s, canonically %s; want %s", obj, key, got, canon, want)
		}
		if !bytes.Contains(obj, []byte(`\`)) && !bytes.Equal(got, want) {
			t.Fatalf("With(%s, %q) = %s, not canonical: want %s", obj, key, got, want)
		}
	})
}

func FuzzObject(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if !json.Valid(src) {
			for _, fl := range []*Filter{&ory, &kinde, &zitadel} {
				fl.Object(nil, src) // must not panic
			}
			return
		}
		compare(t, src)
	})
}
