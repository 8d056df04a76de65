package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/store"
)

// globalFlags are accepted before or after any subcommand.
func (a *app) globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "db", Usage: "SQLite database `PATH` (default $IDSNAP_DB, else ./idsnap.db)"},
		&cli.StringFlag{Name: "config", Usage: "config `FILE` (default ./idsnap.toml when present, else IDSNAP_* environment variables)"},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format on stderr: text or json"},
		&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "log level: debug, info, warn or error"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only results and errors: no summaries, no progress"},
	}
}

// formatFlag is the --format flag every reporting command shares; commands
// read it through outputFormat.
func formatFlag() cli.Flag {
	return &cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: string(report.FormatTable), Usage: "output format: table, json, csv or markdown"}
}

// acrossTenantsFlag lets diff, history and export changes compare a
// source across a change of tenant, which they refuse by default.
func acrossTenantsFlag() cli.Flag {
	return &cli.BoolFlag{Name: "across-tenants", Usage: "compare a source across a change of tenant (base URL, org) instead of refusing or splitting there; the output is marked"}
}

// before runs ahead of every command: it checks the global flags and sets
// up the logger, so a bad --log-level fails before anything is pulled.
func (a *app) before(ctx context.Context, cmd *cli.Command) (context.Context, error) {
	level, err := parseLevel(cmd.String("log-level"))
	if err != nil {
		return ctx, err
	}
	if cmd.Bool("quiet") && !cmd.IsSet("log-level") {
		level = slog.LevelError
	}
	h, err := logHandler(a.stderr, cmd.String("log-format"), level)
	if err != nil {
		return ctx, err
	}
	a.log = slog.New(h)
	return ctx, nil
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown --log-level %q: use debug, info, warn or error", s)
}

func logHandler(w io.Writer, format string, level slog.Level) (slog.Handler, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.NewTextHandler(w, opts), nil
	case "json":
		return slog.NewJSONHandler(w, opts), nil
	}
	return nil, fmt.Errorf("unknown --log-format %q: use text or json", format)
}

// dbPath resolves the database: --db, else IDSNAP_DB, else ./idsnap.db.
func (a *app) dbPath(cmd *cli.Command) string {
	if p := cmd.String("db"); p != "" {
		return p
	}
	if p := a.getenv("IDSNAP_DB"); p != "" {
		return p
	}
	return "idsnap.db"
}

// openDB opens (creating and migrating when needed) the database the user
// chose. The caller closes it.
func (a *app) openDB(ctx context.Context, cmd *cli.Command) (*store.DB, error) {
	path := a.dbPath(cmd)
	// SQLite's own words for a directory or a device are "unable to open
	// database file" and "disk I/O error".
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("--db %s is a directory: name the database file, e.g. %s", path, filepath.Join(path, "idsnap.db"))
	} else if err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("--db %s is not a regular file: name the database file", path)
	}
	// Only pull and listen create a database: a reader pointed at a file
	// that is not there has a typo in --db, and an empty new file would
	// hide it.
	if cmd.Name != "pull" && cmd.Name != "listen" {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("database %s does not exist: run idsnap pull first, or point --db (or IDSNAP_DB) at your database", path)
		}
	}
	// store's errors name the file already.
	return store.Open(ctx, path)
}

// openSnapshots opens the database as openDB does and lists its snapshots,
// what most readers start from. The caller closes the database.
func (a *app) openSnapshots(ctx context.Context, cmd *cli.Command) (*store.DB, []idsnap.Snapshot, error) {
	db, err := a.openDB(ctx, cmd)
	if err != nil {
		return nil, nil, err
	}
	snaps, err := db.Snapshots(ctx, "")
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, snaps, nil
}

// outputFormat reads the command's own --format flag (table by default).
func (a *app) outputFormat(cmd *cli.Command) (report.Format, error) {
	s := cmd.String("format")
	if s == "" {
		return report.FormatTable, nil
	}
	return report.ParseFormat(s)
}

// color says whether output may use colour: only on a terminal, and never
// when NO_COLOR is set to anything (https://no-color.org).
func (a *app) color() bool {
	return a.stdoutTTY && a.getenv("NO_COLOR") == "" && a.getenv("TERM") != "dumb"
}

func versionString() string {
	if idsnap.Commit == "" {
		return idsnap.Version
	}
	return idsnap.Version + " (" + idsnap.Commit + ")"
}

// terminalWidth is the width of the terminal w: $COLUMNS when it is a
// positive number (the user's say, and what a test injects), else the
// terminal's own size; 0 when neither is known.
func terminalWidth(w any, getenv func(string) string) int {
	if n, err := strconv.Atoi(getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if f, ok := w.(*os.File); ok && f != nil {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	return 0
}

// isTerminal says whether w is a terminal. Anything that is not an
// *os.File (a test's buffer) is not; /dev/null, a pipe or a file are not.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}
