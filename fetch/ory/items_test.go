package ory

import (
	"encoding/json"
	"slices"
	"testing"
)

// FuzzItems: splitting a page gives the elements decoding it into
// []json.RawMessage gives, for any body the client accepts.
func FuzzItems(f *testing.F) {
	for _, s := range []string{`[]`, ` [ ] `, `null`, `[{"id":"a","x":[1,{"y":"]"}]},{"id":"b\"},"} ]`, `[1, "s" ,null,[],{} ,true]`, "[\n {\"a\":\"\\\\\"}\n]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want []json.RawMessage
		var a arrayBody
		if json.Unmarshal(b, &want) != nil || json.Unmarshal(b, &a) != nil {
			return
		}
		got := a.items()
		if !slices.EqualFunc(got, want, func(g, w json.RawMessage) bool { return string(g) == string(w) }) {
			t.Errorf("items(%q) = %q, want %q", b, got, want)
		}
	})
}
