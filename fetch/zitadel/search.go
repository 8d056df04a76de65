package zitadel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/sourcegraph/conc/pool"

	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
)

// Page sizes. The newest ZITADEL takes 1000 as both default and maximum of
// a v1 list and refuses more with QUERY-4M0fs; v2.7x had no maximum
// (docs/providers.md, ZITADEL: paging). 1000 needs the fewest
// requests under Cloud's rate limit. A self-hosted instance configured with
// a lower MaxQueryLimit refuses 1000; idsnap then falls back to 100, the
// DefaultQueryLimit, for the rest of the pull.
const (
	pageSize         = 1000
	fallbackPageSize = 100
)

// errChanged marks a listing whose rows did not add up to its total: the
// tenant changed while it was paged.
var errChanged = errors.New("the tenant changed during the pull")

// uint64s are JSON strings in protojson; numbers are accepted too.
type u64 uint64

func (n *u64) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	*n = u64(v)
	return err
}

// listResponse is the envelope of every _search answer; result is omitted
// when empty.
type listResponse struct {
	Details struct {
		TotalResult u64 `json:"totalResult"`
	} `json:"details"`
	Result []json.RawMessage `json:"result"`
}

var _ fetch.PageReader = (*listResponse)(nil)

// ReadPage reads a page as json.Unmarshal does, keeping each row as a
// sub-slice of data, or declines (a key with escapes or one that folds
// onto a field, a value of another type) and leaves it to json.Unmarshal.
// encoding/json checked every byte of a page a second time and copied
// each row: a fifth of a re-pull's CPU. The rows are found in the pass
// that reads the page: skipping the result array first to find its end
// was one more pass over every row.
func (p *listResponse) ReadPage(data []byte) bool {
	return jsonscan.Whole(data, jsonscan.MembersAt(data, 0, func(k []byte, i int) int {
		switch string(k) {
		case "details":
			return jsonscan.ObjectAt(data, i, func(k, v []byte) bool {
				if string(k) == "totalResult" {
					// json.Unmarshal hands u64 the value as sent,
					// whatever its type; an error is its to report.
					return p.Details.TotalResult.UnmarshalJSON(v) == nil
				}
				return jsonscan.Other(k, "totalResult")
			})
		case "result":
			return jsonscan.RawsAt(data, i, &p.Result)
		}
		if !jsonscan.Other(k, "details", "result") {
			return -1
		}
		return jsonscan.Skip(data, i)
	}))
}

// search is one offset-paged _search listing.
type search struct {
	what  string         // "list users", for errors
	path  string         // "/management/v1/users/_search"
	extra map[string]any // sortingColumn, queries
}

// list pages s and hands every distinct row to emit, once. parse returns a
// row's decoded value and its id.
//
// The first page tells the total; the other pages are then fetched in
// parallel (bounded by the source's concurrency). Projects and grants have
// no ORDER BY in ZITADEL, so an update between two pages can move a row
// across the page boundary: rows repeat or go missing (docs/providers.md,
// ZITADEL: paging). Rows are therefore de-duplicated by id, and the number of
// distinct rows must equal totalResult on every page. When it does not,
// the listing runs once more, emitting only rows not emitted before; a
// second mismatch, or a row emitted in the first run that the second no
// longer has, fails the pull: a half-seen tenant is never committed.
func list[T any](ctx context.Context, f *Fetcher, s search, parse func(json.RawMessage) (T, string, error), emit func(context.Context, T) error) error {
	// The first run emits every row it sees once, so its ids are the
	// emitted ones: one set per row, not two.
	var emitted map[string]struct{}
	for attempt := 1; ; attempt++ {
		seen, err := listOnce(ctx, f, s, parse, emitted, emit)
		switch {
		case err == nil && attempt > 1:
			for id := range emitted {
				if _, ok := seen[id]; !ok {
					return fmt.Errorf("%s: %w: %s vanished while listing; pull again", s.what, errChanged, id)
				}
			}
			return nil
		case err == nil:
			return nil
		case !errors.Is(err, errChanged):
			return fmt.Errorf("%s: %w", s.what, err)
		case attempt == 2:
			return fmt.Errorf("%s: %w, twice (%v); pull again", s.what, errChanged, errors.Unwrap(err))
		}
		emitted = seen
		f.c.Logger().Info("zitadel: listing changed while paging; listing again", "what", s.what, "why", err.Error())
	}
}

// changedError carries why a listing did not add up; errors.Unwrap yields it.
type changedError struct{ why string }

