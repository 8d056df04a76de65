package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idsnap/idsnap/fetch"
)

// progress shows, on a terminal, one live line per source: records so far,
// requests, rate-limit waits. It redraws the block in place; off a
// terminal it is disabled and prints nothing, so logs and cron mail stay
// clean.
type progress struct {
	w       io.Writer
	enabled bool
	sources []*sourceProgress

	mu    sync.Mutex
	drawn int // lines drawn last time, to move the cursor back over them
	stop  chan struct{}
	done  chan struct{}
}

// sourceProgress counts one source's pull. Counters are atomic: emit and
// the HTTP observer run on many goroutines.
type sourceProgress struct {
	name                           string
	records, requests, retries, rl atomic.Int64
	waitNanos                      atomic.Int64
	state                          atomic.Value // string: "waiting", "pulling", "committing", "done", "failed"
}

func newProgress(w io.Writer, enabled bool, names []string) *progress {
	p := &progress{w: w, enabled: enabled}
	for _, n := range names {
		sp := &sourceProgress{name: n}
		sp.state.Store("waiting")
		p.sources = append(p.sources, sp)
	}
	return p
}

// source returns the counters of the named source.
func (p *progress) source(name string) *sourceProgress {
	for _, s := range p.sources {
		if s.name == name {
			return s
		}
	}
	panic("progress: unknown source " + name)
}

// observe is the fetch.Client observer of one source.
func (s *sourceProgress) observe(e fetch.Event) {
	switch e.Kind {
	case "request":
		s.requests.Add(1)
	case "retry":
		s.retries.Add(1)
		s.waitNanos.Add(int64(e.Wait))
	case "ratelimited":
		s.rl.Add(1)
		s.waitNanos.Add(int64(e.Wait))
	}
}

// record counts one emitted record.
func (s *sourceProgress) record() { s.records.Add(1) }

func (s *sourceProgress) setState(st string) { s.state.Store(st) }

// line renders one source's progress.
func (s *sourceProgress) line(width int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  %-10s %8d records  %6d requests", width, s.name, s.state.Load(), s.records.Load(), s.requests.Load())
	if n := s.rl.Load() + s.retries.Load(); n > 0 {
		fmt.Fprintf(&b, "  %d waits (%s)", n, time.Duration(s.waitNanos.Load()).Round(time.Second))
	}
	return b.String()
}

// Start redraws every tick until Stop.
func (p *progress) Start(tick time.Duration) {
	if !p.enabled {
		return
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			p.draw()
			select {
			case <-p.stop:
				p.draw()
				return
			case <-t.C:
			}
		}
	}()
}

// Stop draws the final state and leaves it on screen.
func (p *progress) Stop() {
	if !p.enabled || p.stop == nil {
		return
	}
	close(p.stop)
	<-p.done
}

// draw rewrites the block: cursor up over the last drawing, then each line
// cleared and rewritten.
func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	width := 0
	for _, s := range p.sources {
		width = max(width, len(s.name))
	}
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	for _, s := range p.sources {
		b.WriteString("\r\x1b[K")
		b.WriteString(s.line(width))
		b.WriteString("\n")
	}
	p.drawn = len(p.sources)
	io.WriteString(p.w, b.String())
}
