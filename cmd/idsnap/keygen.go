package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap/report/evidence"
)

func (a *app) keygenCommand() *cli.Command {
	return &cli.Command{
		Name:  "keygen",
		Usage: "make an Ed25519 key pair for signing evidence (minisign format)",
		Description: "Writes PREFIX.key (the secret key, mode 0600, unencrypted minisign format: keep\n" +
			"it private) and PREFIX.pub (give it to auditors). Existing files are never\n" +
			"overwritten. Sign with idsnap export ... --sign PREFIX.key; check with\n" +
			"idsnap verify DIR --pubkey PREFIX.pub or minisign -Vm DIR/manifest.json -p PREFIX.pub.\n\n" +
			"Examples:\n  idsnap keygen --out /etc/idsnap/evidence\n  idsnap export access-review --at latest --out review --sign /etc/idsnap/evidence.key",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "idsnap", Usage: "write `PREFIX`.key and PREFIX.pub"},
		},
		Action: a.keygen,
	}
}

func (a *app) keygen(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Len() > 0 {
		return fmt.Errorf("keygen takes no arguments; name the files with --out PREFIX")
	}
	prefix := cmd.String("out")
	if prefix == "" {
		return fmt.Errorf("--out PREFIX is empty")
	}
	k, err := evidence.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	sec, err := k.MarshalText()
	if err != nil {
		return err
	}
	pub, err := k.Public().MarshalText()
	if err != nil {
		return err
	}
	secPath, pubPath := prefix+".key", prefix+".pub"
	for _, p := range []string{secPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s exists: keys are never overwritten; choose another --out", p)
		}
	}
	if err := evWriteNew(secPath, sec, 0o600); err != nil {
		return err
	}
	if err := evWriteNew(pubPath, pub, 0o644); err != nil {
		os.Remove(secPath)
		return err
	}
	if !cmd.Bool("quiet") {
		fmt.Fprintf(a.stdout, "wrote %s (secret: keep it private) and %s (key id %s)\n", secPath, pubPath, k.ID)
	}
	return nil
}

// evWriteNew creates path (never replacing a file), writes data and syncs.
func evWriteNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
