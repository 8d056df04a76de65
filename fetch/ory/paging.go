package ory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/internal/ahead"
	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
	"github.com/idsnap/idsnap/internal/jsonbytes"
)

// Fetch lists every identity, page by page, and emits one user record per
// identity. Any error means the listing is incomplete.
func (f *Fetcher) Fetch(ctx context.Context, emit fetch.Emit) error {
	return f.listIdentities(ctx, emit)
}

// listIdentities walks GET /admin/identities by keyset pagination.
// The body is a bare array; the next page exists only as the rel="next"
// URL of the Link header (Ory SDKs hide it, so idsnap parses it). The page
// token inside is opaque: idsnap never builds one, never reads
// X-Total-Count (legacy paging only), and stops when there is no next link.
//
// https://www.ory.com/docs/reference/api#tag/identity/operation/listIdentities
func (f *Fetcher) listIdentities(ctx context.Context, emit fetch.Emit) error {
	const op = "list identities"
	pages := fetch.NewPages(op) // its errors name op already
	cur := f.listURL(PageSize)
	call := f.startPage(ctx, cur, true)
	for {
		// The next link is in the headers, which come before the body: ask
		// for that page as soon as they are in, and read and convert this
		// one while it loads. The page before has been emitted by then,
		// so the listing runs one page ahead and no more.
		var nx step
		if h := <-call.header; h != nil {
			nx = f.stepAfter(ctx, pages, cur, h)
		}
		p, err := call.Wait()
		if err != nil {
			nx.pending.Stop()
			return fmt.Errorf("%s: %w", op, err)
		}
		// A try whose body failed is retried, and the retry may link
		// elsewhere (the identities changed meanwhile): its headers count.
		// The early link stays known to the guard; the walk has moved on
		// from it (keyset tokens grow), so it is not met again unless the
		// identities keep changing under the pull.
		next, nextErr := f.nextPage(cur, p.header)
		if nx.header == nil || next != nx.next || (nextErr == nil) != (nx.nextErr == nil) {
			nx.pending.Stop()
			nx = f.stepAfter(ctx, pages, cur, p.header)
		}
		if err := emitAll(ctx, p.body.items(), emit); err != nil {
			nx.pending.Stop()
			return fmt.Errorf("%s: %w", op, err)
		}
		// A bad link is reported after this page's own errors.
		if nextErr != nil {
			return fmt.Errorf("%s: %w", op, nextErr)
		}
		if nx.guardErr != nil {
			return nx.guardErr
		}
		if nx.pending == nil {
			return nil
		}
		cur, call = nx.next, nx.pending
	}
}

// emitAll converts and emits a page's identities, the two halves in
// parallel. Decoding 500 identities, plus the canonicalizing and hashing
// behind emit, takes longer than the latency: done in one goroutine it
// would set the pace of the whole listing, since the page after next is
// asked for only once this one is emitted. The first error in page order
// is returned.
func emitAll(ctx context.Context, items []json.RawMessage, emit fetch.Emit) error {
	half := len(items) / 2
	var second error
	var wg sync.WaitGroup
	if half > 0 {
		wg.Go(func() { second = emitEach(ctx, items[half:], emit) })
	} else {
		half = len(items)
	}
	first := emitEach(ctx, items[:half], emit)
	wg.Wait()
	if first != nil {
		return first
	}
	return second
}

