package kinde

import (
	"encoding/json"
	"reflect"
	"testing"
)

var userCases = []string{
	`{"id":"kp_1","provided_id":"e-1","email":"a@example.com","username":null,"first_name":"Zoë","last_name":"M\u00fcller","full_name":"A B","is_suspended":true,"created_on":"2025-02-12T18:02:23.614638+00:00","last_signed_in":null,"total_sign_ins":12,"failed_sign_ins":0,"identities":[{"type":"email"}],"billing":null}`,
	`{"id":"kp_2","total_sign_ins":"3","failed_sign_ins":1.5e2}`,
	`{"id":"kp_3","ID":"x","Email":"y"}`,
	`{"id":"kp_4","id":"kp_5","email":"a","email":null}`,
	`{"id":"kp_\ud800","first_name":"\xff"}`,
	`{"id":1}`, `{"is_suspended":"yes"}`, `null`, `[]`, `{}`,
}

// The user reader, with its fallback, decodes what json.Unmarshal does
// and fails where it fails.
func checkUserReader(t *testing.T, b []byte) {
	var want user
	wantErr := json.Unmarshal(b, &want)
	got, err := decodeUser(b)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("decode %q: error %v, json.Unmarshal's %v", b, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decode %q:\n got %+v\nwant %+v", b, got, want)
	}
}

func TestUserReader(t *testing.T) {
	for _, c := range userCases {
		checkUserReader(t, []byte(c))
	}
}

// FuzzUserReader: users come from a page json.Unmarshal validated, so
// only valid JSON is a user the reader sees.
func FuzzUserReader(f *testing.F) {
	for _, c := range userCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if json.Valid(b) {
			checkUserReader(t, b)
		}
	})
}
