package jsonbytes

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"sync"
)

// Canonical returns src with object keys sorted and insignificant
// space removed, so key order or indentation never counts as a change.
// Strings and numbers are kept as the provider wrote them.
func Canonical(src []byte) ([]byte, error) {
	form, p, err := canonicalize(src)
	out := bytes.Clone(form)
	p.release()
	return out, err
}

// CanonicalString is string(Canonical(src)) with one copy of the form
// instead of two: the store keeps Raw as a string.
func CanonicalString(src []byte) (string, error) {
	form, p, err := canonicalize(src)
	out := string(form)
	p.release()
	return out, err
}

// Form is the canonical form of a JSON value, for a caller that may not
// need a copy of it: the store hashes every record's Raw but keeps only
// those that changed, a few in a re-pull.
type Form struct {
	b []byte
	p *canon
}

// CanonicalForm returns the canonical form of src, which is src itself
// when src is canonical already. Its bytes are valid until Release.
func CanonicalForm(src []byte) (Form, error) {
	form, p, err := canonicalize(src)
	return Form{form, p}, err
}

// Bytes returns the form, valid until Release; the caller must not
// modify it.
func (f Form) Bytes() []byte { return f.b }

// Release hands the form's buffer back, when it has one of its own.
func (f Form) Release() { f.p.release() }

var errInvalid = errors.New("not valid JSON")

// canonicalize returns the canonical form of src: src itself when it is
// already canonical, which the validating pass finds out (the fetchers'
// filters write canonical output, so that is the common case); else the
// pooled walker's buffer, which the caller reads before releasing p.
func canonicalize(src []byte) (form []byte, p *canon, err error) {
	switch canonical, valid := check(src); {
	case !valid:
		return nil, nil, errInvalid
	case canonical:
		return src, nil, nil
	}
	p = canonPool.Get().(*canon)
	p.s, p.i, p.tmp, p.ms = src, 0, p.tmp[:0], p.ms[:0]
	p.value()
	return p.tmp, p, nil
}

func (p *canon) release() {
	if p != nil {
		p.s = nil
		canonPool.Put(p)
	}
}

var canonPool = sync.Pool{New: func() any { return new(canon) }}

// canon walks JSON already known to be valid, writing the canonical form
// to tmp. Objects write their members to tmp, then their sorted form after
// them, and move that down over the members: one buffer, no allocation per
// object once warm.
type canon struct {
	s   []byte
	i   int
	tmp []byte
	ms  []member
}

// member is one object member: its key (a span of s, or decoded when it
// has escapes) and its canonical "key":value span in tmp.
type member struct {
	ks, ke     int
	esc        []byte
	start, end int
}

func (p *canon) key(m *member) []byte {
	if m.esc != nil {
		return m.esc
	}
	return p.s[m.ks:m.ke]
}

func (p *canon) space() { p.i = Space(p.s, p.i) }

// delim marks the bytes that end a number or literal.
var delim = [256]bool{' ': true, '\t': true, '\n': true, '\r': true, ',': true, ']': true, '}': true}

func (p *canon) value() {
	p.space()
	switch p.s[p.i] {
	case '{':
		p.object()
	case '[':
		p.i++
		p.tmp = append(p.tmp, '[')
		for first := true; ; first = false {
			p.space()
			if p.s[p.i] == ']' {
				p.i++
				p.tmp = append(p.tmp, ']')
				return
			}
			if !first {
				p.i++ // ','
				p.tmp = append(p.tmp, ',')
			}
			p.value()
		}
	case '"':
		start := p.i
		p.skipString()
		p.tmp = append(p.tmp, p.s[start:p.i]...)
	default:
		start := p.i
		for p.i < len(p.s) && !delim[p.s[p.i]] {
			p.i++
		}
		p.tmp = append(p.tmp, p.s[start:p.i]...)
	}
}

// skipString moves past the string at p.i and reports whether it has
// escapes.
func (p *canon) skipString() (escaped bool) {
	p.i, escaped, _ = StringEnd(p.s, p.i)
	return escaped
}

func (p *canon) object() {
	p.i++ // '{'
	tmpBase, msBase := len(p.tmp), len(p.ms)
	for {
		p.space()
		if p.s[p.i] == '}' {
			p.i++
			break
		}
		if p.s[p.i] == ',' {
			p.i++
			continue
		}
		start := p.i
		escaped := p.skipString()
		m := member{ks: start + 1, ke: p.i - 1, start: len(p.tmp)}
		if escaped {
			var k string
			json.Unmarshal(p.s[start:p.i], &k) // valid JSON: cannot fail
			m.esc = []byte(k)
		}
		p.tmp = append(p.tmp, p.s[start:p.i]...)
		p.tmp = append(p.tmp, ':')
		p.space()
		p.i++ // ':'
		p.value()
		m.end = len(p.tmp)
		p.ms = append(p.ms, m)
	}
	ms := p.ms[msBase:]
	cmp := func(a, b member) int { return bytes.Compare(p.key(&a), p.key(&b)) }
	if !slices.IsSortedFunc(ms, cmp) {
		slices.SortStableFunc(ms, cmp)
	}
	res := len(p.tmp)
	p.tmp = append(p.tmp, '{')
	for i, m := range ms {
		if i > 0 {
			p.tmp = append(p.tmp, ',')
		}
		p.tmp = append(p.tmp, p.tmp[m.start:m.end]...)
	}
	p.tmp = append(p.tmp, '}')
	n := copy(p.tmp[tmpBase:], p.tmp[res:])
	p.tmp, p.ms = p.tmp[:tmpBase+n], p.ms[:msBase]
}
