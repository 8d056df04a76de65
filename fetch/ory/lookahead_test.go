package ory_test

import (
	"context"
	"sync"
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
