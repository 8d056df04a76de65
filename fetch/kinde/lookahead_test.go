package kinde_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
)

// TestLookahead: the next users page is asked for while the records of the
// page before it are still being emitted, one page ahead and no more.
func TestLookahead(t *testing.T) {
	const users = "/api/v1/users"
	srv := newServer(t, kindetest.Generate(7, 1200, 0), kindetest.Config{})
	f := newFetcher(t, source(srv.URL), nil)
	var once sync.Once
	err := f.Fetch(context.Background(), func(_ context.Context, r idsnap.Record) error {
		if r.Kind != idsnap.KindUser {
			return nil
		}
		once.Do(func() {
			deadline := time.Now().Add(10 * time.Second)
			for srv.Faults.Count(users) < 2 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if n := srv.Faults.Count(users); n != 2 {
				t.Errorf("while users page 1 is emitted, %d users requests went out; want 2 (page 2 asked for ahead, page 3 not yet)", n)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Faults.Count(users); n != 3 {
		t.Errorf("%d users requests for 3 pages", n)
	}
}
