// Package hostile holds the names an attacker who can edit their own
// profile may set in a provider: the strings every output of idsnap is
// tested against (terminal, Markdown, CSV, JSON, evidence, HTML).
package hostile

import "strings"

// Person is one hostile profile. JSON cannot carry invalid UTF-8: a fake
// (like any JSON API) sends it as U+FFFD, so Stored, when set, is the name
// idsnap stores and shows; otherwise it is First + " " + Last.
type Person struct{ First, Last, Email, Stored string }

// People are the hostile profiles.
var People = []Person{
	{"Eve\x1b[31mRED\x1b[0m\x07", "\r\nInjected: line", "eve@example.com", ""},
	{"Mallory\u202egnp.exe", "\u2066x\u2069\u200b", "mallory@example.com", ""},
	{strings.Repeat("A", 10000), strings.Repeat("é", 2000), "long@example.com", ""},
	{`=HYPERLINK("http://evil.example","x")`, "+1+1", "=cmd|' /C calc'!A0@example.com", ""},
	{"-2+3", "@SUM(A1)", "@evil@example.com", ""},
	{"bad\xff\xfe", "name\xc3", "badutf8@example.com", "bad\uFFFD\uFFFD name\uFFFD"},
	{"Null\x00Byte", "Tab\tTab", "nul\x00@example.com", ""},
	{`<script>alert("xss")</script>`, `"><img src=x onerror=alert(1)>`, "x</script><script>alert(2)</script>@example.com", ""},
}
