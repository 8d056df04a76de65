package fetch

import (
	"strings"
	"testing"
)

func TestParseErrorBody(t *testing.T) {
	tests := []struct {
		name, body, code, msg string
	}{
		{"kinde array", `{"errors":[{"code":"SCOPE_MISSING","message":"Scope is missing: read:users"}]}`, "SCOPE_MISSING", "Scope is missing: read:users"},
		{"kinde object", `{"errors":{"code":"ROUTE_NOT_FOUND","message":"The requested API route does not exist"}}`, "ROUTE_NOT_FOUND", "The requested API route does not exist"},
		{"ory", `{"error":{"code":404,"status":"Not Found","reason":"no identity","message":"The requested resource could not be found"}}`, "Not Found", "no identity"},
		{"ory without reason", `{"error":{"code":401,"status":"Unauthorized","message":"The request could not be authorized"}}`, "Unauthorized", "The request could not be authorized"},
		{"zitadel", `{"code":16,"message":"Token is invalid (AUTH-7fs1e)","details":[]}`, "16", "Token is invalid (AUTH-7fs1e)"},
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
			code, msg := parseErrorBody([]byte(tt.body))
			if code != tt.code || msg != tt.msg {
				t.Errorf("parseErrorBody(%.40q) = %q, %q; want %q, %q", tt.body, code, msg, tt.code, tt.msg)
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
