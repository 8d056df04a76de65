package fetch

import (
	"errors"
	"strings"
	"testing"
)

// TestParseBody: the shapes no provider owns; each provider tests its own.
func TestParseBody(t *testing.T) {
	tests := []struct {
		name, body, code, msg string
	}{
		{"code and message", `{"code":16,"message":"Token is invalid (AUTH-7fs1e)","details":[]}`, "16", "Token is invalid (AUTH-7fs1e)"},
		{"a provider's shape", `{"errors":[{"code":"SCOPE_MISSING","message":"Scope is missing: read:users"}]}`, "", ""},
		{"oauth2", `{"error":"invalid_client","error_description":"Client authentication failed"}`, "invalid_client", "Client authentication failed"},
		{"plain text", "upstream connect error\nor disconnect", "", "upstream connect error or disconnect"},
		{"html", "<!DOCTYPE html><html><body>nginx</body></html>", "", ""},
		{"empty", "", "", ""},
		{"bad json", `{"errors":`, "", ""},
		{"unknown shape", `{"foo":1}`, "", ""},
		{"long message", `{"message":"` + strings.Repeat("x", 400) + `"}`, "", strings.Repeat("x", 300) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := ParseBody([]byte(tt.body))
			if code != tt.code || msg != tt.msg {
				t.Errorf("ParseBody(%.40q) = %q, %q; want %q, %q", tt.body, code, msg, tt.code, tt.msg)
			}
		})
	}
}

func TestHTTPErrorText(t *testing.T) {
	tests := []struct {
		e    HTTPError
		want string
	}{
		{HTTPError{Method: "GET", Path: "/api/v1/users", Status: 403, Code: "SCOPE_MISSING", Message: "Scope is missing: read:users"}, "403 from GET /api/v1/users: SCOPE_MISSING: Scope is missing: read:users"},
		{HTTPError{Method: "GET", Path: "/x", Status: 500, Message: "boom"}, "500 from GET /x: boom"},
		{HTTPError{Method: "GET", Path: "/x", Status: 400, Code: "BAD"}, "400 from GET /x: BAD"},
		{HTTPError{Method: "GET", Path: "/x", Status: 307, Location: "https://elsewhere/"}, "307 from GET /x: redirected to https://elsewhere/"},
		{HTTPError{Method: "GET", Path: "/x", Status: 404, ContentType: "text/html", Body: []byte("<html>")}, "404 from GET /x: the server answered with an HTML page, not the API"},
		{HTTPError{Method: "GET", Path: "/x", Status: 404}, "404 from GET /x"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestHint(t *testing.T) {
	he := &HTTPError{Method: "GET", Path: "/x", Status: 403, Code: "DENIED", Message: "no"}
	for _, tc := range []struct {
		h    Hint
		want string
	}{
		{Hint{Err: he, Fix: "grant it"}, "403 from GET /x: DENIED: no; grant it"},
		{Hint{Err: he, What: "the app lacks read:x", Fix: "grant it"}, "403 from GET /x: the app lacks read:x; grant it"},
		{Hint{Err: he, What: "denied"}, "403 from GET /x: denied"},
		{Hint{Err: &DecodeError{Method: "GET", Path: "/x", Err: errors.New("eof")}, What: "ignored", Fix: "check base_url"}, "GET /x: malformed JSON: eof; check base_url"},
	} {
		if got := tc.h.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		var got *HTTPError
		if _, isHTTP := tc.h.Err.(*HTTPError); isHTTP && (!errors.As(&tc.h, &got) || got != he) {
			t.Errorf("%q does not unwrap to its HTTPError", tc.want)
		}
	}
}
