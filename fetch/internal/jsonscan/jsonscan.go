// Package jsonscan reads the objects of a page without encoding/json,
// whose json.Unmarshal of each item cost more CPU than any other step of
// a pull: it validated the item again (the page it came from had just
// been validated) and matched every key by reflection.
//
// A fetcher writes a read method per type out of these primitives. They
// take the items providers send: exact keys, the expected type for each
// value. On anything else (a key with escapes, or one json.Unmarshal
// would fold onto a field, a value of another type) they report false and
// Decode hands the item to json.Unmarshal, so results and errors stay
// those of encoding/json. The input must be valid JSON: the readers skip
// values without checking them.
package jsonscan

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/idsnap/idsnap/internal/jsonbytes"
)

// Decode reads raw with read, or with json.Unmarshal where read declines
// (returns false), into a fresh T: what read filled before declining is
// dropped.
func Decode[T any](raw []byte, read func(*T, []byte) bool) (T, error) {
	var v T
	if read(&v, raw) {
		return v, nil
	}
	var w T
	err := json.Unmarshal(raw, &w)
	return w, err
}

// Members calls member with the key and the value of each member of the
// object b, in order; key is as sent, without escapes. It returns false
// when b is not an object of plain keys, or when member returns false.
func Members(b []byte, member func(key, val []byte) bool) bool {
	return Whole(b, MembersAt(b, 0, func(key []byte, i int) int {
		end := jsonbytes.ValueEnd(b, i)
		if end < 0 || !member(key, b[i:end]) {
			return -1
		}
		return end
	}))
}

// MembersAt reads the object that starts at b[i] (space may come first)
// as Members reads one, but hands member where each value starts, for it
// to return where the value ends (or -1 to decline): a large value, such
// as the array of a page, is then read in one pass, where Members would
// first skip it to find its end. It returns where the object ends, or -1.
func MembersAt(b []byte, i int, member func(key []byte, i int) int) int {
	i = jsonbytes.Space(b, i)
	if i >= len(b) || b[i] != '{' {
		return -1
	}
	i = jsonbytes.Space(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		end, escaped, _ := jsonbytes.StringEnd(b, i)
		if end < 0 || escaped {
			return -1
		}
		key := b[i+1 : end-1]
		i = jsonbytes.Space(b, end)
		if i >= len(b) || b[i] != ':' {
			return -1
		}
		if end = member(key, jsonbytes.Space(b, i+1)); end < 0 {
			return -1
		}
		next, closed, ok := after(b, end, '}')
		if !ok || closed {
			return next
		}
		i = next
	}
}

// Elements calls elem with each element of the array b, in order. It
// returns false when b is not an array, or when elem returns false.
func Elements(b []byte, elem func(val []byte) bool) bool {
	return Whole(b, ElementsAt(b, 0, func(i int) int {
		end := jsonbytes.ValueEnd(b, i)
		if end < 0 || !elem(b[i:end]) {
			return -1
		}
		return end
	}))
}

// ElementsAt is MembersAt for the array that starts at b[i]: elem gets
// where each element starts and returns where it ends, or -1.
func ElementsAt(b []byte, i int, elem func(i int) int) int {
	i = jsonbytes.Space(b, i)
	if i >= len(b) || b[i] != '[' {
		return -1
	}
	i = jsonbytes.Space(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		end := elem(i)
		if end < 0 {
			return -1
		}
		next, closed, ok := after(b, end, ']')
		if !ok || closed {
			return next
		}
		i = next
	}
}

// after reads what follows a member or element that ends at end: a comma
// (next is where the following one starts, closed false) or close (next
// is just past it, closed true). ok is false for anything else, and next
// is then -1.
func after(b []byte, end int, close byte) (next int, closed, ok bool) {
	i := jsonbytes.Space(b, end)
	if i >= len(b) {
		return -1, false, false
	}
	switch b[i] {
	case ',':
		return jsonbytes.Space(b, i+1), false, true
	case close:
		return i + 1, true, true
	}
	return -1, false, false
}

// String reads a string value into s as json.Unmarshal does; null leaves
// s.
func String(v []byte, s *string) bool {
	if IsNull(v) {
		return true
	}
	str, ok := Unquote(v)
	if ok {
		*s = str
	}
	return ok
}