func (e *changedError) Error() string { return errChanged.Error() + ": " + e.why }
func (e *changedError) Unwrap() error { return errors.New(e.why) }
func (e *changedError) Is(target error) bool {
	return target == errChanged
}

// maxPresize bounds the room a listing makes for its ids up front: a
// totalResult is the server's word, not memory to commit to.
const maxPresize = 1 << 17

// listOnce pages s once and emits each row whose id is new in this run
// and, when emitted is not nil (a second run), not in emitted, which it
// then adds it to. It returns the ids seen, whose first rows an error-free
// first run has all emitted.
func listOnce[T any](ctx context.Context, f *Fetcher, s search, parse func(json.RawMessage) (T, string, error), emitted map[string]struct{}, emit func(context.Context, T) error) (map[string]struct{}, error) {
	var (
		mu    sync.Mutex
		seen  map[string]struct{}
		total uint64 // the first page's
		moved bool   // a later page told another total
	)
	handle := func(ctx context.Context, resp *listResponse) error {
		if n := uint64(resp.Details.TotalResult); n != total {
			mu.Lock()
			moved = true
			mu.Unlock()
		}
		for _, raw := range resp.Result {
			// parse decodes the row once and names its id (a role's key:
			// roles have no id).
			v, id, err := parse(raw)
			if err != nil {
				return err
			}
			mu.Lock()
			_, dup := seen[id]
			if !dup {
				seen[id] = struct{}{}
				if emitted != nil {
					_, dup = emitted[id]
					emitted[id] = struct{}{}
				}
			}
			mu.Unlock()
			if dup {
				continue
			}
			if err := emit(ctx, v); err != nil {
				return err
			}
		}
		return nil
	}

	limit := int(f.pageSize.Load())
	first, err := f.page(ctx, s, 0, limit)
	if limit > fallbackPageSize && isLimitExceeded(err) {
		f.pageSize.Store(fallbackPageSize)
		f.c.Logger().Warn("zitadel: the instance refuses pages of 1000; using 100", "what", s.what)
		limit = fallbackPageSize
		first, err = f.page(ctx, s, 0, limit)
	}
	if err != nil {
		return nil, err
	}
	total = uint64(first.Details.TotalResult)
	// A server that caps the limit silently answers with fewer rows:
	// step by what it gives.
	stride := uint64(limit)
	if n := uint64(len(first.Result)); n > 0 && n < stride && n < total {
		stride = n
	}
	if pages := total / stride; pages > fetch.DefaultMaxPages {
		return nil, fmt.Errorf("totalResult %d needs more than %d pages; refusing", total, fetch.DefaultMaxPages)
	}
	seen = make(map[string]struct{}, min(total, maxPresize))
	if uint64(len(first.Result)) < total {
		// The other pages load while the first is handled; an error in
		// the first page's rows stops them and is the one reported.
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		p := pool.New().WithContext(pctx).WithCancelOnError().WithFirstError().WithMaxGoroutines(f.conc)
		started := make(chan struct{})
		go func() {
			defer close(started)
			for off := stride; off < total; off += stride {
				p.Go(func(ctx context.Context) error {
					resp, err := f.page(ctx, s, off, limit)
					if err != nil {
						return err
					}
					return handle(ctx, resp)
				})
			}
		}()
		herr := handle(ctx, first)
		if herr != nil {
			cancel()
		}
		<-started
		werr := p.Wait()
		if herr != nil {
			return nil, herr
		}
		if werr != nil {
			return nil, werr
		}
	} else if err := handle(ctx, first); err != nil {
		return nil, err
	}
	// A run that did not add up still returns its ids: they were emitted.
	if moved {
		return seen, &changedError{fmt.Sprintf("totalResult moved between pages: %d at first", total)}
	}
	if uint64(len(seen)) != total {
		return seen, &changedError{fmt.Sprintf("%d distinct rows for a totalResult of %d", len(seen), total)}
	}
	f.c.NoteTotal("POST "+s.path, total, uint64(len(seen)))
	return seen, nil
}

// page fetches one page of s.
func (f *Fetcher) page(ctx context.Context, s search, offset uint64, limit int) (*listResponse, error) {
	body := map[string]any{"query": map[string]any{
		"offset": strconv.FormatUint(offset, 10), // uint64: a JSON string
		"limit":  limit,
		"asc":    true,
	}}
	for k, v := range s.extra {
		body[k] = v
	}
	var resp listResponse
	if err := f.do(ctx, "POST", s.path, body, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}
