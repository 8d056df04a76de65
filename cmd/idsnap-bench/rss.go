package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
)

const rssTargetMB = 300

// rss pulls a Kinde tenant of rssUsers users from a fake served by this
// process, in a child process (this binary again) that fetches, stages and
// commits into a real store, and reads the child's peak RSS: the fake's
// tenant is not counted; then again, nothing changed, when the Stage
// holds the index of current versions. The database is kept for the
// report part.
func (b *bench) rss(ctx context.Context) error {
	n, orgs := b.sc.rssUsers, b.sc.rssOrgs
	b.logf("rss: building a Kinde tenant of %d users, %d organizations", n, orgs)
	t := bigKinde(n, orgs)
	srv := kindetest.NewServer(t, kindetest.Config{})
	defer srv.Close()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	path := b.path("pull1M.db")
	os.Remove(path)
	for _, again := range []bool{false, true} {
		if err := b.rssPull(ctx, exe, srv.URL, path, n, orgs, again); err != nil {
			return err
		}
	}
	b.db1M = path
	return nil
}

// rssPull runs one rss child pull of the fake at url into path and adds
// its figure.
func (b *bench) rssPull(ctx context.Context, exe, url, path string, n, orgs int, again bool) error {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, pullChildArg, "-provider", "kinde", "-url", url, "-db", path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	name := fmt.Sprintf("peak RSS pulling %dk Kinde users, %d orgs (child process: fetch, stage, commit)", n/1000, orgs)
	if again {
		// The same tenant into the same database: the Stage holds the
		// index of every current version (store/index.go).
		name = fmt.Sprintf("peak RSS pulling %dk Kinde users, %d orgs again, nothing changed (the index in memory)", n/1000, orgs)
	}
	b.logf("rss: pulling in a child process")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("child: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	res := keyValues(&stdout)
	hwm, _ := strconv.ParseInt(res["vmhwm_kb"], 10, 64)
	maxrss := int64(0)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		maxrss = ru.Maxrss // kilobytes on Linux
	}
	// VmHWM is the child's own peak: rusage's ru_maxrss also counts the
	// moment between clone and exec, when the child shares this process's
	// memory (the fake's tenant), so it is shown but not judged.
	peak := hwm * 1024
	if hwm == 0 {
		peak = maxrss * 1024
	}
	b.add(figure{
		name:  name,
		value: fmt.Sprintf("%s VmHWM (rusage maxrss %d kB, inflated by the clone)", mb(peak), maxrss),
		against: fmt.Sprintf("%s records in %s s, %s MB database", res["records"], res["seconds"],
			res["db_mb"]),
		ratio:  fmt.Sprintf("%.2f× target", float64(peak)/1e6/rssTargetMB),
		target: fmt.Sprintf("≤ %d MB", rssTargetMB),
		met:    verdict(float64(peak)/1e6 <= rssTargetMB),
	})
	return nil
}

// vmHWM is this process's peak resident set size in kB (/proc/self/status).
func vmHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// bigKinde builds a Kinde tenant of n users and orgs organizations through
// the fake's mutators. kindetest.Generate keeps ids sorted by inserting
// random ids into a slice, quadratic in n; ascending ids here append
// instead, so a million users take seconds. The shape follows Generate:
// 60% of users in the default organization, up to two others, roles on a
// quarter of the memberships, one in six never signed in.
func bigKinde(n, orgs int) *kindetest.Tenant {
	r := rand.New(rand.NewPCG(41, 43))
	t := kindetest.NewTenant()
	codes := make([]string, orgs)
	for i := range codes {
		codes[i] = fmt.Sprintf("org_%011x", i)
		o := kindetest.Org{Code: codes[i], Name: fmt.Sprintf("Org %d GmbH", i), IsDefault: i == 0}
		if i == 0 {
			o.Name = "Default Organization"
		}
		t.AddOrg(o)
	}
	roles := []string{"admin", "billing", "viewer", "editor", "owner"}
	for i := range n {
		id := fmt.Sprintf("kp_%08x%024x", i, r.Uint64())
		email := fmt.Sprintf("user.%d@example.com", i)
		created := kindetest.Epoch.Add(-time.Duration(r.Int64N(int64(3 * 365 * 24 * time.Hour)))).Truncate(time.Microsecond)
		u := kindetest.User{ID: id, Email: email, FirstName: fmt.Sprintf("Zoë%d", i), LastName: "Müller",
			CreatedOn: created, Suspended: r.IntN(10) == 0,
			Identities: []kindetest.Identity{{Type: "email", Identity: email}}}
		if r.IntN(3) == 0 {
			u.ProvidedID = fmt.Sprintf("emp-%07d", i)
		}
		if r.IntN(5) == 0 {
			u.Picture = fmt.Sprintf("https://lh3.googleusercontent.com/a/%020x", r.Uint64())
			u.Identities = append(u.Identities, kindetest.Identity{Type: "oauth2:google", Identity: email, ConnectionID: fmt.Sprintf("conn_%032x", i)})
		}
		if r.IntN(6) != 0 {
			u.LastSignedIn = created.Add(time.Duration(r.Int64N(int64(kindetest.Epoch.Sub(created))))).Truncate(time.Microsecond)
			u.TotalSignIns, u.FailedSignIns = 1+r.IntN(400), r.IntN(3)
		}
		t.AddUser(u)
		join := func(code string) {
			var rs []string
			if r.IntN(4) == 0 {
				rs = append(rs, roles[r.IntN(len(roles))])
			}
			t.AddMember(code, id, rs...)
		}
		if r.IntN(10) < 6 {
			join(codes[0])
		}
		if orgs > 1 {
			for range r.IntN(3) {
				join(codes[1+r.IntN(orgs-1)])
			}
		}
	}
	return t
}
