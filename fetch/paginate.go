package fetch

import "fmt"

// DefaultMaxPages bounds any one listing: 100,000 pages of 500 is 50M
// records, far past any tenant, and short of forever.
const DefaultMaxPages = 100_000

// Pages guards a paginated listing against a server that hands back a token
// it gave before (an endless loop) or never stops.
type Pages struct {
	What string // "list users"
	Max  int    // 0: DefaultMaxPages
	seen map[string]struct{}
	n    int
}

// NewPages returns a guard for the listing named what.
func NewPages(what string) *Pages { return &Pages{What: what} }

// Next records that the listing moves on to the page named token (a cursor,
// a next URL, an offset) and fails when that page was seen before or the
// listing runs past Max pages.
func (p *Pages) Next(token string) error {
	if p.seen == nil {
		p.seen = make(map[string]struct{})
	}
	if _, dup := p.seen[token]; dup {
		return fmt.Errorf("%s: the server returned a pagination token it had returned before (page %d); refusing to loop", p.What, p.n+1)
	}
	p.seen[token] = struct{}{}
	p.n++
	max := p.Max
	if max == 0 {
		max = DefaultMaxPages
	}
	if p.n > max {
		return fmt.Errorf("%s: more than %d pages; refusing to go on", p.What, max)
	}
	return nil
}

// Count is the number of pages moved on to.
func (p *Pages) Count() int { return p.n }
