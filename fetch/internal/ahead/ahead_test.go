package ahead

import (
	"context"
	"errors"
	"testing"
)

func TestWait(t *testing.T) {
	c := Start(context.Background(), func(context.Context) (int, error) { return 7, nil })
	if v, err := c.Wait(); v != 7 || err != nil {
		t.Errorf("Wait() = %d, %v; want 7, nil", v, err)
	}
	boom := errors.New("boom")
	c = Start(context.Background(), func(context.Context) (int, error) { return 0, boom })
	if _, err := c.Wait(); !errors.Is(err, boom) {
		t.Errorf("Wait() error = %v, want boom", err)
	}
}

// TestStop checks that Stop cancels the call and returns only after it has
// returned.
func TestStop(t *testing.T) {
	returned := false
	c := Start(context.Background(), func(ctx context.Context) (int, error) {
		<-ctx.Done()
		returned = true // read after Stop: the race detector checks the ordering
		return 0, ctx.Err()
	})
	c.Stop()
	if !returned {
		t.Error("Stop returned before the call did")
	}
	var nilCall *Call[int]
	nilCall.Stop() // must not panic
}

func TestParentCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := Start(ctx, func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() })
	cancel()
	if _, err := c.Wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait() error = %v, want context.Canceled", err)
	}
}
