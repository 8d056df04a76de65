// Command idsnap-bench measures idsnap against its performance targets and
// prints one table: each figure beside a comparison measured in the same
// run (a critical path, a baseline, a full copy), so a slow or loaded
// machine moves both and the ratio stays meaningful. BENCHMARKS.md says
// what each figure means and records a full run.
//
//	go run ./cmd/idsnap-bench [-scale small|full] [-only pull,commit,diff,storage,rss,report] [-providers kinde,ory,zitadel]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	_ "modernc.org/sqlite" // the baselines open SQLite directly
)

// scale is the size of every benchmark: full is the targets' size, small a
// quick run of the same code.
type scale struct {
	name                string
	kindeUsers, orgs    int // pull: Kinde tenant
	oryIdentities       int
	zitadelUsers, projs int
	latency             time.Duration
	commitUsers         int // commit: users (plus as many grants)
	diffUsers           int
	storageUsers, days  int
	rssUsers, rssOrgs   int
}

var scales = map[string]scale{
	"full": {name: "full", kindeUsers: 100_000, orgs: 2_000, oryIdentities: 100_000, zitadelUsers: 100_000, projs: 200,
		latency: 20 * time.Millisecond, commitUsers: 100_000, diffUsers: 1_000_000, storageUsers: 100_000, days: 365,
		rssUsers: 1_000_000, rssOrgs: 2_000},
	"small": {name: "small", kindeUsers: 10_000, orgs: 200, oryIdentities: 10_000, zitadelUsers: 10_000, projs: 20,
		latency: 20 * time.Millisecond, commitUsers: 20_000, diffUsers: 100_000, storageUsers: 10_000, days: 60,
		rssUsers: 100_000, rssOrgs: 200},
}

var allParts = []string{"pull", "commit", "diff", "storage", "rss", "report"}

// figure is one row of the result table.
type figure struct {
	name    string // what was measured
	value   string // the measurement
	against string // the comparison, measured in the same run
	ratio   string
	target  string
	met     string // yes, NO, or "" when the row has no target
}

// bench carries what the parts share.
type bench struct {
	sc   scale
	dir  string // scratch directory
	out  io.Writer
	figs []figure
	db1M string // the database the rss part pulled, for the report part
	// providers the pull part pulls; nil: all of them
	providers     []string
	childProfiles string // directory for the pull children's CPU profiles
}

func (b *bench) add(f figure) {
	b.figs = append(b.figs, f)
	fmt.Fprintf(b.out, "  %s: %s (vs %s: %s; target %s) %s\n", f.name, f.value, f.against, f.ratio, f.target, f.met)
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.out, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == pullChildArg {
		os.Exit(pullChildMain(os.Args[2:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("idsnap-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scaleName := fs.String("scale", "full", "size of the run: small (a minute or two) or full (the targets' size)")
	only := fs.String("only", strings.Join(allParts, ","), "comma-separated parts to run: "+strings.Join(allParts, ","))
	dir := fs.String("dir", "", "scratch directory (default: a new temporary directory, removed at the end)")
	keep := fs.Bool("keep", false, "keep the scratch directory")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to `FILE`")
	childProfiles := fs.String("childprofiles", "", "write a CPU profile of each pull child to `DIR`")
	providers := fs.String("providers", "kinde,ory,zitadel", "comma-separated providers the pull part pulls")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sc, ok := scales[*scaleName]
	if !ok {
		fmt.Fprintf(stderr, "idsnap-bench: -scale %q: use small or full\n", *scaleName)
		return 2
	}
	parts := strings.Split(*only, ",")
	for _, p := range parts {
		if !slices.Contains(allParts, p) {
			fmt.Fprintf(stderr, "idsnap-bench: -only %q: parts are %s\n", p, strings.Join(allParts, ","))
			return 2
		}
	}
	b := &bench{sc: sc, dir: *dir, out: stdout, providers: strings.Split(*providers, ","), childProfiles: *childProfiles}
	for _, p := range b.providers {
		if !slices.Contains(pullProviders, p) {
			fmt.Fprintf(stderr, "idsnap-bench: -providers %q: providers are %s\n", p, strings.Join(pullProviders, ","))
			return 2
		}
	}
	if b.dir == "" {
		d, err := os.MkdirTemp("", "idsnap-bench-")
		if err != nil {
			fmt.Fprintf(stderr, "idsnap-bench: %v\n", err)
			return 1
		}
		b.dir = d
		if !*keep {
			defer os.RemoveAll(d)
		}
	} else if err := os.MkdirAll(b.dir, 0o700); err != nil {
		fmt.Fprintf(stderr, "idsnap-bench: %v\n", err)
		return 1
	}
	if *cpuprofile != "" {
		stopProf, err := startCPUProfile(*cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "idsnap-bench: %v\n", err)
			return 1
		}
		defer stopProf()
	}
	b.logf("idsnap-bench -scale %s on %s; scratch %s", sc.name, machine(), b.dir)
	start := time.Now()
	steps := map[string]func(context.Context) error{
		"pull": b.pulls, "commit": b.commit, "diff": b.diff, "storage": b.storage, "rss": b.rss, "report": b.report,
	}
	failed := false
	for _, p := range allParts {
		if !slices.Contains(parts, p) {
			continue
		}
		if p == "report" && b.db1M == "" && !slices.Contains(parts, "rss") {
			b.logf("report needs the rss part's database; running rss first")
			if err := b.rss(ctx); err != nil {
				b.logf("rss: %v", err)
				failed = true
				continue
			}
		}
		b.logf("%s: start (load average %s)", p, loadAvg())
		if err := steps[p](ctx); err != nil {
			b.logf("%s: %v", p, err)
			failed = true
		}
		if ctx.Err() != nil {
			break
		}
	}
	fmt.Fprintf(stdout, "\nidsnap-bench -scale %s, %s, %s, took %s, load average at the end %s\n\n",
		sc.name, time.Now().Format("2006-01-02"), machine(), time.Since(start).Round(time.Second), loadAvg())
	printTable(stdout, b.figs)
	if failed {
		return 1
	}
	return 0
}

func printTable(w io.Writer, figs []figure) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| figure\t value\t compared with\t ratio\t target\t met\t")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t")
	for _, f := range figs {
		fmt.Fprintf(tw, "| %s\t %s\t %s\t %s\t %s\t %s\t\n", f.name, f.value, f.against, f.ratio, f.target, f.met)
	}
	tw.Flush()
}

// machine describes the host: cores, CPU model, memory.
func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(data), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.1f GiB", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("%d × %s%s, %s", runtime.NumCPU(), model, mem, runtime.Version())
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// fileSize is the size of an SQLite file with its WAL, if any.
func fileSize(path string) int64 {
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// verdict is "yes" when ok, "NO" otherwise.
func verdict(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

func (b *bench) path(name string) string { return filepath.Join(b.dir, name) }
