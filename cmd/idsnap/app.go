package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap/report"
)

// app holds what every command shares: the streams, the environment and the
// clock, all injected so tests run the real program in-process.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	// stdoutTTY and stderrTTY say whether the streams are terminals; they
	// decide progress output, colour and, for the table format only, the
	// width tables are fitted to (stdout is then a report.Terminal).
	stdoutTTY, stderrTTY bool
	log                  *slog.Logger
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *app {
	a := &app{
		stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, now: time.Now,
		stdoutTTY: isTerminal(stdout), stderrTTY: isTerminal(stderr),
		log: slog.New(slog.DiscardHandler),
	}
	if a.stdoutTTY {
		if cols := terminalWidth(stdout, getenv); cols > 0 {
			a.stdout = report.Terminal{Writer: stdout, Cols: cols}
		}
	}
	return a
}

// command builds the command tree. Each subcommand lives in its own file.
func (a *app) command() *cli.Command {
	root := &cli.Command{
		Name:    "idsnap",
		Usage:   "snapshot who had access to what in Kinde, Ory and ZITADEL, and what changed",
		Version: versionString(),
		Reader:  a.stdin, Writer: a.stdout, ErrWriter: a.stderr,
		// run decides exit codes; urfave must never call os.Exit.
		ExitErrHandler:        func(context.Context, *cli.Command, error) {},
		EnableShellCompletion: true,
		Flags:                 a.globalFlags(),
		Before:                a.before,
		Action:                unknownCommand,
		Commands: []*cli.Command{
			a.pullCommand(),
			a.snapshotsCommand(),
			a.diffCommand(),
			a.historyCommand(),
			a.accessCommand(),
			a.exportCommand(),
			a.reviewCommand(),
			a.verifyCommand(),
			a.pruneCommand(),
			a.checkCommand(),
			a.keygenCommand(),
			a.findingsCommand(),
			a.peopleCommand(),
			a.reportCommand(),
			a.doctorCommand(),
			a.listenCommand(),
			a.eventsCommand(),
			a.versionCommand(),
		},
	}
	oneLineUsageErrors(root)
	return root
}

// unknownCommand runs when no subcommand matched: bare idsnap (or export)
// prints its help, anything else is a typo to name, where urfave would say
// "No help topic".
func unknownCommand(_ context.Context, cmd *cli.Command) error {
	if !cmd.Args().Present() {
		return cli.ShowSubcommandHelp(cmd)
	}
	return fmt.Errorf("unknown command %q: run %s --help for the commands", cmd.Args().First(), cmd.FullName())
}

// oneLineUsageErrors makes a bad flag the one-line error of the contract
// instead of urfave's "Incorrect Usage" and the whole help on stdout.
func oneLineUsageErrors(cmd *cli.Command) {
	cmd.OnUsageError = func(_ context.Context, cmd *cli.Command, err error, _ bool) error {
		msg := err.Error()
		// The standard flag package names the flag with one dash.
		if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
			msg = "unknown flag --" + strings.TrimLeft(name, "-")
		}
		msg = strings.Replace(msg, " for flag -", " for flag --", 1)
		// urfave: Required flag "at" not set, Required flags "since, out" not set.
		if names, ok := strings.CutPrefix(strings.Replace(msg, "Required flags ", "Required flag ", 1), `Required flag "`); ok {
			msg = "missing --" + strings.ReplaceAll(strings.TrimSuffix(names, `" not set`), ", ", " and --")
		}
		return fmt.Errorf("%s: run %s --help for the flags", msg, cmd.FullName())
	}
	for _, sub := range cmd.Commands {
		if sub.Action == nil {
			sub.Action = unknownCommand
		}
		oneLineUsageErrors(sub)
	}
}

// oneLine keeps an error to the one line the contract promises.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
