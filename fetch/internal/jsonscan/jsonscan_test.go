package jsonscan

import (
	"encoding/json"
	"reflect"
	"testing"
)

// sameAsJSON checks that read, where it accepts v, reads into a T what
// json.Unmarshal reads, and accepts only what json.Unmarshal accepts.
func sameAsJSON[T any](t *testing.T, v string, read func([]byte, *T) bool) bool {
	t.Helper()
	var fast, slow T
	if !read([]byte(v), &fast) {
		return false
	}
	if err := json.Unmarshal([]byte(v), &slow); err != nil {
		t.Errorf("read(%s) = true, but json.Unmarshal: %v", v, err)
		return true
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Errorf("read(%s) = %#v, json.Unmarshal %#v", v, fast, slow)
	}
	return true
}

func TestValues(t *testing.T) {
	for _, tt := range []struct {
		v                  string
		str, strs, boolean bool // which readers take it
	}{
		{`"a"`, true, false, false},
		{`"m\u00fcller \"M\""`, true, false, false},
		{"\"\xff\"", true, false, false},
		{`null`, true, true, true},
		{`true`, false, false, true},
		{`false`, false, false, true},
		{`1`, false, false, false},
		{`[]`, false, true, false},
		{`[ "a" , "b" ]`, false, true, false},
		{`["a",null]`, false, false, false},
		{`["a",1]`, false, false, false},
		{`{}`, false, false, false},
	} {
		if got := sameAsJSON(t, tt.v, String); got != tt.str {
			t.Errorf("String(%s) = %v, want %v", tt.v, got, tt.str)
		}
		if got := sameAsJSON(t, tt.v, Strings); got != tt.strs {
			t.Errorf("Strings(%s) = %v, want %v", tt.v, got, tt.strs)
		}
		if got := sameAsJSON(t, tt.v, Bool); got != tt.boolean {
			t.Errorf("Bool(%s) = %v, want %v", tt.v, got, tt.boolean)
		}
	}
}

// TestElements: the elements and members are those json.Unmarshal finds.
func TestElements(t *testing.T) {
	for _, v := range []string{`[]`, ` [ 1 , "a]" , {"b":[2,"}"]} , null,true ] `, `[[],{}]`} {
		var got []json.RawMessage
		ok := Elements([]byte(v), func(e []byte) bool { got = append(got, e); return true })
		var want []json.RawMessage
		if err := json.Unmarshal([]byte(v), &want); err != nil || !ok {
			t.Fatalf("Elements(%s) = %v, json.Unmarshal: %v", v, ok, err)
		}
		if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
			t.Errorf("Elements(%s) = %q, json.Unmarshal %q", v, got, want)
		}
	}
	for _, v := range []string{`{}`, `[`, `[1 2]`, `null`} {
		if Elements([]byte(v), func([]byte) bool { return true }) {
			t.Errorf("Elements(%s) = true, want false", v)
		}
	}
	for _, v := range []string{`{}`, ` { "a" : 1 , "b" : { "c" : "}" } } `} {
		got := map[string]json.RawMessage{}
		ok := Members([]byte(v), func(k, v []byte) bool { got[string(k)] = v; return true })
		var want map[string]json.RawMessage
		if err := json.Unmarshal([]byte(v), &want); err != nil || !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("Members(%s) = %v, %q; json.Unmarshal %q, %v", v, ok, got, want, err)
		}
	}
	for _, v := range []string{`[]`, `{"a\u0062":1}`, `{"a":1,}`, `null`} {
		if Members([]byte(v), func(k, v []byte) bool { return true }) {
			t.Errorf("Members(%s) = true, want false", v)
		}
	}
}

func TestOther(t *testing.T) {
	for _, tt := range []struct {
		key  string
		want bool
	}{{"name", false}, {"NAME", false}, {"names", true}, {"ſtate", false}, {"x", true}} {
		if got := Other([]byte(tt.key), "name", "state"); got != tt.want {
			t.Errorf("Other(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestRawsAt(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want bool
	}{
		{`null`, true}, {`[]`, true}, {` [ 1 , "a" , null , {"b":[]} ] `, true},
		{`{}`, false}, {`"a"`, false}, {`1`, false},
	} {
		raws := func(b []byte, p *[]json.RawMessage) bool { return Whole(b, RawsAt(b, 0, p)) }
		if got := sameAsJSON(t, tt.v, raws); got != tt.want {
			t.Errorf("RawsAt(%s) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

// Unquote takes strings only, and reads them as json.Unmarshal does.
func TestUnquote(t *testing.T) {
	for _, v := range []string{`"a"`, `""`, `"m\u00fcller \"M\""`, "\"\xff\"", `"\ud800"`, `null`, `1`, `[]`, `"`} {
		got, ok := Unquote([]byte(v))
		var want string
		err := json.Unmarshal([]byte(v), &want)
		if isString := len(v) > 1 && v[0] == '"'; ok != isString || (ok && (err != nil || got != want)) {
			t.Errorf("Unquote(%s) = %q, %v; json.Unmarshal %q, %v", v, got, ok, want, err)
		}
	}
}

// The At readers read a value inside a larger one and say where it ends.
func TestAt(t *testing.T) {
	b := []byte(`[ {"a":[1,2],"b":{"c":"}"}} , [ "x" , null ] , null , {} ]`)
	var keys []string
	if end := MembersAt(b, 1, func(k []byte, i int) int { keys = append(keys, string(k)); return Skip(b, i) }); end != 27 || len(keys) != 2 {
		t.Errorf("MembersAt = %d, %q; want 27, [a b]", end, keys)
	}
	var raws []json.RawMessage
	if end := RawsAt(b, 30, &raws); end != 44 || len(raws) != 2 || string(raws[0]) != `"x"` || string(raws[1]) != "null" {
		t.Errorf("RawsAt = %d, %q; want 44, [\"x\" null]", end, raws)
	}
	if end := ObjectAt(b, 46, func(k, v []byte) bool { return false }); end != 51 {
		t.Errorf("ObjectAt(null) = %d, want 51", end)
	}
	if end := ObjectAt(b, 53, func(k, v []byte) bool { return false }); end != 56 {
		t.Errorf("ObjectAt({}) = %d, want 56", end)
	}
	if end := ElementsAt(b, 0, func(i int) int { return Skip(b, i) }); !Whole(b, end) {
		t.Errorf("ElementsAt = %d, want %d", end, len(b))
	}
	if end := ObjectAt(b, 2, func(k, v []byte) bool { return string(k) != "b" }); end != -1 {
		t.Errorf("ObjectAt with a declined member = %d, want -1", end)
	}
}
