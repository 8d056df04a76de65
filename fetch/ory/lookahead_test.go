package ory_test

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch/ory/orytest"
)

// TestLookahead: the next page is asked for while the records of the page
// before it are still being emitted, one page ahead and no more.
func TestLookahead(t *testing.T) {
	srv := orytest.NewServer(orytest.Generate(7, 1200), orytest.Config{})
	defer srv.Close()
	f, _ := newFetcher(t, srv.URL, "")
	var once sync.Once
	err := f.Fetch(context.Background(), func(context.Context, idsnap.Record) error {
		once.Do(func() {
			// The first record of page 1 waits here for page 2's request.
			deadline := time.Now().Add(10 * time.Second)
			for srv.Faults.Count(listPath) < 2 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if n := srv.Faults.Count(listPath); n != 2 {
				t.Errorf("while page 1 is emitted, %d list requests went out; want 2 (page 2 asked for ahead, page 3 not yet)", n)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Faults.Count(listPath); n != 3 {
		t.Errorf("%d list requests for 3 pages", n)
	}
}

// TestLookaheadOnHeaders: the next page is asked for as soon as the
// headers naming it are in, before the body of the current page.
func TestLookaheadOnHeaders(t *testing.T) {
	fake := orytest.NewHandler(orytest.Generate(7, 1200), orytest.Config{})
	second := make(chan struct{})
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch requests.Add(1) {
		case 1:
			// Page 1's headers now, its body once page 2 has been asked for.
			rec := httptest.NewRecorder()
			fake.ServeHTTP(rec, r)
			maps.Copy(w.Header(), rec.Header())
			w.WriteHeader(rec.Code)
			w.(http.Flusher).Flush()
			select {
			case <-second:
			case <-time.After(10 * time.Second):
				t.Error("page 2 was not asked for while page 1's body was held back")
			}
			w.Write(rec.Body.Bytes())
		case 2:
			close(second)
			fallthrough
		default:
			fake.ServeHTTP(w, r)
		}
	}))
	defer srv.Close()
	f, _ := newFetcher(t, srv.URL, "")
	recs := mustPull(t, f)
	if len(recs) != 1200 {
		t.Errorf("pulled %d identities, want 1200", len(recs))
	}
}
