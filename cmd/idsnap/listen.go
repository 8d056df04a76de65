package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/kinde"
	"github.com/idsnap/idsnap/store"
)

func (a *app) listenCommand() *cli.Command {
	return &cli.Command{
		Name:      "listen",
		Usage:     "receive Kinde webhooks between pulls and store each verified event",
		ArgsUsage: " ",
		Description: "Serves POST /webhooks/kinde/<source> for each configured Kinde source. Each webhook is\n" +
			"verified (RS256 signature by the business's JWKS, timestamp, event id not seen before)\n" +
			"and committed to the database before it is answered 200. Events never change a snapshot.\n" +
			"Stops gracefully on SIGTERM or Ctrl-C.\n\n" +
			"Examples:\n  idsnap listen\n  idsnap listen --addr 0.0.0.0:8787 --public   # behind your TLS proxy",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8787", Usage: "listen on `HOST:PORT`"},
			&cli.StringSliceFlag{Name: "source", Aliases: []string{"s"}, Usage: "serve only Kinde source `NAME` (repeatable)"},
			&cli.BoolFlag{Name: "public", Usage: "allow a non-loopback --addr: only behind a TLS-terminating proxy"},
			&cli.DurationFlag{Name: "max-skew", Value: kinde.DefaultMaxSkew, Usage: "refuse a webhook whose timestamp is further than `DURATION` from now"},
		},
		Action: a.listen,
	}
}

func (a *app) listen(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Present() {
		return fmt.Errorf("listen takes no arguments; name sources with --source")
	}
	addr := cmd.String("addr")
	if err := checkListenAddr(addr, cmd.Bool("public")); err != nil {
		return err
	}
	// The verifier reads zero as its default: a 0 or negative value typed
	// here would silently become 24h.
	if d := cmd.Duration("max-skew"); d <= 0 {
		return fmt.Errorf("--max-skew %s: must be more than zero, such as 1h", d)
	}
	cfg, err := a.loadConfig(cmd)
	if err != nil {
		return err
	}
	sources, err := kindeSources(cfg, cmd.StringSlice("source"))
	if err != nil {
		return err
	}
	verifiers := map[string]*kinde.Verifier{}
	for _, s := range sources {
		v, err := a.webhookVerifier(s, cmd.Duration("max-skew"))
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		verifiers[s.name] = v
	}
	db, err := a.openDB(ctx, cmd)
	if err != nil {
		return err
	}
	defer db.Close()
	events, err := db.EventLog(ctx)
	if err != nil {
		return err
	}
	defer events.Close()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           kinde.NewWebhookHandler(verifiers, events, a.log, a.now),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	if !cmd.Bool("quiet") {
		for _, s := range sources {
			fmt.Fprintf(a.stderr, "idsnap: listening for %s on http://%s%s%s\n", s.name, ln.Addr(), kinde.WebhookPathPrefix, s.name)
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	go drainEvents(ctx, events, a.log)

	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", addr, err)
	case <-ctx.Done():
	}
	// Answer the webhooks in flight (each commits before its answer),
	// then stop; spooled events wait for the next start.
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if n, err := events.Drain(shutCtx); err == nil && n > 0 {
		a.log.Info("moved spooled events into the database", "events", n)
	}
	a.log.Info("listener stopped")
	return nil
}

// drainEvents moves events spooled during a pull into the database once
// the pull has committed.
func drainEvents(ctx context.Context, events *store.EventLog, log *slog.Logger) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if events.Pending() == 0 {
			continue
		}
		n, err := events.Drain(ctx)
		switch {
		case errors.Is(err, store.ErrLocked):
		case err != nil:
			log.Error("move spooled events into the database", "err", err)
		default:
			log.Info("moved spooled events into the database", "events", n)
		}
	}
}

// checkListenAddr refuses an address other hosts can reach unless --public
// says a TLS proxy stands in front: webhooks carry user data.
func checkListenAddr(addr string, public bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: want HOST:PORT, such as 127.0.0.1:8787", addr)
	}
	if public {
		return nil
	}
	ip := net.ParseIP(host)
	if host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("--addr %s is reachable from other hosts: put idsnap listen behind a TLS-terminating proxy and add --public, or listen on 127.0.0.1", addr)
}

// webhookSource is what the listener needs of a configured Kinde source.
type webhookSource struct{ name, baseURL string }

// kindeSources picks the Kinde sources among those named (all when none).
// Their secrets are not needed: webhooks are checked with public keys.
func kindeSources(cfg *config, names []string) ([]webhookSource, error) {
	specs, err := cfg.Select(names)
	if err != nil {
		return nil, err
	}
	var out []webhookSource
	var others []string
	for _, s := range specs {
		if s.src.Provider == "kinde" {
			out = append(out, webhookSource{s.Name(), s.src.BaseURL})
		} else {
			others = append(others, s.Name())
		}
	}
	if len(names) > 0 && len(others) > 0 {
		return nil, fmt.Errorf("%s: not a Kinde source; only Kinde sends webhooks idsnap can verify", strings.Join(others, ", "))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Kinde source configured: idsnap listen receives Kinde webhooks")
	}
	return out, nil
}

// webhookVerifier builds the verifier of one source; its client reads the
// JWKS, quickly, since a webhook waits on it.
func (a *app) webhookVerifier(s webhookSource, maxSkew time.Duration) (*kinde.Verifier, error) {
	cl := fetch.NewClient(fetch.Options{
		Timeout: 10 * time.Second, MaxAttempts: 2, MaxWait: 5 * time.Second,
		Logger: a.log.With("source", s.name),
	})
	return kinde.NewVerifier(s.name, s.baseURL, cl, kinde.VerifierOptions{MaxSkew: maxSkew, Now: a.now})
}
