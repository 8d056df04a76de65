package main

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/fetchtest"
	"github.com/idsnap/idsnap/fetch/kinde"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
	"github.com/idsnap/idsnap/fetch/ory"
	"github.com/idsnap/idsnap/fetch/ory/orytest"
	"github.com/idsnap/idsnap/fetch/zitadel"
	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
	"github.com/idsnap/idsnap/store"
)

// Concurrency and page sizes of the fetchers as they stand (their
// unexported defaults); the critical paths below are computed from them.
const (
	kindePage       = 500
	kindeConc       = 4
	zitadelPage     = 1000
	zitadelConc     = zitadel.DefaultConcurrency
	unlimitedRate   = 1e9 // requests per second: no rate limit in the bench
	pullTargetRatio = 1.5
)

// pulls pulls a generated tenant of each provider from its in-process fake
// with per-request latency into a real store, and compares the wall time
// (fetch and commit) with the critical path: the requests that must be
// sequential given the fetcher's concurrency, times the latency.
func (b *bench) pulls(ctx context.Context) error {
	pulls := map[string]func(context.Context) error{"kinde": b.pullKinde, "ory": b.pullOry, "zitadel": b.pullZitadel}
	for _, p := range pullProviders {
		if b.providers != nil && !slices.Contains(b.providers, p) {
			continue
		}
		if err := pulls[p](ctx); err != nil {
			return err
		}
	}
	return nil
}

// pullProviders are the providers the pull part knows, in its order.
var pullProviders = []string{"kinde", "ory", "zitadel"}

func (b *bench) pullKinde(ctx context.Context) error {
	sc, lat := b.sc, b.sc.latency

	b.logf("generating Kinde tenant: %d users, %d organizations", sc.kindeUsers, sc.orgs)
	kt := kindetest.Generate(1, sc.kindeUsers, sc.orgs)
	ks := kindetest.NewServer(kt, kindetest.Config{Latency: lat})
	members := make([]int, 0, sc.orgs)
	for _, code := range kt.OrgCodes() {
		members = append(members, len(kt.Members(code)))
	}
	kpath := kindeCriticalPath(sc.kindeUsers, members)
	err := b.pullOne(ctx, fmt.Sprintf("pull Kinde %dk users, %d orgs", sc.kindeUsers/1000, sc.orgs), kpath, lat, ks.Faults,
		idsnap.Source{Name: "kinde", Provider: "kinde", BaseURL: ks.URL, RequestsPerSecond: unlimitedRate, Settings: map[string]string{"client_id": kindetest.DemoClientID}, Secrets: map[string]idsnap.Secret{"client_secret": kindetest.DemoClientSecret}}, kinde.New)
	ks.Close()
	return err
}

func (b *bench) pullOry(ctx context.Context) error {
	sc, lat := b.sc, b.sc.latency

	b.logf("generating Ory tenant: %d identities", sc.oryIdentities)
	ot := orytest.Generate(2, sc.oryIdentities)
	osrv := orytest.NewServer(ot, orytest.Config{})
	osrv.Faults.Latency = lat
	// Keyset pages are sequential by nature; the fake may answer one more
	// (empty) page after a full last page, which the count below includes.
	err := b.pullOne(ctx, fmt.Sprintf("pull Ory %dk identities", sc.oryIdentities/1000), -1, lat, osrv.Faults,
		idsnap.Source{Name: "ory", Provider: "ory", BaseURL: osrv.URL, RequestsPerSecond: unlimitedRate}, ory.New)
	osrv.Close()
	return err
}

func (b *bench) pullZitadel(ctx context.Context) error {
	sc, lat := b.sc, b.sc.latency

	b.logf("generating ZITADEL tenant: %d users, %d projects", sc.zitadelUsers, sc.projs)
	zt := zitadeltest.Generate(3, sc.zitadelUsers, sc.projs)
	zs := zitadeltest.NewServer(zt, zitadeltest.Config{})
	zs.Faults.Latency = lat
	grants := map[string]int{}
	for _, g := range zt.Grants() {
		grants[g.ProjectID]++
	}
	var tasks []int // pages of each per-project listing, in the order the fetcher starts them
	for _, p := range zt.Projects() {
		tasks = append(tasks, len(zt.Roles(p.ID)), grants[p.ID])
	}
	zpath := zitadelCriticalPath(sc.zitadelUsers, len(zt.Projects()), tasks)
	err := b.pullOne(ctx, fmt.Sprintf("pull ZITADEL %dk users, %d projects", sc.zitadelUsers/1000, sc.projs), zpath, lat, zs.Faults,
		idsnap.Source{Name: "zitadel", Provider: "zitadel", BaseURL: zs.URL, RequestsPerSecond: unlimitedRate, Secrets: map[string]idsnap.Secret{"pat": zitadeltest.DefaultPAT}}, zitadel.New)
	zs.Close()
	return err
}

type newFetcher func(idsnap.Source, *fetch.Client) (fetch.Fetcher, error)

