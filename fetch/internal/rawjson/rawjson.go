// Package rawjson removes and adds members of a JSON object without
// decoding it into maps: one pass over the bytes, values copied as they
// came. Fetchers use it to drop volatile fields from Record.Raw; a map
// round-trip per record cost more CPU than the rest of a pull.
//
// The output is compact but not sorted: the store canonicalizes Raw.
// Strings are written as a Strings mode says, so that the bytes equal, up
// to member order, what the encoding/json round-trip they replace wrote.
// Input that round-trip would have changed in other ways (a duplicate key,
// which a map keeps once; a key with escapes) is refused with ok false,
// and the caller takes the slow path.
package rawjson

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/idsnap/idsnap/internal/jsonbytes"
)

// Strings says how string values are written.
type Strings int

const (
	// Verbatim copies strings as sent (json.Encoder with SetEscapeHTML(false)
	// of json.RawMessage values).
	Verbatim Strings = iota
	// EscapeHTML writes <, >, &, U+2028 and U+2029 as \u escapes and
	// copies the rest (json.Marshal of json.RawMessage values).
	EscapeHTML
	// Reencode decodes every string and encodes it again as json.Marshal
	// does (json.Unmarshal into any, then json.Marshal).
	Reencode
)

// Filter says what to change in an object.
type Filter struct {
	// Drop lists the members removed from the object.
	Drop []string
	// Objects maps a member to the members removed from it when it is an
	// object; any other value is kept as it is.
	Objects map[string][]string
	// Arrays maps a member to the members removed from each of its
	// elements when it is an array of objects (null elements allowed); any
	// other value is kept as it is.
	Arrays map[string][]string
	// Strings is how strings are written, at every depth.
	Strings Strings
	// Unique refuses a duplicate key at any depth rather than at the top
	// level only (the round-trip decoded every level into maps).
	Unique bool
}

// Object appends src, a JSON object, to dst without the members f drops,
// and then the members add (each a key and a JSON value, replacing a
// member of that key). ok is false when src is not an object this filter
// handles exactly; dst is then returned unchanged.
func (f *Filter) Object(dst, src []byte, add ...Member) (out []byte, ok bool) {
	w := walker{s: src, f: f, out: dst}
	defer func() {
		if recover() != nil { // src ran out: not valid JSON
			out, ok = dst, false
		}
	}()
	w.space()
	if w.i >= len(w.s) || w.s[w.i] != '{' {
		return dst, false
	}
	if !w.object(f.Drop, add, true, true) {
		return dst, false
	}
	w.space()
	if w.i != len(w.s) {
		return dst, false
	}
	return w.out, true
}

// Member is one member to add: Key as it is written unquoted (plain
// characters only), Value a JSON value.
type Member struct {
	Key   string
	Value []byte
}

// String returns the JSON encoding of s as json.Marshal writes it.
func String(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// With appends obj, a compact JSON object, with m added at its end.
func With(dst, obj []byte, m Member) []byte {
	end := bytes.LastIndexByte(obj, '}')
	dst = append(dst, obj[:end]...)
	if bytes.IndexByte(obj[:end], ':') >= 0 { // not empty
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, m.Key...)
	dst = append(dst, '"', ':')
	dst = append(dst, m.Value...)
	return append(dst, '}')
}

type walker struct {
	s   []byte
	i   int
	f   *Filter
	out []byte
}

func (w *walker) space() { w.i = jsonbytes.Space(w.s, w.i) }

// object copies the object at w.i without drop, adding add. top is the
// outermost object, whose members Objects and Arrays name; unique refuses
// a duplicate key (the round-trip decoded this object into a map).
func (w *walker) object(drop []string, add []Member, top, unique bool) bool {
	w.i++ // '{'
	w.out = append(w.out, '{')
	// For the duplicate check; most objects fit the array, which stays on
	// the stack (a growing slice here was a quarter of a pull's allocations).
	var buf [16][]byte
	keys := buf[:0]
	n := 0 // members written
	for {
		w.space()
		switch w.s[w.i] {
		case '}':
			w.i++
			for _, m := range add {
				if n > 0 {
					w.out = append(w.out, ',')
				}
				w.out = append(w.out, '"')
				w.out = append(w.out, m.Key...)
				w.out = append(w.out, '"', ':')
				w.out = append(w.out, m.Value...)
				n++
			}
			w.out = append(w.out, '}')
			return true
		case ',':
			w.i++
			continue
		case '"':
		default:
			return false
		}
		ks := w.i + 1
		if !w.skipString() {
			return false
		}
		key := w.s[ks : w.i-1]
		if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) {
			return false
		}
		if unique || w.f.Unique {
			for _, k := range keys {
				if bytes.Equal(k, key) {
					return false
				}
			}
			keys = append(keys, key)
		}
		w.space()
		if w.s[w.i] != ':' {
			return false
		}
		w.i++
		w.space()
		if has(drop, key) || hasMember(add, key) {
			mark := len(w.out)
			if !w.value() { // walked for the duplicate check, then discarded
				return false
			}
			w.out = w.out[:mark]
			continue
		}
		if n > 0 {
			w.out = append(w.out, ',')
		}
		n++
		w.out = append(w.out, '"')
		w.appendString(key)
		w.out = append(w.out, '"', ':')
		var ok bool
		switch {
		case !top:
			ok = w.value()
		case w.f.Objects[string(key)] != nil && w.s[w.i] == '{':
			ok = w.object(w.f.Objects[string(key)], nil, false, false)
		case w.f.Arrays[string(key)] != nil && w.s[w.i] == '[':
			ok = w.objects(w.f.Arrays[string(key)])
		default:
			ok = w.value()
		}
		if !ok {
			return false
		}
	}
}

