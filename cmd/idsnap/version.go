package main

import "github.com/urfave/cli/v3"

// TODO(stub): replaced by the owner of this command.
func (a *app) versionCommand() *cli.Command {
	return &cli.Command{Name: "version", Hidden: true}
}
