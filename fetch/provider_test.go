package fetch

import (
	"testing"

	"github.com/idsnap/idsnap"
)

func TestRequire(t *testing.T) {
	settings := []Setting{
		{Key: "base_url", URL: true, Required: true, Help: "the domain"},
		{Key: "client_id", Required: true, Help: "the client"},
		{Key: "token", Secret: true, Required: true, Help: "the token"},
		{Key: "org", Help: "optional"},
	}
	full := idsnap.Source{BaseURL: "https://x", Settings: map[string]string{"client_id": "c"}, Secrets: map[string]idsnap.Secret{"token": "t"}}
	for _, tc := range []struct {
		name string
		src  idsnap.Source
		want string
	}{
		{"all set", full, ""},
		{"no url", idsnap.Source{Settings: full.Settings, Secrets: full.Secrets}, "base_url is required: the domain"},
		{"blank plain", idsnap.Source{BaseURL: "https://x", Settings: map[string]string{"client_id": " "}, Secrets: full.Secrets}, "client_id is required: the client"},
		{"no secret", idsnap.Source{BaseURL: "https://x", Settings: full.Settings}, "token is required: the token"},
	} {
		err := Require(tc.src, settings)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: Require = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://a.example/x", ""},
		{" http://127.0.0.1:4434 ", ""},
		{"a.example", "not an absolute http(s) URL: write it as https://eg"},
		{"ftp://a.example", "not an absolute http(s) URL: write it as https://eg"},
		{"https:opaque", "not an absolute http(s) URL: write it as https://eg"},
		{"https://u:p@a.example", "must not hold credentials: put them in token"},
		{"https://a.example/?q=1", "must not hold a query or fragment: write it as https://eg"},
		{"https://a.example/?", "must not hold a query or fragment: write it as https://eg"},
		{"https://a.example/#f", "must not hold a query or fragment: write it as https://eg"},
	} {
		_, err := ParseURL(tc.in, "https://eg", "token")
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("ParseURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
