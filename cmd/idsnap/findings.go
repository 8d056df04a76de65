package main

import "github.com/urfave/cli/v3"

// TODO(stub): replaced by the owner of this command.
func (a *app) findingsCommand() *cli.Command {
	return &cli.Command{Name: "findings", Hidden: true}
}
