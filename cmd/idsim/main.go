// Command idsim serves simulated Kinde, Ory and ZITADEL admin APIs on
// loopback, backed by the same protocol fakes idsnap's tests use, with a
// generated company of a few hundred people. It can move the world on by a
// day of churn, so `idsnap pull` twice shows a real diff. It is for the
// demo and for trying idsnap without a tenant; it serves no real data.
//
//	idsim [--seed N] [--people N] [--write-config idsnap.toml] [--write-env idsim.env] [--write-roster hr.csv]
//	idsim advance --control URL [--days N]
//	idsim revoke --control URL --org CODE --user ID
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/idsnap/idsnap/fetch/fetchtest"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
	"github.com/idsnap/idsnap/fetch/ory/orytest"
	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
)

// The demo credentials the simulators accept. They guard nothing: idsim
// listens on loopback and serves generated people.
const (
	oryToken   = "ory_pat_idsim_demo"
	zitadelPAT = zitadeltest.DefaultPAT
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	var err error
	switch {
	case len(args) > 0 && args[0] == "advance":
		err = advance(ctx, args[1:], stdout, stderr, getenv)
	case len(args) > 0 && args[0] == "revoke":
		err = revoke(ctx, args[1:], stdout, stderr, getenv)
	default:
		err = serve(ctx, args, stdout, stderr, nil)
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintf(stderr, "idsim: %v\n", err)
		return 1
	}
}

// options are serve's flags.
type options struct {
	kindeAddr, oryAddr, zitadelAddr, controlAddr string
	seed                                         int64
	people                                       int
	epoch                                        string
	latency                                      time.Duration
	writeConfig, writeEnv, writeRoster           string
}

// endpoints are where a running idsim listens.
type endpoints struct {
	Kinde, Ory, Zitadel, Control string
	Day                          int
}

// serve runs the simulators until ctx ends. ready, when set, hears the
// endpoints once every listener is up (tests).
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(endpoints)) error {
	var o options
	fs := flag.NewFlagSet("idsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.kindeAddr, "kinde-addr", "127.0.0.1:0", "listen address of the Kinde Management API")
	fs.StringVar(&o.oryAddr, "ory-addr", "127.0.0.1:0", "listen address of the Ory Admin API")
	fs.StringVar(&o.zitadelAddr, "zitadel-addr", "127.0.0.1:0", "listen address of the ZITADEL Management API")
	fs.StringVar(&o.controlAddr, "control-addr", "127.0.0.1:0", "listen address of the control API (POST /_idsim/advance)")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the generated world: the same seed and epoch give the same world")
	fs.IntVar(&o.people, "people", 300, "number of people in the generated company")
	fs.StringVar(&o.epoch, "epoch", "", "day 0 of the world as YYYY-MM-DD (default today, UTC)")
	fs.DurationVar(&o.latency, "latency", 0, "latency added to every API request, e.g. 50ms")
	fs.StringVar(&o.writeConfig, "write-config", "", "write an idsnap.toml for these simulators to `PATH` once they listen")
	fs.StringVar(&o.writeRoster, "write-roster", "", "write HR's roster CSV of the generated company (leavers, contractors left off, a late joiner) to `PATH`")
	fs.StringVar(&o.writeEnv, "write-env", "", "write IDSNAP_* and IDSIM_CONTROL variables, shell syntax, to `PATH` once listening")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: idsim [flags]\n       idsim advance --control URL [--days N]\n\nServes simulated Kinde, Ory and ZITADEL admin APIs on loopback.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: idsim takes flags, or the advance subcommand", fs.Arg(0))
	}
	epoch := time.Now().UTC()
	if o.epoch != "" {
		var err error
		if epoch, err = time.Parse(time.DateOnly, o.epoch); err != nil {
			return fmt.Errorf("--epoch %q: write it as YYYY-MM-DD", o.epoch)
		}
	}
	if o.people < 1 {
		return fmt.Errorf("--people must be at least 1")
	}

	w := newWorld(o.seed, o.people, epoch)
	faults := func() *fetchtest.Faults { return &fetchtest.Faults{Latency: o.latency} }
	var servers []*http.Server
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	listen := func(addr string, h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return "", fmt.Errorf("listen: %w", err)
		}
		s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, s)
		go s.Serve(ln)
		return "http://" + ln.Addr().String(), nil
	}
	var ep endpoints
	var err error
	hooks := kindetest.NewWebhooks()
	if ep.Kinde, err = listen(o.kindeAddr, faults().Wrap(kindetest.NewHandler(w.kinde, kindetest.Config{Webhooks: hooks}))); err != nil {
		return fmt.Errorf("kinde: %w", err)
	}
	if ep.Ory, err = listen(o.oryAddr, faults().Wrap(orytest.NewHandler(w.ory, orytest.Config{APIToken: oryToken, RateLimitHeaders: true}))); err != nil {
		return fmt.Errorf("ory: %w", err)
	}
	if ep.Zitadel, err = listen(o.zitadelAddr, faults().Wrap(zitadeltest.NewHandler(w.zitadel, zitadeltest.Config{PAT: zitadelPAT}))); err != nil {
		return fmt.Errorf("zitadel: %w", err)
	}
	if ep.Control, err = listen(o.controlAddr, controlHandler(w, hooks, &ep, stderr)); err != nil {
		return fmt.Errorf("control: %w", err)
	}

	if o.writeConfig != "" {
		if err := writeAtomic(o.writeConfig, configTOML(ep)); err != nil {
			return fmt.Errorf("write config: %w", err)
		}
	}
	// The roster goes before the env file: scripts wait for the env file.
	if o.writeRoster != "" {
		if err := writeAtomic(o.writeRoster, string(w.rosterCSV())); err != nil {
			return fmt.Errorf("write roster: %w", err)
		}
	}
	if o.writeEnv != "" {
		if err := writeAtomic(o.writeEnv, envFile(ep)); err != nil {
			return fmt.Errorf("write env: %w", err)
		}
	}
	banner(stdout, o, w, ep)
	if ready != nil {
		ready(ep)
	}

	// SIGUSR1 advances a day too, for those without curl at hand.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-usr1:
			logEvents(stderr, w.Day()+1, w.Advance())
		}
	}
}

