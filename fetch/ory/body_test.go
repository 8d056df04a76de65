package ory

import "testing"

func TestParseBody(t *testing.T) {
	for _, tc := range []struct{ name, body, code, msg string }{
		{"reason", `{"error":{"code":404,"status":"Not Found","reason":"no identity","message":"The requested resource could not be found"}}`, "Not Found", "no identity"},
		{"without reason", `{"error":{"code":401,"status":"Unauthorized","message":"The request could not be authorized"}}`, "Unauthorized", "The request could not be authorized"},
		{"oauth2", `{"error":"invalid_token","error_description":"expired"}`, "invalid_token", "expired"},
		{"plain text", "upstream connect error", "", "upstream connect error"},
	} {
		if code, msg := parseBody([]byte(tc.body)); code != tc.code || msg != tc.msg {
			t.Errorf("%s: parseBody = %q, %q; want %q, %q", tc.name, code, msg, tc.code, tc.msg)
		}
	}
}
