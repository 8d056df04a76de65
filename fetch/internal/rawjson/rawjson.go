// Package rawjson removes and adds members of a JSON object without
// decoding it into maps: one pass over the bytes, values copied as they
// came. Fetchers use it to drop volatile fields from Record.Raw; a map
// round-trip per record cost more CPU than the rest of a pull.
//
// The output is canonical as jsonbytes.Canonical writes it (every
// object's members in key order, stable for equal keys; no white space),
// so the store's canonicalization of Raw finds nothing to do and is one
// validating pass. Strings are written as a Strings mode says, so that
// the bytes equal, up to member order, what the encoding/json round-trip
// they replace wrote.
// Input that round-trip would have changed in other ways (a duplicate key,
// which a map keeps once; a key with escapes) is refused with ok false,
// and the caller takes the slow path.
package rawjson

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// Filter says what to change in an object. It is safe for concurrent use,
// and must not be copied once used (it keeps what SameKeys learns).
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

	// SameKeys says most objects come with one of a few sets of keys, in
	// the same order each time (the rows of a listing): Object then keeps
	// how the last two such sets sorted and sorts an object that has one
	// of them by that, without comparing keys. Sorting each row's dozen
	// or more members again was a fifth of a ZITADEL grant's walk.
	SameKeys bool

	last [2]atomic.Pointer[keyOrder] // the latest first
}

// order returns the kept keyOrder of ms's keys, or nil.
func (f *Filter) order(w *walker, ms []member) *keyOrder {
	for i := range f.last {
		if o := f.last[i].Load(); o != nil && o.sorts(w, ms) {
			return o
		}
	}
	return nil
}

// keyOrder is how the members of an object with these keys, in this
// order and none twice, sort: a stable sort depends on the keys alone.
type keyOrder struct {
	keys []byte   // the keys, in source order, one after another
	ends []int32  // where each key ends in keys
	pre  []uint64 // each key's member.pre, to tell most keys apart at once
	perm []int32  // perm[j] is the source position of the j-th member in key order
}

// sorts reports whether ms, in source order, have o's keys.
func (o *keyOrder) sorts(w *walker, ms []member) bool {
	if len(ms) != len(o.ends) {
		return false
	}
	start := int32(0)
	for i := range ms {
		if ms[i].pre != o.pre[i] || string(w.key(ms[i])) != string(o.keys[start:o.ends[i]]) {
			return false
		}
		start = o.ends[i]
	}
	return true
}

// orderOf makes the keyOrder of src, members in source order, and sorted,
// the same members sorted, with no key twice.
func orderOf(w *walker, src, sorted []member) *keyOrder {
	o := &keyOrder{ends: make([]int32, len(src)), pre: make([]uint64, len(src)), perm: make([]int32, len(sorted))}
	for i, m := range src {
		o.keys = append(o.keys, w.key(m)...)
		o.ends[i], o.pre[i] = int32(len(o.keys)), m.pre
	}
	for j, m := range sorted {
		for i := range src {
			if src[i].ks == m.ks { // each member's key has a place of its own in s
				o.perm[j] = int32(i)
				break
			}
		}
	}
	return o
}

// Object appends src, a JSON object, to dst without the members f drops,
// and with the members add (each a key and a JSON value, replacing a
// member of that key), every object's members in key order. ok is false when src is not an object this filter
// handles exactly; dst is then returned unchanged.
func (f *Filter) Object(dst, src []byte, add ...Member) (out []byte, ok bool) {
	return f.object(dst, src, false, nil, add)
}

// ObjectFunc is Object that also hands visit the key and the value (as in
// src, from its first byte to its last) of each member of src, dropped or
// kept, in the order they come, for a caller to decode the object in the
// walk that cleans it. ok is also false when visit returns false, which
// ends the walk. Keys are as sent, without escapes (Object refuses those).
func (f *Filter) ObjectFunc(dst, src []byte, visit func(key, val []byte) bool, add ...Member) (out []byte, ok bool) {
	return f.object(dst, src, false, visit, add)
}

