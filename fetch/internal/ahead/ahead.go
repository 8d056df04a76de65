// Package ahead starts a request before its turn: a paged listing asks for
// page k+1 as soon as its cursor is known and handles page k meanwhile, so
// a page costs the longer of the latency and the handling, not their sum.
package ahead

import "context"

// Call is a function call running in its own goroutine.
type Call[T any] struct {
	cancel context.CancelFunc
	done   chan struct{}
	v      T
	err    error
}

// Start calls fn in a new goroutine with a context derived from ctx.
// Every Call must end with Wait or Stop, which release that context.
func Start[T any](ctx context.Context, fn func(context.Context) (T, error)) *Call[T] {
	ctx, cancel := context.WithCancel(ctx)
	c := &Call[T]{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.v, c.err = fn(ctx)
	}()
	return c
}

// Wait returns fn's result once it has returned.
func (c *Call[T]) Wait() (T, error) {
	<-c.done
	c.cancel()
	return c.v, c.err
}

// Stop cancels fn's context and returns once fn has returned, so no
// goroutine outlives a listing that failed. A nil Call is a no-op.
func (c *Call[T]) Stop() {
	if c == nil {
		return
	}
	c.cancel()
	<-c.done
}
