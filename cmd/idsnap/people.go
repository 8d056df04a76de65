package main

import "github.com/urfave/cli/v3"

// TODO(stub): replaced by the owner of this command.
func (a *app) peopleCommand() *cli.Command {
	return &cli.Command{Name: "people", Hidden: true}
}