// pullOne pulls src into a fresh database and adds its figure. path is the
// critical path in latencies; -1 takes the number of requests the fake saw
// (a provider whose requests are all sequential).
func (b *bench) pullOne(ctx context.Context, name string, path int, lat time.Duration, faults *fetchtest.Faults, src idsnap.Source, nf newFetcher) error {
	db, err := store.Open(ctx, b.path(src.Name+".db"))
	if err != nil {
		return err
	}
	defer db.Close()
	f, err := nf(src, fetch.NewClient(fetch.Options{RequestsPerSecond: unlimitedRate}))
	if err != nil {
		return err
	}
	// The same fetch into a sink that discards: how much of the wall time
	// is the fetcher and the fake rather than the store.
	start := time.Now()
	if err := f.Fetch(ctx, func(context.Context, idsnap.Record) error { return nil }); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	alone := time.Since(start)
	before := faults.Count("")
	cpu0 := cpuTime()
	fetched, wall, n, err := pullInto(ctx, db, f, src)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	cpu := cpuTime() - cpu0
	reqs := faults.Count("") - before
	how := "from the fetcher's concurrency"
	if path < 0 {
		path, how = reqs, "every request sequential"
	}
	crit := time.Duration(path) * lat
	ratio := wall.Seconds() / crit.Seconds()
	b.add(figure{
		name: name + ", commit included",
		value: fmt.Sprintf("%s (fetch %s, commit %s; fetch into a discarding sink %s; CPU %s, fake included; %d records, %d requests)",
			secs(wall), secs(fetched), secs(wall-fetched), secs(alone), secs(cpu), n, reqs),
		against: fmt.Sprintf("critical path %d × %v = %s (%s)", path, lat, secs(crit), how),
		ratio:   fmt.Sprintf("%.2f×", ratio),
		target:  fmt.Sprintf("≤ %.1f×", pullTargetRatio),
		met:     verdict(ratio <= pullTargetRatio),
	})

	// The next day's pull of the same tenant: what a daily cron job does
	// once the first pull has filled the database. Nothing changed, so the
	// store writes almost nothing; shown for information.
	fetched, wall, _, err = pullInto(ctx, db, f, src)
	if err != nil {
		return fmt.Errorf("%s, again: %w", name, err)
	}
	b.add(figure{
		name:    name + ", pulled again (no change)",
		value:   fmt.Sprintf("%s (fetch %s, commit %s)", secs(wall), secs(fetched), secs(wall-fetched)),
		against: fmt.Sprintf("the same critical path, %s", secs(crit)),
		ratio:   fmt.Sprintf("%.2f×", wall.Seconds()/crit.Seconds()),
		target:  "(none)",
	})
	return nil
}

// pullInto pulls src with f into db: the time the fetch took, the time to
// the end of the commit, and the number of records.
func pullInto(ctx context.Context, db *store.DB, f fetch.Fetcher, src idsnap.Source) (fetched, wall time.Duration, n int64, err error) {
	start := time.Now()
	st, err := db.Stage(ctx, src)
	if err != nil {
		return 0, 0, 0, err
	}
	var count atomic.Int64
	if err := f.Fetch(ctx, func(ctx context.Context, r idsnap.Record) error { count.Add(1); return st.Put(ctx, r) }); err != nil {
		st.Abort()
		return 0, 0, 0, err
	}
	fetched = time.Since(start)
	if _, err := st.Commit(ctx); err != nil {
		return 0, 0, 0, err
	}
	return fetched, time.Since(start), count.Load(), nil
}

// ceilDiv is ⌈a/b⌉.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// pages is how many requests a listing of n rows takes, one at least.
func pages(n, size int) int { return max(1, ceilDiv(n, size)) }

// kindeCriticalPath is the pull's length in latencies as the Kinde fetcher
// runs it: the token, then users (sequential pages) in parallel with the
// organizations, whose pages are sequential and whose member listings run
// kindeConc at a time, submitted in listing order; submitting blocks while
// all workers are busy, which delays the next organizations page.
func kindeCriticalPath(users int, members []int) int {
	usersEnd := 1 + pages(users, kindePage)
	t := 1 // after the token
	w := &workers{}
	end := 0
	for i := 0; i < len(members) || i == 0; i += kindePage {
		t++ // one organizations page
		for _, m := range members[i:min(i+kindePage, len(members))] {
			t = max(t, w.acquire(kindeConc))
			f := t + pages(m, kindePage)
			heap.Push(w, f)
			end = max(end, f)
		}
	}
	return max(usersEnd, end, t)
}

// zitadelCriticalPath is the pull's length in latencies as the ZITADEL
// fetcher runs it: the org lookup, then users ‖ projects. An offset-paged
// listing takes one page to learn the total, then the other pages
// zitadelConc at a time. After the projects, each project's roles and
// grants listings run zitadelConc at a time, in order.
func zitadelCriticalPath(users, projects int, tasks []int) int {
	listing := func(n int) int { return 1 + ceilDiv(pages(n, zitadelPage)-1, zitadelConc) }
	usersEnd := 1 + listing(users)
	t := 1 + listing(projects)
	w := &workers{}
	end := t
	for _, rows := range tasks {
		start := max(t, w.acquire(zitadelConc))
		t = start
		f := start + listing(rows)
		heap.Push(w, f)
		end = max(end, f)
	}
	return max(usersEnd, end)
}

// workers is a min-heap of the times busy workers become free.
type workers []int

func (w workers) Len() int           { return len(w) }
func (w workers) Less(i, j int) bool { return w[i] < w[j] }
func (w workers) Swap(i, j int)      { w[i], w[j] = w[j], w[i] }
func (w *workers) Push(x any)        { *w = append(*w, x.(int)) }
func (w *workers) Pop() any {
	old := *w
	x := old[len(old)-1]
	*w = old[:len(old)-1]
	return x
}

// acquire returns when a worker is free (0: at once) and removes the
// earliest-finishing one when all n are busy.
func (w *workers) acquire(n int) int {
	if w.Len() < n {
		return 0
	}
	return heap.Pop(w).(int)
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
