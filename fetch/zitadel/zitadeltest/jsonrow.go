package zitadeltest

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Rows are written by hand rather than by encoding/json, whose reflection
// was most of the cost of a page none of whose rows was cached yet. Each
// shape is defined by a struct in shapes_test.go, and TestRowsMatchShapes
// holds every row equal to encoding/json's encoding of its struct.

// jsonObject appends an object's members as encoding/json writes a struct
// whose fields are all omitempty: in field order, zero values left out.
type jsonObject struct {
	b []byte
	n int // members so far
}

// openRow starts a row's object after b.
func openRow(b []byte) jsonObject { return jsonObject{b: append(b, '{')} }

// end closes the row's object and returns the bytes.
func (o *jsonObject) end() []byte { return append(o.b, '}') }

// open starts a member that is an object, present even when empty, as a
// non-nil pointer to a struct is; pass what it returns to close.
func (o *jsonObject) open(key string) (outer int) {
	o.member(key)
	o.b = append(o.b, '{')
	outer, o.n = o.n, 0
	return outer
}

func (o *jsonObject) close(outer int) {
	o.b = append(o.b, '}')
	o.n = outer
}

func (o *jsonObject) member(key string) {
	if o.n > 0 {
		o.b = append(o.b, ',')
	}
	o.n++
	o.b = append(o.b, '"')
	o.b = append(o.b, key...)
	o.b = append(o.b, '"', ':')
}

func (o *jsonObject) str(key, v string) {
	if v != "" {
		o.member(key)
		o.b = appendJSONString(o.b, v)
	}
}

func (o *jsonObject) strs(key string, vs []string) {
	if len(vs) == 0 {
		return
	}
	o.member(key)
	o.b = append(o.b, '[')
	for i, v := range vs {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendJSONString(o.b, v)
	}
	o.b = append(o.b, ']')
}

func (o *jsonObject) flag(key string, v bool) {
	if v {
		o.member(key)
		o.b = append(o.b, "true"...)
	}
}

// uint64 writes n as protojson does: a string, omitted when zero (u64).
func (o *jsonObject) uint64(key string, n uint64) {
	if n != 0 {
		o.member(key)
		o.b = append(o.b, '"')
		o.b = strconv.AppendUint(o.b, n, 10)
		o.b = append(o.b, '"')
	}
}

// time writes t as ts does; RFC 3339 has nothing JSON escapes.
func (o *jsonObject) time(key string, t time.Time) {
	if !t.IsZero() {
		o.member(key)
		o.b = append(o.b, '"')
		o.b = t.UTC().AppendFormat(o.b, time.RFC3339Nano)
		o.b = append(o.b, '"')
	}
}

// details writes the details member as objectDetails shapes it.
func (o *jsonObject) details(seq uint64, created, changed time.Time, owner string) {
	outer := o.open("details")
	o.uint64("sequence", seq)
	o.time("creationDate", created)
	o.time("changeDate", changed)
	o.str("resourceOwner", owner)
	o.close(outer)
}

// appendJSONString appends s quoted as encoding/json quotes it. Printable
// ASCII other than " \ < > & is copied as is; anything else, rare in a
// tenant, goes through encoding/json, so its escaping rules (HTML, invalid
// UTF-8, U+2028) are never restated here.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainJSON[s[i]] {
			q, err := json.Marshal(s)
			if err != nil {
				panic("zitadeltest: encode string: " + err.Error()) // a string always encodes
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plainJSON is the bytes encoding/json copies into a string as they are.
var plainJSON = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = !strings.ContainsRune(`"\<>&`, c)
	}
	return t
}()
