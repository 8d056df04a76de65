package zitadel

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
)

// sameAsJSON checks that T's reader, where it accepts b, reads what
// json.Unmarshal reads, and accepts only what json.Unmarshal accepts.
func sameAsJSON[T any, P interface {
	*T
	read([]byte) bool
}](t *testing.T, b []byte) bool {
	t.Helper()
	return sameRead(t, b, func(v *T, b []byte) bool { return P(v).read(b) })
}

// sameRead checks that read, where it accepts b, reads what json.Unmarshal
// reads into a T, and accepts only what json.Unmarshal accepts.
func sameRead[T any](t *testing.T, b []byte, read func(*T, []byte) bool) bool {
	t.Helper()
	var fast, slow T
	if !read(&fast, b) {
		return false
	}
	if err := json.Unmarshal(b, &slow); err != nil {
		t.Errorf("read(%s) = true, but json.Unmarshal: %v", b, err)
		return true
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Errorf("read(%s) = %+v, json.Unmarshal %+v", b, fast, slow)
	}
	return true
}

func checkReaders(t *testing.T, b []byte) {
	t.Helper()
	if !json.Valid(b) {
		return // rows come from a page json.Unmarshal validated
	}
	sameAsJSON[apiUser](t, b)
	sameAsJSON[apiProject](t, b)
	sameAsJSON[apiRole](t, b)
	sameAsJSON[apiGrant](t, b)
	sameOneWalk(t, b)
}

// sameOneWalk holds the readers that decode and clean a row in one walk
// to the reader and the filter run apart: the same value, the same clean
// form (or the same error), wherever either path takes the row.
func sameOneWalk(t *testing.T, b []byte) {
	t.Helper()
	u, cleaned, err := readUser(b)
	wantU, wantErr := jsonscan.Decode(b, (*apiUser).read)
	if (err != nil) != (wantErr != nil) || !reflect.DeepEqual(u, wantU) {
		t.Errorf("readUser(%s) = %+v, %v; jsonscan.Decode %+v, %v", b, u, err, wantU, wantErr)
	}
	if cleaned != nil {
		want, err := clean(b, noiseFilter, noise)
		if err != nil || !bytes.Equal(cleaned, want) {
			t.Errorf("readUser(%s) cleaned it to %s; clean: %s, %v", b, cleaned, want, err)
		}
	}
	gb := newGrantBuf()
	gb.clean = append(gb.clean, "left over"...)
	filtered, err := gb.read(b)
	wantG, wantErr := jsonscan.Decode(b, (*apiGrant).read)
	if (err != nil) != (wantErr != nil) || err == nil && !reflect.DeepEqual(gb.g, wantG) {
		t.Errorf("grantBuf.read(%s) = %+v, %v; jsonscan.Decode %+v, %v", b, gb.g, err, wantG, wantErr)
	}
	if err == nil {
		want, wantOK := grantFilter.Object(nil, b)
		if filtered != wantOK || filtered && !bytes.Equal(gb.clean, want) {
			t.Errorf("grantBuf.read(%s) cleaned it to %s, %v; grantFilter.Object: %s, %v", b, gb.clean, filtered, want, wantOK)
		}
	}
}

var readerCases = []struct {
	name string
	row  string
	fast bool // the apiUser reader takes it
}{
	{"human", `{"id":"1","details":{"sequence":"3","creationDate":"2024-01-02T09:01:00Z","resourceOwner":"9"},"state":"USER_STATE_ACTIVE","userName":"ada","loginNames":["ada@x"],"human":{"profile":{"firstName":"Ada","displayName":"Ada L"},"email":{"email":"a@x","isEmailVerified":true},"phone":{}}}`, true},
	{"machine", ` { "id" : "2" , "machine" : { "name" : "svc", "description": "d\"}" } } `, true},
	{"null members", `{"id":null,"human":null,"machine":null,"details":null}`, true},
	{"utf-8 and escapes", `{"id":"1","userName":"m\u00fcller","human":{"profile":{"displayName":"Müller \"M\""}}}`, true},
	{"invalid utf-8", "{\"userName\":\"\xff\"}", true},
	{"empty", `{}`, true},
	{"case-folded key", `{"ID":"1"}`, false},
	{"non-ascii key", `{"ſtate":"x"}`, false},
	{"escaped key", `{"i\u0064":"1"}`, false},
	{"number for string", `{"id":1}`, false},
	{"string for bool", `{"human":{"email":{"isEmailVerified":"true"}}}`, false},
	{"duplicate key", `{"id":"1","id":"2","human":{"profile":{"firstName":"a"}},"human":{"profile":{"lastName":"b"}}}`, true},
	{"null row", `null`, false},
	{"array row", `[]`, false},
}

func TestReaders(t *testing.T) {
	for _, tt := range readerCases {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameAsJSON[apiUser](t, []byte(tt.row)); got != tt.fast {
				t.Errorf("apiUser read(%s) = %v, want %v", tt.row, got, tt.fast)
			}
			checkReaders(t, []byte(tt.row))
		})
	}
	grants := []string{
		`{"id":"g","roleKeys":["admin","viewer"],"userId":"u","projectId":"p","userName":"x","details":{"resourceOwner":"o"}}`,
		`{"roleKeys":[]}`, `{"roleKeys":null}`, `{"roleKeys":[ "a" , "b" ]}`, `{"roleKeys":["a",null]}`, `{"roleKeys":[1]}`,
		`{"id":"g","id":"h"}`, `{"userId":"u","userName":"a","userName":"b"}`, `{"i\u0064":"g"}`, `{"ID":"g"}`,
		`{"details":{"sequence":"1","changeDate":"x","resourceOwner":"o","creationDate":"c"},"state":"S","email":"<&>"}`,
		`{"roleKeys":["a"],"userName":"\u00fc\"","orgId":"\u003c"}`, `{"projectId":1}`, `{"id":"g","details":null}`,
	}
	for _, g := range grants {
		checkReaders(t, []byte(g))
	}
}

// FuzzReaders compares the fast readers with json.Unmarshal.
func FuzzReaders(f *testing.F) {
	for _, tt := range readerCases {
		f.Add([]byte(tt.row))
	}
	f.Add([]byte(`{"id":"g","roleKeys":["admin","viewer"],"userId":"u","projectId":"p","details":{"resourceOwner":"o"}}`))
	f.Add([]byte(`{"key":"admin","details":{"creationDate":"x"},"displayName":"Admin","group":[{"a":[1,2,{"b":"]}"}]}]}`))
	f.Fuzz(checkReaders)
}
