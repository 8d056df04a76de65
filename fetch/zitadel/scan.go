package zitadel

import (
	"encoding/json"
	"unicode/utf8"
)

// The rows of a page are read here without encoding/json, whose
// json.Unmarshal of each row cost more CPU than any other step of a pull:
// it validated the row again (the page it came from had just been
// validated) and matched every key by reflection. The readers below take
// the rows ZITADEL sends: exact keys, strings for strings. On anything
// else (a key with escapes, or one json.Unmarshal would fold onto a field,
// a value of another type) they report false and the row goes through
// json.Unmarshal, so results and errors stay those of encoding/json.

// decode reads raw with T's reader, or with json.Unmarshal where the
// reader declines.
func decode[T any, P interface {
	*T
	read([]byte) bool
}](raw []byte) (T, error) {
	var v T
	if P(&v).read(raw) {
		return v, nil
	}
	var w T
	err := json.Unmarshal(raw, &w)
	return w, err
}

// members calls member with the key and the value of each member of the
// object b, in order; key is as sent, without escapes. It returns false
// when b is not an object of plain keys, or when member returns false.
func members(b []byte, member func(key, val []byte) bool) bool {
	i := space(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = space(b, i+1)
	if i < len(b) && b[i] == '}' {
		return space(b, i+1) == len(b)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		end, escaped, _ := stringEnd(b, i)
		if end < 0 || escaped {
			return false
		}
		key := b[i+1 : end-1]
		i = space(b, end)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = space(b, i+1)
		end = valueEnd(b, i)
		if end < 0 || !member(key, b[i:end]) {
			return false
		}
		i = space(b, end)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = space(b, i+1)
		case '}':
			return space(b, i+1) == len(b)
		default:
			return false
		}
	}
}

func space(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string that starts at b[i] (-1
// when it does not end), whether it has escapes, and whether it has bytes
// outside ASCII.
func stringEnd(b []byte, i int) (end int, escaped, wide bool) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, wide
		case c == '\\':
			escaped = true
			i++
		case c >= 0x80:
			wide = true
		}
	}
	return -1, escaped, wide
}

// valueEnd returns the index after the value that starts at b[i], -1 when
// it does not end.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end, _, _ := stringEnd(b, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	for ; i < len(b); i++ { // a number or a literal
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// str reads a string value into s as json.Unmarshal does; null leaves s.
func str(v []byte, s *string) bool {
	switch {
	case isNull(v):
		return true
	case len(v) < 2 || v[0] != '"':
		return false
	}
	// Without escapes and with valid UTF-8 (json.Unmarshal replaces
	// invalid bytes) a string's bytes are its value.
	if end, escaped, wide := stringEnd(v, 0); end == len(v) && !escaped && (!wide || utf8.Valid(v[1:end-1])) {
		*s = string(v[1 : end-1])
		return true
	}
	return json.Unmarshal(v, s) == nil
}

// boolean reads true or false into p; null leaves p.
func boolean(v []byte, p *bool) bool {
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

// strs reads an array of strings into p; null sets p to nil, as
// json.Unmarshal does. A null element is left to json.Unmarshal.
func strs(v []byte, p *[]string) bool {
	if isNull(v) {
		*p = nil
		return true
	}
	if len(v) == 0 || v[0] != '[' {
		return false
	}
	out := (*p)[:0]
	i := space(v, 1)
	if i < len(v) && v[i] == ']' {
		*p = []string{}
		return space(v, i+1) == len(v)
	}
	for {
		end := valueEnd(v, i)
		var s string
		if end < 0 || isNull(v[i:end]) || !str(v[i:end], &s) {
			return false
		}
		out = append(out, s)
		i = space(v, end)
		if i >= len(v) {
			return false
		}
		switch v[i] {
		case ',':
			i = space(v, i+1)
		case ']':
			*p = out
			return space(v, i+1) == len(v)
		default:
			return false
		}
	}
}

// object reads an object value with members; null leaves it.
func object(v []byte, member func(key, val []byte) bool) bool {
	return isNull(v) || members(v, member)
}

func isNull(v []byte) bool { return string(v) == "null" }

// other says whether key, matching none of the fields a reader takes,
// may be skipped: json.Unmarshal matches keys case-insensitively, so a
// key that folds onto one of fields (or has bytes whose folding the
// readers do not mirror) is left to it.
func other(key []byte, fields ...string) bool {
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

// readDetails reads the details of an object.
func readDetails(v []byte, d *details) bool {
	return object(v, func(k, v []byte) bool {
		switch string(k) {
		case "creationDate":
			return str(v, &d.CreationDate)
		case "resourceOwner":
			return str(v, &d.ResourceOwner)
		}
		return other(k, "creationDate", "resourceOwner")
	})
}
