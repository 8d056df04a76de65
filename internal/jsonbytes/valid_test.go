package jsonbytes

import (
	"encoding/json"
	"strings"
	"testing"
)

var validSeeds = []string{`{}`, ` [1, -0.5e+3, "a\u00e9\n", true, false, null, {"k": []}] `, `"\ud800"`, `01`, `1.`, `-`,
	`{"a":1,}`, `[1,]`, `"\x"`, "\"\x01\"", `"\u12g4"`, `tru`, `nulll`, `{"a" 1}`, `1 2`, "\"\xff\"", `1E5`, `-0`, ``,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001)}

func TestValid(t *testing.T) {
	for _, s := range validSeeds {
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("Valid(%.40q) = %v, json.Valid says %v", s, got, want)
		}
	}
}

// FuzzValid holds Valid to json.Valid exactly.
func FuzzValid(f *testing.F) {
	for _, s := range validSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

func BenchmarkValid(b *testing.B) {
	in := []byte(kindeUser)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		Valid(in)
	}
}

func BenchmarkValidEncodingJSON(b *testing.B) {
	in := []byte(kindeUser)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		json.Valid(in)
	}
}