func emitEach(ctx context.Context, items []json.RawMessage, emit fetch.Emit) error {
	for _, raw := range items {
		rec, err := identityRecord(raw)
		if err == nil {
			err = emit(ctx, rec)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// step is what comes after a page, read from its headers: the next page
// (asked for already), none, or why the listing cannot go on.
type step struct {
	header   http.Header // the headers it was read from; nil: none yet
	next     string
	nextErr  error     // a next link idsnap will not follow
	guardErr error     // from the pagination guard; names op already
	pending  *pageCall // the request for next
}

// stepAfter reads h, the headers of the page at cur, and asks for the next
// page when there is one the guard lets through.
func (f *Fetcher) stepAfter(ctx context.Context, pages *fetch.Pages, cur string, h http.Header) step {
	s := step{header: h}
	s.next, s.nextErr = f.nextPage(cur, h)
	if s.nextErr == nil && s.next != "" {
		if s.guardErr = pages.Next(s.next); s.guardErr == nil {
			s.pending = f.startPage(ctx, s.next, false)
		}
	}
	return s
}

// pageCall is one page being fetched. header gets, once, the headers of
// its first 2xx answer as soon as they are in, or nil when the request
// ended without one; Wait has the page.
type pageCall struct {
	*ahead.Call[identitiesPage]
	header <-chan http.Header
}

// startPage asks for the page at u in the background.
func (f *Fetcher) startPage(ctx context.Context, u string, first bool) *pageCall {
	header := make(chan http.Header, 1)
	send := func(h http.Header) {
		select {
		case header <- h:
		default: // a retry's, or the nil after the first: not needed
		}
	}
	call := ahead.Start(ctx, func(ctx context.Context) (identitiesPage, error) {
		p, err := f.identities(ctx, u, first, send)
		send(nil)
		return p, err
	})
	return &pageCall{Call: call, header: header}
}

// Stop ends c's request; a nil pageCall is a no-op.
func (c *pageCall) Stop() {
	if c != nil {
		c.Call.Stop()
	}
}

// identitiesPage is one page of the listing and the headers it came with.
type identitiesPage struct {
	body   arrayBody
	header http.Header
}

// identities fetches the page at u; first says whether it is the first
// page, which explains errors differently. gotHeader hears the headers of
// each 2xx answer before its body is read.
func (f *Fetcher) identities(ctx context.Context, u string, first bool, gotHeader func(http.Header)) (identitiesPage, error) {
	var p identitiesPage
	resp, err := f.c.Do(ctx, fetch.Request{Method: http.MethodGet, URL: u, Token: f.token, GotHeader: gotHeader}, &p.body)
	if err != nil {
		return p, f.explain(err, first)
	}
	p.header = resp.Header
	return p, nil
}

// arrayBody is a JSON array kept undecoded: splitting it into items waits
// until the next page has been asked for, off the chain of requests. A
// body that is not an array fails as decoding it into []json.RawMessage
// does.
type arrayBody []byte

// UnmarshalJSON keeps b, or fails as []json.RawMessage would.
func (a *arrayBody) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		*a = nil // null: no items
		return nil
	}
	*a = b
	return nil
}

// ReadPage is the fast path of fetch.Client: it keeps an array the client
// has validated, as UnmarshalJSON would, without json.Unmarshal's second
// pass over the page (checkValid, then skip, before UnmarshalJSON sees
// it), which was a sixth of a re-pull's CPU. null is no items; anything
// else is left to json.Unmarshal and its error.
func (a *arrayBody) ReadPage(data []byte) bool {
	v := bytes.TrimRight(data[jsonbytes.Space(data, 0):], " \t\r\n")
	switch {
	case len(v) > 0 && v[0] == '[':
		*a = v
	case jsonscan.IsNull(v):
		*a = nil
	default:
		return false
	}
	return true
}

// items splits the array into its elements, as decoding it into
// []json.RawMessage would, without copying them. The array is valid JSON
// (the client validates a body before ReadPage, json.Unmarshal all its
// input before it calls UnmarshalJSON), so finding where an element ends
// takes no more than skipping strings and counting brackets.
func (a arrayBody) items() []json.RawMessage {
	var items []json.RawMessage
	i := jsonbytes.Space(a, 0) + 1 // past '['
	for {
		i = jsonbytes.Space(a, i)
		if i >= len(a) || a[i] == ']' {
			return items
		}
		end := jsonbytes.ValueEnd(a, i)
		if end < 0 { // not valid JSON: cannot happen, see above
			return items
		}
		items = append(items, json.RawMessage(a[i:end]))
		if i = jsonbytes.Space(a, end); i < len(a) && a[i] == ',' {
			i++
		}
	}
}

// nextPage resolves the rel="next" link of a response to the request at
// cur. Kratos writes it path-relative (`</admin/identities?…>`), built
// from the path it saw: behind a proxy that strips a prefix from base_url,
// that path lacks the prefix, so it is put back. A next link to another
// host is refused: following it would send the API key there.
func (f *Fetcher) nextPage(cur string, h http.Header) (string, error) {
	ref := NextURL(h.Values("Link")...)
	if ref == "" {
		return "", nil
	}
	curURL, err := url.Parse(cur)
	if err != nil {
		return "", fmt.Errorf("bad request URL: %w", err)
	}
	refURL, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("the server's next-page link %q is not a URL", ref)
	}
	u := curURL.ResolveReference(refURL)
	if !strings.EqualFold(u.Scheme, curURL.Scheme) || !strings.EqualFold(u.Host, curURL.Host) {
		return "", fmt.Errorf("the server's next-page link points at %s://%s, not %s; refusing to send the API key there (check base_url and any proxy in front of Ory)", u.Scheme, u.Host, curURL.Host)
	}
	if refURL.Host == "" && strings.HasPrefix(refURL.Path, "/") && f.base.Path != "/" && !strings.HasPrefix(u.Path, f.base.Path) {
		u.Path = f.base.Path + strings.TrimPrefix(refURL.Path, "/")
		u.RawPath = ""
	}
	// Pages of one listing differ only in their query: a link to another
	// path could lead on forever, each page new to the pagination guard.
	if u.Path != curURL.Path {
		return "", fmt.Errorf("the server's next-page link leads to %s, not %s; refusing to follow it (check base_url and any proxy in front of Ory)", u.EscapedPath(), curURL.EscapedPath())
	}
	return u.String(), nil
}