// Unquote returns the value of the string v as json.Unmarshal reads it,
// or false when v is no string. Unlike String it takes nothing to write
// to, so a caller's variable need not move to the heap.
func Unquote(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	// Without escapes and with valid UTF-8 (json.Unmarshal replaces
	// invalid bytes) a string's bytes are its value.
	if end, escaped, wide := jsonbytes.StringEnd(v, 0); end == len(v) && !escaped && (!wide || utf8.Valid(v[1:end-1])) {
		return string(v[1 : end-1]), true
	}
	var s string
	err := json.Unmarshal(v, &s)
	return s, err == nil
}

// Bool reads true or false into p; null leaves p.
func Bool(v []byte, p *bool) bool {
	switch string(v) {
	case "true":
		*p = true
	case "false":
		*p = false
	case "null":
	default:
		return false
	}
	return true
}

// Strings reads an array of strings into p; null sets p to nil, as
// json.Unmarshal does. A null element is left to json.Unmarshal.
func Strings(v []byte, p *[]string) bool {
	if IsNull(v) {
		*p = nil
		return true
	}
	out := (*p)[:0]
	ok := Elements(v, func(e []byte) bool {
		var s string
		if IsNull(e) || !String(e, &s) {
			return false
		}
		out = append(out, s)
		return true
	})
	if !ok {
		return false
	}
	if len(out) == 0 {
		out = []string{} // json.Unmarshal makes a new empty slice for []
	}
	*p = out
	return true
}

// RawsAt reads the array that starts at b[i] into p as json.Unmarshal
// reads it into a []json.RawMessage: null sets p to nil, [] makes it
// empty. The elements are sub-slices of b, where json.Unmarshal copies
// them: their bytes are the same, and a page's body is its own. It
// returns where the array ends, or -1.
func RawsAt(b []byte, i int, p *[]json.RawMessage) int {
	if i = jsonbytes.Space(b, i); NullAt(b, i) {
		*p = nil
		return i + len("null")
	}
	out := []json.RawMessage{}
	end := ElementsAt(b, i, func(i int) int {
		end := jsonbytes.ValueEnd(b, i)
		if end >= 0 {
			out = append(out, b[i:end])
		}
		return end
	})
	if end >= 0 {
		*p = out
	}
	return end
}

// ObjectAt is Object for the value that starts at b[i], for a MembersAt
// or ElementsAt callback: it returns where the value ends, or -1.
func ObjectAt(b []byte, i int, member func(key, val []byte) bool) int {
	if i = jsonbytes.Space(b, i); NullAt(b, i) {
		return i + len("null")
	}
	return MembersAt(b, i, func(key []byte, i int) int { return Value(b, i, func(v []byte) bool { return member(key, v) }) })
}

// Value reads the value that starts at b[i] with read, for a MembersAt or
// ElementsAt callback: it returns where the value ends, or -1 when read
// declines it.
func Value(b []byte, i int, read func(v []byte) bool) int {
	end := jsonbytes.ValueEnd(b, i)
	if end < 0 || !read(b[i:end]) {
		return -1
	}
	return end
}

// Skip returns where the value that starts at b[i] ends, or -1.
func Skip(b []byte, i int) int { return jsonbytes.ValueEnd(b, i) }

// Whole says whether end, where the value read from the start of b ends
// (-1: it was declined), is the end of b but for space.
func Whole(b []byte, end int) bool { return end >= 0 && jsonbytes.Space(b, end) == len(b) }

// NullAt says whether the value that starts at b[i] is null.
func NullAt(b []byte, i int) bool { return len(b)-i >= 4 && string(b[i:i+4]) == "null" }

// Object reads an object value with Members; null leaves it.
func Object(v []byte, member func(key, val []byte) bool) bool {
	return IsNull(v) || Members(v, member)
}

// IsNull says whether the value v is null.
func IsNull(v []byte) bool { return string(v) == "null" }

// Other says whether key, matching none of the fields a reader takes,
// may be skipped: json.Unmarshal matches keys case-insensitively, so a
// key that folds onto one of fields (or has bytes whose folding the
// readers do not mirror) is left to it.
func Other(key []byte, fields ...string) bool {
	for _, c := range key {
		if c >= 0x80 {
			return false
		}
	}
	for _, f := range fields {
		if equalFold(key, f) {
			return false
		}
	}
	return true
}

// equalFold is bytes.EqualFold for an ASCII key.
func equalFold(key []byte, f string) bool {
	if len(key) != len(f) {
		return false
	}
	for i := range key {
		a, b := key[i], f[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}
