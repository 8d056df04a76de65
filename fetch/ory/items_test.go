package ory

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// FuzzItems: splitting a page gives the elements decoding it into
// []json.RawMessage gives, for any body the client accepts, whether
// ReadPage or json.Unmarshal read it.
func FuzzItems(f *testing.F) {
	for _, s := range []string{`[]`, ` [ ] `, `null`, `[{"id":"a","x":[1,{"y":"]"}]},{"id":"b\"},"} ]`, `[1, "s" ,null,[],{} ,true]`, "[\n {\"a\":\"\\\\\"}\n]", " null ", `{}`, `"["`, ` [1] `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want []json.RawMessage
		var a arrayBody
		if json.Unmarshal(b, &want) != nil || json.Unmarshal(b, &a) != nil {
			var fast arrayBody
			if json.Valid(b) && fast.ReadPage(b) {
				t.Errorf("ReadPage(%q) = true, but json.Unmarshal fails", b)
			}
			return
		}
		// The client's fast path keeps what json.Unmarshal keeps.
		var fast arrayBody
		if !fast.ReadPage(b) || !bytes.Equal(fast, a) || (fast == nil) != (a == nil) {
			t.Errorf("ReadPage(%q) = %q, json.Unmarshal %q", b, fast, a)
		}
		got := a.items()
		if !slices.EqualFunc(got, want, func(g, w json.RawMessage) bool { return string(g) == string(w) }) {
			t.Errorf("items(%q) = %q, want %q", b, got, want)
		}
	})
}
