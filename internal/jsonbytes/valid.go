package jsonbytes

import "bytes"

// maxDepth is encoding/json's nesting limit: deeper input is not valid.
const maxDepth = 10000

// Valid reports whether b is one JSON value, as json.Valid does (white
// space around it allowed, strings not checked for UTF-8, nesting up to
// 10,000). It is a plain recursive descent, several times faster than
// encoding/json's table-driven scanner, which was the store's largest
// cost per unchanged record.
func Valid(b []byte) bool {
	v := validator{b: b, loose: true}
	return v.all()
}

// check is Valid that also reports whether b is canonical already, that
// is whether Canonical would return it unchanged: no white space outside
// strings, and each object's keys in order (equal keys allowed: the sort
// is stable). A key with escapes counts as not canonical, since the walker
// orders it by its decoded form.
func check(b []byte) (canonical, valid bool) {
	v := validator{b: b}
	valid = v.all()
	return valid && !v.loose, valid
}

type validator struct {
	b []byte
	i int
	// loose is set once b is known not to be canonical (from the start
	// when nobody asked), which ends the checks for it.
	loose bool
}

func (v *validator) all() bool {
	v.space()
	if !v.value(0) {
		return false
	}
	v.space()
	return v.i == len(v.b)
}

// space moves past white space, which canonical JSON has none of.
func (v *validator) space() {
	if j := Space(v.b, v.i); j != v.i {
		v.i, v.loose = j, true
	}
}

func (v *validator) value(depth int) bool {
	b := v.b
	if v.i >= len(b) {
		return false
	}
	switch c := b[v.i]; {
	case c == '{':
		return v.object(depth + 1)
	case c == '[':
		return v.array(depth + 1)
	case c == '"':
		return v.string()
	case c == '-' || c >= '0' && c <= '9':
		return v.number()
	case c == 't':
		return v.literal("true")
	case c == 'f':
		return v.literal("false")
	case c == 'n':
		return v.literal("null")
	}
	return false
}

func (v *validator) literal(lit string) bool {
	if len(v.b)-v.i < len(lit) || string(v.b[v.i:v.i+len(lit)]) != lit {
		return false
	}
	v.i += len(lit)
	return true
}

func (v *validator) object(depth int) bool {
	more, ok := v.open('}', depth)
	var prev []byte // the last key, while the keys are in order
	for ok && more {
		b := v.b
		ks := v.i
		if v.i >= len(b) || b[v.i] != '"' || !v.string() {
			return false
		}
		if !v.loose {
			key := b[ks+1 : v.i-1]
			if bytes.IndexByte(key, '\\') >= 0 || bytes.Compare(prev, key) > 0 {
				v.loose = true
			}
			prev = key
		}
		v.space()
		if v.i >= len(b) || b[v.i] != ':' {
			return false
		}
		v.i++
		v.space()
		if !v.value(depth) {
			return false
		}
		more, ok = v.after('}')
	}
	return ok
}

func (v *validator) array(depth int) bool {
	more, ok := v.open(']', depth)
	for ok && more {
		if !v.value(depth) {
			return false
		}
		more, ok = v.after(']')
	}
	return ok
}

// open moves past the '{' or '[' at v.i: more is false when close follows
// at once (and is passed).
func (v *validator) open(close byte, depth int) (more, ok bool) {
	if depth > maxDepth {
		return false, false
	}
	v.i++
	v.space()
	if v.i < len(v.b) && v.b[v.i] == close {
		v.i++
		return false, true
	}
	return true, true
}

// after reads what follows a member or element: a comma (more follows) or
// close.
func (v *validator) after(close byte) (more, ok bool) {
	v.space()
	if v.i >= len(v.b) {
		return false, false
	}
	switch v.b[v.i] {
	case ',':
		v.i++
		v.space()
		return true, true
	case close:
		v.i++
		return false, true
	}
	return false, false
}

func (v *validator) string() bool {
	b := v.b
	for i := v.i + 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			v.i = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			i++
			if i >= len(b) {
				return false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return false
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return false
					}
				}
				i += 4
			default:
				return false
			}
		}
	}
	return false
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func (v *validator) number() bool {
	b, i := v.b, v.i
	if b[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	v.i = i
	return true
}
