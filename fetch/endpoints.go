package fetch

import (
	"cmp"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/idsnap/idsnap"
)

// The endpoints a pull read, for the evidence's IPE block: each distinct
// method, path and row-selecting parameters, with how many requests went
// there. Paging parameters are left out (they differ on every page), path
// segments holding a digit become {id} (one organization's members is the
// same endpoint as another's, and the record stays small for ten thousand
// organizations), and nothing secret-looking is kept.

// pagingParams differ per page of one listing.
var pagingParams = map[string]bool{
	"next_token": true, "page_token": true, "pagetoken": true, "offset": true, "page": true,
	"cursor": true, "after": true, "starting_after": true,
}

type endpointLog struct {
	mu     sync.Mutex
	seen   map[idsnap.Endpoint]int
	totals []idsnap.ProviderTotal
}

func (l *endpointLog) note(method string, u *url.URL, body []byte) {
	q := u.Query()
	for k := range q {
		if pagingParams[strings.ToLower(k)] || secretLooking(k) {
			q.Del(k)
		}
	}
	params := q.Encode()
	if len(body) > 0 {
		var v any
		if json.Unmarshal(body, &v) == nil {
			if b, err := json.Marshal(dropPaging(v)); err == nil {
				params = strings.TrimPrefix(params+" "+string(b), " ")
			}
		}
	}
	e := idsnap.Endpoint{Method: method, Path: genericPath(u.EscapedPath()), Params: params}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[idsnap.Endpoint]int{}
	}
	l.seen[e]++
}

// apiVersion is a path segment naming an API version (v1, v2beta), not an id.
var apiVersion = regexp.MustCompile(`^v[0-9]+((alpha|beta)[0-9]*)?$`)

// genericPath writes path segments holding a digit as {id}, API versions
// excepted.
func genericPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.ContainsAny(s, "0123456789") && !apiVersion.MatchString(s) {
			segs[i] = "{id}"
		}
	}
	return strings.Join(segs, "/")
}

// dropPaging removes paging and secret-looking keys from a JSON body.
func dropPaging(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if pagingParams[strings.ToLower(k)] || secretLooking(k) {
				delete(x, k)
				continue
			}
			x[k] = dropPaging(val)
		}
	case []any:
		for i := range x {
			x[i] = dropPaging(x[i])
		}
	}
	return v
}

func secretLooking(k string) bool {
	k = strings.ToLower(k)
	return strings.Contains(k, "secret") || strings.Contains(k, "token") || strings.Contains(k, "password") || k == "key" || strings.HasSuffix(k, "_key")
}

// Endpoints lists the endpoints read so far, sorted by path and method.
func (c *Client) Endpoints() []idsnap.Endpoint {
	c.ep.mu.Lock()
	defer c.ep.mu.Unlock()
	out := make([]idsnap.Endpoint, 0, len(c.ep.seen))
	for e, n := range c.ep.seen {
		e.Requests = n
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b idsnap.Endpoint) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Method, b.Method), strings.Compare(a.Params, b.Params))
	})
	return out
}

// NoteTotal records a total the provider reported for a listing at
// endpoint ("METHOD /path") and the rows read against it. Fetchers call it
// only once the two matched. Listings of one generic endpoint (each
// project's roles) add up.
func (c *Client) NoteTotal(endpoint string, total, read uint64) {
	method, path, _ := strings.Cut(endpoint, " ")
	endpoint = method + " " + genericPath(path)
	c.ep.mu.Lock()
	defer c.ep.mu.Unlock()
	for i := range c.ep.totals {
		if t := &c.ep.totals[i]; t.Endpoint == endpoint {
			t.Total, t.Read, t.Listings = t.Total+total, t.Read+read, t.Listings+1
			return
		}
	}
	c.ep.totals = append(c.ep.totals, idsnap.ProviderTotal{Endpoint: endpoint, Total: total, Read: read, Listings: 1})
}

// Totals lists the provider totals noted, sorted by endpoint.
func (c *Client) Totals() []idsnap.ProviderTotal {
	c.ep.mu.Lock()
	defer c.ep.mu.Unlock()
	out := slices.Clone(c.ep.totals)
	slices.SortStableFunc(out, func(a, b idsnap.ProviderTotal) int { return strings.Compare(a.Endpoint, b.Endpoint) })
	return out
}
