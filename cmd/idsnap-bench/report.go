package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// report times the CLI's reports on the rss part's database (a pulled
// Kinde tenant of rssUsers users): `access --at latest` and `findings`,
// each through the idsnap binary built from this tree, output discarded.
func (b *bench) report(ctx context.Context) error {
	exe := b.path("idsnap")
	build := exec.CommandContext(ctx, "go", "build", "-o", exe, "./cmd/idsnap")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/idsnap (run from the module root): %w: %s", err, strings.TrimSpace(string(out)))
	}
	for _, args := range [][]string{
		{"access", "--at", "latest", "--format", "csv"},
		{"findings", "--format", "json"},
	} {
		full := append([]string{"--db", b.db1M}, args...)
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, exe, full...)
		cw := &countWriter{}
		cmd.Stdout, cmd.Stderr = cw, &stderr
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		// findings exits 3 when it found something: that is a result.
		if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 3) {
			return fmt.Errorf("idsnap %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		b.add(figure{
			name:    fmt.Sprintf("idsnap %s on the %dk-user database", strings.Join(args, " "), b.sc.rssUsers/1000),
			value:   secs(d),
			against: fmt.Sprintf("%d lines of output", cw.lines),
			target:  "(none)",
		})
	}
	return nil
}

// countWriter counts the lines written to it.
type countWriter struct{ lines int }

func (c *countWriter) Write(p []byte) (int, error) {
	c.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

var _ io.Writer = (*countWriter)(nil)