// object is Object; keep writes members in the order they came, with add
// last, as Object did before it sorted (tests compare the two).
func (f *Filter) object(dst, src []byte, keep bool, visit func(key, val []byte) bool, add []Member) (out []byte, ok bool) {
	// Member spans are int32, and strings may grow sixfold: no record
	// comes close to these.
	if len(src) > 1<<28 || len(dst) > 1<<28 {
		return dst, false
	}
	w := walker{s: src, f: f, out: dst, keep: keep, visit: visit, sc: scratch.Get().(*scratchBufs)}
	w.sc.ms = w.sc.ms[:0]
	defer func() {
		if recover() != nil { // src ran out: not valid JSON
			out, ok = dst, false
		}
		if cap(w.sc.tmp) <= 64<<10 && cap(w.sc.ms) <= 4<<10 && cap(w.sc.src) <= 4<<10 { // a rare huge one is not kept
			scratch.Put(w.sc)
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

// With appends obj, a compact JSON object, with m added: at its place in
// key order, so that the canonical output of a Filter stays canonical
// (after the members of equal key, as a stable sort puts it).
func With(dst, obj []byte, m Member) []byte {
	end := bytes.LastIndexByte(obj, '}')
	at := end
	for i := 1; i < end && obj[i] == '"'; {
		ke, escaped, _ := jsonbytes.StringEnd(obj, i)
		if ke < 0 || ke >= end {
			break
		}
		if escaped {
			// Its bytes are not its key ("\u0026" is "&"): append at the
			// end, which the store's canonical form sorts as it should.
			at = end
			break
		}
		if string(obj[i+1:ke-1]) > m.Key {
			at = i
			break
		}
		if i = jsonbytes.ValueEnd(obj, ke+1); i < 0 || i >= end {
			break
		}
		i++ // ','
	}
	dst = append(dst, obj[:at]...)
	if at == end && bytes.IndexByte(obj[:end], ':') >= 0 { // after a member
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, m.Key...)
	dst = append(dst, '"', ':')
	dst = append(dst, m.Value...)
	if at < end {
		dst = append(dst, ',')
	}
	return append(dst, obj[at:]...)
}

type walker struct {
	s    []byte
	i    int
	f    *Filter
	out  []byte
	keep bool // members in source order: see Filter.object
	// visit is ObjectFunc's: it gets the outermost object's members.
	visit func(key, val []byte) bool
	sc    *scratchBufs
}

// scratchBufs is where objects are sorted: the members of the objects
// being walked (each object's after its parent's), and the sorted form of
// one object before it goes over the members in out. Pooled: a stack array
// of members per object cost more to clear than the sort.
type scratchBufs struct {
	ms  []member
	src []member // an object's members in source order, while they are sorted
	tmp []byte
}

var scratch = sync.Pool{New: func() any { return new(scratchBufs) }}

// member is one member of the object being walked: its key, a span of s
// (without escapes, so its bytes are its decoded form, the order
// Canonical sorts by), and its "key":value span in out, start < 0 when it
// was dropped.
type member struct {
	pre        uint64 // the key's first 8 bytes, big-endian, zero-padded
	ks, ke     int32
	start, end int32
}

// prefix is member.pre of key k: ordered as the keys are where two
// differ (a key that ends sorts first, as after it comes padding), so
// most comparisons in a sort are one of integers.
func prefix(k []byte) uint64 {
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k)
	}
	var p uint64
	for i, c := range k {
		p |= uint64(c) << (56 - 8*i)
	}
	return p
}

// cmp orders members as Canonical orders their keys: bytewise.
func (w *walker) cmp(a, b member) int {
	if a.pre != b.pre {
		if a.pre < b.pre {
			return -1
		}
		return 1
	}
	return bytes.Compare(w.key(a), w.key(b))
}

func (w *walker) space() { w.i = jsonbytes.Space(w.s, w.i) }

// object copies the object at w.i without drop, adding add. top is the
// outermost object, whose members Objects and Arrays name; unique refuses
// a duplicate key (the round-trip decoded this object into a map).
func (w *walker) object(drop []string, add []Member, top, unique bool) bool {
	base := len(w.out)
	w.i++ // '{'
	w.out = append(w.out, '{')
	// This object's members are w.sc.ms[first:], until it closes. (When
	// Object fails, they are left behind: nothing reads them any more.)
	first := len(w.sc.ms)
	sorted := true // so far, the keys came in order
	for {
		w.space()
		switch w.s[w.i] {
		case '}':
			w.i++
			ok := w.close(base, w.sc.ms[first:], sorted, top, add, unique || w.f.Unique)
			w.sc.ms = w.sc.ms[:first]
			return ok
		case ',':
			w.i++
			continue
		case '"':
		default:
			return false
		}
		m := member{ks: int32(w.i + 1), start: -1}
		end, escaped, wide := jsonbytes.StringEnd(w.s, w.i)
		if end < 0 {
			return false
		}
		w.i = end
		m.ke = int32(w.i - 1)
		key := w.s[m.ks:m.ke]
		if escaped || wide && !utf8.Valid(key) {
			return false
		}
		m.pre = prefix(key)
		if n := len(w.sc.ms); n > first && sorted {
			sorted = w.cmp(w.sc.ms[n-1], m) <= 0
		}
		w.space()
		if w.s[w.i] != ':' {
			return false
		}
		w.i++
		w.space()
		vs := w.i
		if has(drop, key) || hasMember(add, key) {
			// Skipped, not copied: most of a ZITADEL grant is names the
			// filter drops. Input is valid JSON (callers validate pages;
			// on other input Object need only not panic), and what a
			// dropped value holds, duplicates included, leaves no trace
			// in the round-trip's output either.
			if w.i = jsonbytes.ValueEnd(w.s, w.i); w.i < 0 {
				return false
			}
			if top && w.visit != nil && !w.visit(key, w.s[vs:w.i]) {
				return false
			}
			w.sc.ms = append(w.sc.ms, m) // kept for the duplicate check
			continue
		}
		if len(w.out) > base+1 {
			w.out = append(w.out, ',')
		}
		m.start = int32(len(w.out))
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
		if !ok || top && w.visit != nil && !w.visit(key, w.s[vs:w.i]) {
			return false
		}
		m.end = int32(len(w.out))
		w.sc.ms = append(w.sc.ms, m)
	}
}

func (w *walker) key(m member) []byte { return w.s[m.ks:m.ke] }

// close ends the object that starts at out[base], whose members ms are,
// sorted says whether in key order: it refuses a duplicate key when
// unique, and writes the members again in key order, merging add in, when
// they are not in order already. Sorting here rather than in the store
// saves the store a walk and a copy of every record, and finds duplicates
// among neighbours.
func (w *walker) close(base int, ms []member, sorted, top bool, add []Member, unique bool) bool {
	switch {
	case sorted:
	case top && w.f.SameKeys:
		src := append(w.sc.src[:0], ms...)
		w.sc.src = src
		if o := w.f.order(w, ms); o != nil {
			// Keys sorted before: their order, and none twice.
			for j, i := range o.perm {
				ms[j] = src[i]
			}
			unique = false
			break
		}
		w.sort(ms)
		if !w.dup(ms) {
			w.f.last[1].Store(w.f.last[0].Load())
			w.f.last[0].Store(orderOf(w, src, ms))
		}
	default:
		w.sort(ms)
	}
	if unique && w.dup(ms) {
		return false
	}
	if len(add) > 1 && !w.keep && !slices.IsSortedFunc(add, byKey) {
		add = slices.Clone(add)
		slices.SortStableFunc(add, byKey)
	}
	if w.keep || sorted && (len(add) == 0 || len(ms) == 0 || string(w.key(ms[len(ms)-1])) < add[0].Key) {
		// In order already (adds, when kept in order too, come last).
		for _, a := range add {
			w.out = appendMember(w.out, a)
		}
		w.out = append(w.out, '}')
		return true
	}
	// Write the sorted form to the scratch buffer, then over the members:
	// written after them in out, it made out outgrow the capacity its
	// caller gave it, one more allocation per record.
	t := append(w.sc.tmp[:0], '{')
	for _, m := range ms {
		if m.start < 0 {
			continue
		}
		for len(add) > 0 && add[0].Key < string(w.key(m)) {
			t = appendMember(t, add[0])
			add = add[1:]
		}
		if len(t) > 1 {
			t = append(t, ',')
		}
		t = append(t, w.out[m.start:m.end]...)
	}
	for _, a := range add {
		t = appendMember(t, a)
	}
	t = append(t, '}')
	w.out = append(w.out[:base], t...)
	w.sc.tmp = t
	return true
}

// dup reports whether two of ms, sorted, have the same key.
func (w *walker) dup(ms []member) bool {
	for i := 1; i < len(ms); i++ {
		if w.cmp(ms[i-1], ms[i]) == 0 {
			return true
		}
	}
	return false
}

// sort orders ms by key, stably: by insertion for the dozen or so members
// of a record's objects (no call per comparison, as slices.SortStableFunc
// makes), by slices.SortStableFunc for many.
func (w *walker) sort(ms []member) {
	if len(ms) > 32 {
		slices.SortStableFunc(ms, w.cmp)
		return
	}
	for i := 1; i < len(ms); i++ {
		m := ms[i]
		j := i
		for ; j > 0 && w.cmp(ms[j-1], m) > 0; j-- {
			ms[j] = ms[j-1]
		}
		ms[j] = m
	}
}

func byKey(a, b Member) int { return strings.Compare(a.Key, b.Key) }

// appendMember appends "key":value to obj, an object open after '{' or
// after a member: with a comma in the second case.
func appendMember(obj []byte, m Member) []byte {
	if obj[len(obj)-1] != '{' {
		obj = append(obj, ',')
	}
	obj = append(obj, '"')
	obj = append(obj, m.Key...)
	obj = append(obj, '"', ':')
	return append(obj, m.Value...)
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
