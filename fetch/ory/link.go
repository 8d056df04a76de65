package ory

import (
	"strings"
)

// Link is one link-value of an RFC 8288 Link header.
type Link struct {
	URL string // the target as written between < and >, not yet resolved
	Rel string // the rel parameter, lower-cased; one link-value may name several
}

// ParseLink reads every link-value of the Link header values hs. Kratos
// writes `</admin/identities?page_size=100&page_token=…>; rel="first",</…>;
// rel="next"` (comma-joined, no space, path-relative URLs); other servers
// and proxies put spaces around the separators, leave rel unquoted, or send
// one Link header per link. A value it cannot read is skipped, never fatal:
// a missing next link ends the listing, and the caller decides whether
// that is plausible.
func ParseLink(hs ...string) []Link {
	var out []Link
	for _, h := range hs {
		s := h
		for {
			s = strings.TrimLeft(s, " \t,")
			if s == "" || s[0] != '<' {
				// Not at a link-value: skip to the next comma outside
				// quotes, or stop.
				i := unquoted(s, ',')
				if i < 0 {
					break
				}
				s = s[i+1:]
				continue
			}
			end := strings.IndexByte(s, '>')
			if end < 0 {
				break
			}
			l := Link{URL: strings.TrimSpace(s[1:end])}
			s = s[end+1:]
			// Parameters up to the next comma outside quotes.
			i := unquoted(s, ',')
			params := s
			if i >= 0 {
				params, s = s[:i], s[i+1:]
			} else {
				s = ""
			}
			l.Rel = relOf(params)
			out = append(out, l)
		}
	}
	return out
}

// unquoted finds the first sep of s that is not inside a quoted string,
// or -1.
func unquoted(s string, sep byte) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			return i
		}
	}
	return -1
}

// relOf returns the rel parameter of `; rel="next"; title=x`, lower-cased
// and with quotes removed. Separators inside quoted values do not count.
func relOf(params string) string {
	for params != "" {
		i := unquoted(params, ';')
		p := params
		if i >= 0 {
			p, params = params[:i], params[i+1:]
		} else {
			params = ""
		}
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return strings.ToLower(strings.TrimSpace(v))
	}
	return ""
}

// hasRel reports whether the space-separated rel list names want.
func hasRel(rel, want string) bool {
	for r := range strings.FieldsSeq(rel) {
		if r == want {
			return true
		}
	}
	return false
}

// NextURL returns the target of the first link whose rel names "next", or
// "" when there is none (the last page).
func NextURL(hs ...string) string {
	for _, l := range ParseLink(hs...) {
		if hasRel(l.Rel, "next") {
			return l.URL
		}
	}
	return ""
}
