package main

import (
	"context"

	"github.com/urfave/cli/v3"
)

// TODO(stub): global flags (--db, --config, --log-format, --log-level, -q),
// logger set-up in before; owned by the CLI work.
func (a *app) globalFlags() []cli.Flag { return nil }

func (a *app) before(ctx context.Context, cmd *cli.Command) (context.Context, error) {
	return ctx, nil
}

func versionString() string { return "dev" }

func isTerminal(any) bool { return false }
