package main

import "github.com/urfave/cli/v3"

// TODO(stub): replaced by the owner of this command.
func (a *app) pullCommand() *cli.Command {
	return &cli.Command{Name: "pull", Hidden: true}
}
