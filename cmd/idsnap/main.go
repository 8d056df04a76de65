// Command idsnap pulls identity data read-only from Kinde, Ory and ZITADEL,
// keeps every pull as an immutable snapshot in one SQLite file, and reports
// on the history: diffs, evidence an auditor accepts, and findings.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// errFound is returned by commands that found what the user asked to be
// told about (diff --exit-code with changes, findings --fail-on with a
// FAIL): run maps it to exit code 3.
var errFound = errors.New("found")

// main only sets up signals: run returns the exit code, so tests drive the
// whole program without os.Exit.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is the one place exit codes are decided: 0 success, 1 error, 3 found.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := newApp(stdin, stdout, stderr, getenv)
	err := a.command().Run(ctx, args)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errFound):
		return 3
	default:
		fmt.Fprintf(stderr, "idsnap: %v\n", oneLine(err))
		return 1
	}
}