// objects copies an array whose elements are objects or null, dropping drop
// from each; an array with other elements is copied as it is.
func (w *walker) objects(drop []string) bool {
	start, mark := w.i, len(w.out)
	w.i++ // '['
	w.out = append(w.out, '[')
	for first := true; ; first = false {
		w.space()
		if w.s[w.i] == ']' {
			w.i++
			w.out = append(w.out, ']')
			return true
		}
		if !first {
			if w.s[w.i] != ',' {
				return false
			}
			w.i++
			w.out = append(w.out, ',')
			w.space()
		}
		switch {
		case w.s[w.i] == '{':
			if !w.object(drop, nil, false, true) {
				return false
			}
		case bytes.HasPrefix(w.s[w.i:], []byte("null")):
			w.i += 4
			w.out = append(w.out, "null"...)
		default:
			// Not an array of objects: the round-trip kept it as it came.
			w.i, w.out = start, w.out[:mark]
			return w.value()
		}
	}
}

// value copies one value, compacted.
func (w *walker) value() bool {
	switch c := w.s[w.i]; {
	case c == '{':
		return w.object(nil, nil, false, false)
	case c == '[':
		w.i++
		w.out = append(w.out, '[')
		for first := true; ; first = false {
			w.space()
			if w.s[w.i] == ']' {
				w.i++
				w.out = append(w.out, ']')
				return true
			}
			if !first {
				if w.s[w.i] != ',' {
					return false
				}
				w.i++
				w.out = append(w.out, ',')
				w.space()
			}
			if !w.value() {
				return false
			}
		}
	case c == '"':
		start := w.i
		if !w.skipString() {
			return false
		}
		w.out = append(w.out, '"')
		w.appendString(w.s[start+1 : w.i-1])
		w.out = append(w.out, '"')
		return true
	default:
		start := w.i
		for w.i < len(w.s) {
			switch w.s[w.i] {
			case ' ', '\t', '\n', '\r', ',', ']', '}':
				goto done
			}
			w.i++
		}
	done:
		if start == w.i {
			return false
		}
		w.out = append(w.out, w.s[start:w.i]...)
		return true
	}
}

// skipString moves past the string at w.i; false when it does not end.
func (w *walker) skipString() bool {
	end, _, _ := jsonbytes.StringEnd(w.s, w.i)
	if end < 0 {
		return false
	}
	w.i = end
	return true
}

// appendString writes the inside of a string (between its quotes) as
// w.f.Strings says.
func (w *walker) appendString(s []byte) {
	switch w.f.Strings {
	case Verbatim:
		w.out = append(w.out, s...)
	case EscapeHTML:
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c == '<' || c == '>' || c == '&':
				w.out = append(w.out, `\u00`...)
				w.out = append(w.out, hex[c>>4], hex[c&0xF])
			case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && s[i+2]&^1 == 0xA8:
				w.out = append(w.out, `\u202`...)
				w.out = append(w.out, hex[s[i+2]&0xF])
				i += 2
			default:
				w.out = append(w.out, c)
			}
		}
	case Reencode:
		if plain(s) {
			w.out = append(w.out, s...)
			return
		}
		q := make([]byte, 0, len(s)+2)
		q = append(append(append(q, '"'), s...), '"')
		var str string
		if err := json.Unmarshal(q, &str); err != nil {
			w.out = append(w.out, s...) // valid JSON cannot get here
			return
		}
		enc := String(str)
		w.out = append(w.out, enc[1:len(enc)-1]...)
	}
}

// plain reports whether json.Marshal writes s (the inside of a string)
// back unchanged: no escapes, nothing it escapes, valid UTF-8.
func plain(s []byte) bool {
	ascii := true
	for _, c := range s {
		switch {
		case c == '\\', c == '<', c == '>', c == '&', c == 0xE2:
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return ascii || utf8.Valid(s)
}

const hex = "0123456789abcdef"

func has(list []string, key []byte) bool {
	for _, k := range list {
		if k == string(key) {
			return true
		}
	}
	return false
}

func hasMember(list []Member, key []byte) bool {
	for _, m := range list {
		if m.Key == string(key) {
			return true
		}
	}
	return false
}