// controlHandler serves the control API: GET /_idsim (where everything is),
// POST /_idsim/advance[?days=N] and POST /_idsim/webhook (see webhook).
func controlHandler(w *world, hooks *kindetest.Webhooks, ep *endpoints, log io.Writer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_idsim/webhook", func(rw http.ResponseWriter, r *http.Request) {
		webhook(rw, r, w, hooks)
	})
	mux.HandleFunc("GET /_idsim", func(rw http.ResponseWriter, r *http.Request) {
		e := *ep
		e.Day = w.Day()
		writeJSON(rw, e)
	})
	mux.HandleFunc("POST /_idsim/kinde/revoke", kindeRevoke(w, log))
	mux.HandleFunc("POST /_idsim/advance", func(rw http.ResponseWriter, r *http.Request) {
		days := 1
		if s := r.URL.Query().Get("days"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 365 {
				http.Error(rw, "days must be a number from 1 to 365", http.StatusBadRequest)
				return
			}
			days = n
		}
		var events []string
		for range days {
			ev := w.Advance()
			logEvents(log, w.Day(), ev)
			events = append(events, ev...)
		}
		writeJSON(rw, map[string]any{"day": w.Day(), "events": events})
	})
	return mux
}

func writeJSON(rw http.ResponseWriter, v any) {
	rw.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(rw)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func logEvents(w io.Writer, day int, events []string) {
	fmt.Fprintf(w, "idsim: day %d: %d events\n", day, len(events))
	for _, e := range events {
		fmt.Fprintf(w, "  %s\n", e)
	}
}

func banner(w io.Writer, o options, wd *world, ep endpoints) {
	fmt.Fprintf(w, "idsim: seed %d, epoch %s, %d people: %s\n\n", o.seed, wd.epoch.Format(time.DateOnly), o.people, wd.counts())
	fmt.Fprintf(w, "  kinde    %s  client_id %s  client_secret %s\n", ep.Kinde, kindetest.DemoClientID, kindetest.DemoClientSecret)
	fmt.Fprintf(w, "  ory      %s  api_token %s\n", ep.Ory, oryToken)
	fmt.Fprintf(w, "  zitadel  %s  pat %s\n", ep.Zitadel, zitadelPAT)
	fmt.Fprintf(w, "  control  %s  advance a day: idsim advance --control %s\n", ep.Control, ep.Control)
	fmt.Fprintf(w, "           send a signed Kinde webhook: curl -X POST '%s/_idsim/webhook?url=http://127.0.0.1:8787/webhooks/kinde/kinde&type=user.updated'\n\n", ep.Control)
	fmt.Fprintf(w, "Pull without a config file:\n\n%s\n", indent(envFile(ep)))
	if o.writeConfig != "" {
		fmt.Fprintf(w, "or with the config written to %s:\n\n  idsnap --config %s pull\n\n", o.writeConfig, o.writeConfig)
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}

func configTOML(ep endpoints) string {
	return fmt.Sprintf(`# Written by idsim for its simulated providers on loopback. The secrets are
# idsim's demo credentials; for a real tenant use env:NAME or file:PATH.
# idsim control: %s

[sources.kinde]
provider = "kinde"
base_url = %q
client_id = %q
client_secret = %q

[sources.ory]
provider = "ory"
base_url = %q
api_token = %q

[sources.zitadel]
provider = "zitadel"
instance_url = %q
pat = %q
`, ep.Control, ep.Kinde, kindetest.DemoClientID, kindetest.DemoClientSecret, ep.Ory, oryToken, ep.Zitadel, zitadelPAT)
}

func envFile(ep endpoints) string {
	return fmt.Sprintf(`export IDSNAP_KINDE_BASE_URL=%s
export IDSNAP_KINDE_CLIENT_ID=%s
export IDSNAP_KINDE_CLIENT_SECRET=%s
export IDSNAP_ORY_BASE_URL=%s
export IDSNAP_ORY_API_TOKEN=%s
export IDSNAP_ZITADEL_INSTANCE_URL=%s
export IDSNAP_ZITADEL_PAT=%s
export IDSIM_CONTROL=%s
`, ep.Kinde, kindetest.DemoClientID, kindetest.DemoClientSecret, ep.Ory, oryToken, ep.Zitadel, zitadelPAT, ep.Control)
}

// writeAtomic writes through a temporary file and a rename, so a script
// waiting for the file never reads half of it.
func writeAtomic(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".idsim-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// advance asks a running idsim to move on by days.
func advance(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("idsim advance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	control := fs.String("control", getenv("IDSIM_CONTROL"), "control `URL` of the running idsim (default $IDSIM_CONTROL)")
	days := fs.Int("days", 1, "days to advance")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *control == "" {
		return errors.New("advance: no control URL: pass --control URL (printed by idsim at start) or set IDSIM_CONTROL")
	}
	u := strings.TrimRight(*control, "/") + "/_idsim/advance?days=" + strconv.Itoa(*days)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return fmt.Errorf("advance: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("advance: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("advance: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var out struct {
		Day    int      `json:"day"`
		Events []string `json:"events"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("advance: decode answer: %w", err)
	}
	logEvents(stdout, out.Day, out.Events)
	return nil
}
