package ory

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// Link headers exactly as captured from Kratos v26 (testdata/samples) and
// as proxies and other servers write them.
var linkSeeds = []string{
	`</admin/identities?page_size=100&page_token=00000000-0000-0000-0000-000000000000>; rel="first",</admin/identities?page_size=100&page_token=6b666c6a-0299-4e57-a2f5-69d11a8c3f46>; rel="next"`,
	`</admin/identities?page_size=100&page_token=00000000-0000-0000-0000-000000000000>; rel="first"`,
	`</admin/identities?credentials_identifier=user0084%40example.com&page_size=250&page_token=00000000-0000-0000-0000-000000000000>; rel="first"`,
	`</admin/identities?page=0&per_page=100>; rel="first",</admin/identities?page=2&per_page=100>; rel="next",</admin/identities?page=0&per_page=100>; rel="prev",</admin/identities?page=2&per_page=100>; rel="last"`,
	`</admin/identities?page_size=100&page_token=00000000-0000-0000-0000-000000000000>; rel="first", </admin/identities?page_size=100&page_token=30f8507f-0000-4000-8000-000000000000>; rel="next"`,
	`<https://x.projects.oryapis.com/admin/identities?page_token=a,b>; rel=next; title="a, b"`,
	`<a>; rel="first next"`,
	`garbage, <b>; REL="Next"`,
	`<c>; title="x;rel=next", <d>; rel="first"`,
	``,
	`<`,
	`<x; rel="next"`,
}

func TestParseLink(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []Link
		next string
	}{
		{"kratos first and next", []string{linkSeeds[0]}, []Link{
			{"/admin/identities?page_size=100&page_token=00000000-0000-0000-0000-000000000000", "first"},
			{"/admin/identities?page_size=100&page_token=6b666c6a-0299-4e57-a2f5-69d11a8c3f46", "next"},
		}, "/admin/identities?page_size=100&page_token=6b666c6a-0299-4e57-a2f5-69d11a8c3f46"},
		{"kratos last page", []string{linkSeeds[1]}, []Link{
			{"/admin/identities?page_size=100&page_token=00000000-0000-0000-0000-000000000000", "first"},
		}, ""},
		{"legacy four links", []string{linkSeeds[3]}, []Link{
			{"/admin/identities?page=0&per_page=100", "first"},
			{"/admin/identities?page=2&per_page=100", "next"},
			{"/admin/identities?page=0&per_page=100", "prev"},
			{"/admin/identities?page=2&per_page=100", "last"},
		}, "/admin/identities?page=2&per_page=100"},
		{"docs example with space", []string{linkSeeds[4]}, []Link{
			{"/admin/identities?page_size=100&page_token=00000000-0000-0000-0000-000000000000", "first"},
			{"/admin/identities?page_size=100&page_token=30f8507f-0000-4000-8000-000000000000", "next"},
		}, "/admin/identities?page_size=100&page_token=30f8507f-0000-4000-8000-000000000000"},
		{"comma in URL and quoted param, unquoted rel", []string{linkSeeds[5]}, []Link{
			{"https://x.projects.oryapis.com/admin/identities?page_token=a,b", "next"},
		}, "https://x.projects.oryapis.com/admin/identities?page_token=a,b"},
		{"several rels", []string{linkSeeds[6]}, []Link{{"a", "first next"}}, "a"},
		{"junk before, upper-case rel", []string{linkSeeds[7]}, []Link{{"b", "next"}}, "b"},
		{"rel inside a quoted title", []string{linkSeeds[8]}, []Link{{"c", ""}, {"d", "first"}}, ""},
		{"one header per link", []string{`</p1>; rel="first"`, `</p2>; rel="next"`}, []Link{{"/p1", "first"}, {"/p2", "next"}}, "/p2"},
		{"empty", []string{""}, nil, ""},
		{"unterminated", []string{"<x; rel=\"next\""}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseLink(tt.in...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseLink(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := NextURL(tt.in...); got != tt.next {
				t.Errorf("NextURL(%q) = %q, want %q", tt.in, got, tt.next)
			}
		})
	}
}

func TestNextPage(t *testing.T) {
	cur := "http://127.0.0.1:4434/admin/identities?page_size=500"
	tests := []struct {
		name, base, cur, link, want, err string
	}{
		{"path-relative", "http://127.0.0.1:4434/", cur, `</admin/identities?page_size=500&page_token=abc>; rel="next"`, "http://127.0.0.1:4434/admin/identities?page_size=500&page_token=abc", ""},
		{"last page", "http://127.0.0.1:4434/", cur, `</admin/identities?page_size=500&page_token=00000000-0000-0000-0000-000000000000>; rel="first"`, "", ""},
		{"query-relative", "http://127.0.0.1:4434/", cur, `<?page_token=abc>; rel="next"`, "http://127.0.0.1:4434/admin/identities?page_token=abc", ""},
		{"absolute same host", "http://127.0.0.1:4434/", cur, `<http://127.0.0.1:4434/admin/identities?page_token=abc>; rel="next"`, "http://127.0.0.1:4434/admin/identities?page_token=abc", ""},
		{"prefix restored behind a proxy", "https://gw.example/kratos/", "https://gw.example/kratos/admin/identities?page_size=500", `</admin/identities?page_size=500&page_token=abc>; rel="next"`, "https://gw.example/kratos/admin/identities?page_size=500&page_token=abc", ""},
		{"other host refused", "http://127.0.0.1:4434/", cur, `<http://evil.example/admin/identities?page_token=abc>; rel="next"`, "",
			"the server's next-page link points at http://evil.example, not 127.0.0.1:4434; refusing to send the API key there (check base_url and any proxy in front of Ory)"},
		{"other scheme refused", "http://127.0.0.1:4434/", cur, `<https://127.0.0.1:4434/admin/identities>; rel="next"`, "",
			"the server's next-page link points at https://127.0.0.1:4434, not 127.0.0.1:4434; refusing to send the API key there (check base_url and any proxy in front of Ory)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, err := url.Parse(tt.base)
			if err != nil {
				t.Fatal(err)
			}
			f := &Fetcher{base: base}
			got, err := f.nextPage(tt.cur, http.Header{"Link": {tt.link}})
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("nextPage error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("nextPage(%q, %q) = %q, %v, want %q", tt.cur, tt.link, got, err, tt.want)
			}
		})
	}
}

func FuzzParseLink(f *testing.F) {
	for _, s := range linkSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		links := ParseLink(h)
		for _, l := range links {
			// A target never carries its delimiters; a rel is lower-case.
			if strings.Contains(l.URL, ">") {
				t.Errorf("ParseLink(%q): URL %q keeps a delimiter", h, l.URL)
			}
			if l.Rel != strings.ToLower(l.Rel) {
				t.Errorf("ParseLink(%q): rel %q not lower-case", h, l.Rel)
			}
		}
		if n := NextURL(h); n != "" {
			found := false
			for _, l := range links {
				found = found || (l.URL == n && hasRel(l.Rel, "next"))
			}
			if !found {
				t.Errorf("NextURL(%q) = %q, not among %q", h, n, links)
			}
		}
	})
}
