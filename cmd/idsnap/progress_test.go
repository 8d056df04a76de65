package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap/fetch"
)

func TestProgressDraw(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, true, []string{"kinde-prod", "ory"})
	k := p.source("kinde-prod")
	k.setState("pulling")
	for range 3 {
		k.record()
	}
	k.observe(fetch.Event{Kind: "request"})
	k.observe(fetch.Event{Kind: "ratelimited", Wait: 2 * time.Second})
	p.draw()
	first := buf.String()
	want := "\r\x1b[Kkinde-prod  pulling           3 records       1 requests  1 waits (2s)\n\r\x1b[Kory         waiting           0 records       0 requests\n"
	if first != want {
		t.Errorf("first draw = %q, want %q", first, want)
	}
	buf.Reset()
	p.draw()
	if !strings.HasPrefix(buf.String(), "\x1b[2A") {
		t.Errorf("redraw does not move up over the block: %q", buf.String())
	}

	// Off a terminal nothing is drawn.
	buf.Reset()
	off := newProgress(&buf, false, []string{"x"})
	off.Start(time.Millisecond)
	off.Stop()
	if buf.Len() != 0 {
		t.Errorf("disabled progress wrote %q", buf.String())
	}
}
