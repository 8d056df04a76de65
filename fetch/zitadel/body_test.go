package zitadel

import "testing"

func TestParseBody(t *testing.T) {
	for _, tc := range []struct{ name, body, code, msg string }{
		{"gateway", `{"code":16,"message":"Token is invalid (AUTH-7fs1e)","details":[]}`, "", "Token is invalid (AUTH-7fs1e)"},
		{"id in details", `{"code":7,"message":"No matching permissions found","details":[{"id":"AUTH-5mWD2","message":"x"}]}`, "", "No matching permissions found (AUTH-5mWD2)"},
		{"folded", "{\"code\":3,\"message\":\"a\\n b\"}", "", "a b"},
		{"oauth2", `{"error":"invalid_token","error_description":"expired"}`, "invalid_token", "expired"},
		{"plain text", "upstream connect error", "", "upstream connect error"},
	} {
		if code, msg := parseBody([]byte(tc.body)); code != tc.code || msg != tc.msg {
			t.Errorf("%s: parseBody = %q, %q; want %q, %q", tc.name, code, msg, tc.code, tc.msg)
		}
	}
}
