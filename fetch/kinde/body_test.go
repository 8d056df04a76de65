package kinde

import "testing"

func TestParseBody(t *testing.T) {
	for _, tc := range []struct{ name, body, code, msg string }{
		{"list", `{"errors":[{"code":"SCOPE_MISSING","message":"Scope is missing: read:users"}]}`, "SCOPE_MISSING", "Scope is missing: read:users"},
		{"object", `{"errors":{"code":"ROUTE_NOT_FOUND","message":"The requested API route does not exist"}}`, "ROUTE_NOT_FOUND", "The requested API route does not exist"},
		{"oauth2", `{"error":"invalid_client","error_description":"Client authentication failed"}`, "invalid_client", "Client authentication failed"},
		{"plain text", "upstream connect error", "", "upstream connect error"},
		{"empty list", `{"errors":[]}`, "", ""},
	} {
		if code, msg := parseBody([]byte(tc.body)); code != tc.code || msg != tc.msg {
			t.Errorf("%s: parseBody = %q, %q; want %q, %q", tc.name, code, msg, tc.code, tc.msg)
		}
	}
}
