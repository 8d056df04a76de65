package main

import "github.com/urfave/cli/v3"

// TODO(stub): replaced by the owner of this command.
func (a *app) accessCommand() *cli.Command {
	return &cli.Command{Name: "access", Hidden: true}
}
