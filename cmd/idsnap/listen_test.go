package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/kinde"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
	"github.com/idsnap/idsnap/store"
)

func TestListenRefusesPublicAddrWithoutFlag(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8787":  "reachable from other hosts",
		":8787":         "reachable from other hosts",
		"10.1.2.3:8787": "add --public",
		"8787":          "want HOST:PORT",
	} {
		r := runIDSnap(t, nil, "--db", filepath.Join(t.TempDir(), "x.db"), "listen", "--addr", addr)
		if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("listen --addr %s: exit %d %q, want 1 and one line containing %q", addr, r.code, r.stderr, want)
		}
	}
}

func TestListenRefusesNonPositiveMaxSkew(t *testing.T) {
	for _, skew := range []string{"0s", "-1h"} {
		r := runIDSnap(t, nil, "--db", filepath.Join(t.TempDir(), "x.db"), "listen", "--max-skew", skew)
		if want := "must be more than zero"; r.code != 1 || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("listen --max-skew %s: exit %d %q, want 1 and one line containing %q", skew, r.code, r.stderr, want)
		}
	}
}

func TestListenNeedsKindeSource(t *testing.T) {
	f := startFakes(t, kindetest.Config{}, zitadeltest.Config{})
	dir := t.TempDir()
	cfg := f.writeConfig(t, dir)
	r := runIDSnap(t, testEnv(), "--db", filepath.Join(dir, "x.db"), "--config", cfg, "listen", "--source", "ory-test")
	if r.code != 1 || !strings.Contains(r.stderr, "ory-test: not a Kinde source") {
		t.Errorf("listen --source ory-test: exit %d %q", r.code, r.stderr)
	}
}

// listener is an idsnap listen child process.
type listenChild struct {
	cmd *exec.Cmd
	url string // the kinde source's webhook URL
	mu  sync.Mutex
	log strings.Builder
	out chan struct{} // closed when stderr ends
}

func startListener(t *testing.T, c *child, args ...string) *listenChild {
	t.Helper()
	cmd := c.cmd(context.Background(), append([]string{"--log-level", "info", "--log-format", "json", "listen", "--addr", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &listenChild{cmd: cmd, out: make(chan struct{})}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	urls := make(chan string, 1)
	go func() {
		defer close(l.out)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if _, u, ok := strings.Cut(line, "listening for kinde on "); ok {
				urls <- u
			}
			l.mu.Lock()
			l.log.WriteString(line + "\n")
			l.mu.Unlock()
		}
	}()
	select {
	case l.url = <-urls:
	case <-l.out:
		t.Fatalf("listen exited before listening:\n%s", l.logText())
	case <-time.After(30 * time.Second):
		t.Fatalf("listen did not start:\n%s", l.logText())
	}
	return l
}

// stop sends sig and waits for the listener to exit. Its log is read to
// the end first: Wait closes the stderr pipe once the process exits, and
// calling it before the reader is done can drop the last lines (the
// "listener stopped" line went missing that way under load).
func (l *listenChild) stop(sig os.Signal) error {
	l.cmd.Process.Signal(sig)
	<-l.out
	return l.cmd.Wait()
}

func (l *listenChild) logText() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.log.String()
}

// eventIDs runs idsnap events --format json in a child and returns the ids.
func eventIDs(t *testing.T, c *child) []string {
	t.Helper()
	code, out, errOut := c.run(t, "events", "--format", "json")
	if code != 0 {
		t.Fatalf("events: exit %d %s", code, errOut)
	}
	var evs []struct {
		ID string `json:"event_id"`
	}
	if err := json.Unmarshal([]byte(out), &evs); err != nil {
		t.Fatalf("events json: %v\n%s", err, out)
	}
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	return ids
}

func sendEvents(t *testing.T, fake *kindetest.Server, url string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		uid := fake.Tenant.UserIDs()[i%len(fake.Tenant.UserIDs())]
		start := time.Now()
		status, id, err := fake.Webhooks.SendEvent(context.Background(), url, "user.updated", fake.Tenant.UserData(uid))
		if err != nil || status != http.StatusOK {
			t.Fatalf("webhook %d: status %d, %v", i, status, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("webhook %d took %s to be acknowledged", i, d)
		}
		ids = append(ids, id)
	}
	return ids
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, s := range a {
		m[s] = true
	}
	for _, s := range b {
		if !m[s] {
			return false
		}
	}
	return true
}

// TestListenCrashAfterAck: every webhook answered 200 survives a SIGKILL
// right after the answer, whether it went to the table or, with the write
// lock held by another process, to the spool.
func TestListenCrashAfterAck(t *testing.T) {
	fake := kindetest.NewServer(kindetest.Generate(5, 8, 2), kindetest.Config{})
	t.Cleanup(fake.Close)
	c := newChild(t, childSources{kinde: fake, kindeSecret: kindetest.DemoClientSecret})
	l := startListener(t, c)
	acked := sendEvents(t, fake, l.url, 5)

	// Another process takes the write lock, as a pull does.
	locker, err := sql.Open("sqlite", "file:"+c.db+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	conn, err := locker.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	acked = append(acked, sendEvents(t, fake, l.url, 3)...)
	l.stop(syscall.SIGKILL)
	if _, err := os.Stat(c.db + ".events-spool"); err != nil {
		t.Errorf("no spool while the lock was held: %v", err)
	}
	if got := eventIDs(t, c); !sameSet(got, acked) {
		t.Errorf("after SIGKILL, events = %v, want the %d acknowledged", got, len(acked))
	}
	conn.ExecContext(context.Background(), "ROLLBACK")

	// The next listener moves the spool into the table, and stops cleanly
	// on SIGTERM.
	l2 := startListener(t, c)
	if _, err := os.Stat(c.db + ".events-spool"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spool not drained at start: %v", err)
	}
	if err := l2.stop(syscall.SIGTERM); err != nil {
		t.Errorf("listen after SIGTERM: %v\n%s", err, l2.logText())
	}
	if !strings.Contains(l2.logText(), `"msg":"listener stopped"`) {
		t.Errorf("no JSON stop line:\n%s", l2.logText())
	}
	var n int
	locker.QueryRow("SELECT count(*) FROM events").Scan(&n)
	if n != len(acked) {
		t.Errorf("events in the table = %d, want %d", n, len(acked))
	}
}

// gate holds every request under a path prefix until opened.
type gate struct {
	prefix string
	open   chan struct{}
	next   http.Handler
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, g.prefix) {
		<-g.open
	}
	g.next.ServeHTTP(w, r)
}

// TestListenDuringPull: a listener keeps acknowledging webhooks, promptly,
// while a real pull holds the write lock; the pull commits as if the
// listener were not there; and every event reaches the table afterwards.
func TestListenDuringPull(t *testing.T) {
	tenant := kindetest.Generate(6, 3000, 3) // more than a staging batch: the pull takes the lock while fetching
	hooks := kindetest.NewWebhooks()
	g := &gate{prefix: "/api/v1/organizations", open: make(chan struct{}), next: kindetest.NewHandler(tenant, kindetest.Config{Webhooks: hooks})}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	defer func() {
		select {
		case <-g.open:
		default:
			close(g.open)
		}
	}()
	fake := &kindetest.Server{Server: srv, Tenant: tenant, Webhooks: hooks}
	c := newChild(t, childSources{kinde: fake, kindeSecret: kindetest.DemoClientSecret})
	l := startListener(t, c)
	before := sendEvents(t, fake, l.url, 2)

	pullDone := make(chan error, 1)
	go func() {
		code, _, errOut := c.run(t, "pull")
		if code != 0 {
			pullDone <- fmt.Errorf("pull: exit %d: %s", code, errOut)
		}
		close(pullDone)
	}()
	// Wait until the pull holds the write lock (it cannot finish: its
	// organizations listing waits at the gate).
	probe, err := sql.Open("sqlite", "file:"+c.db+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := probe.Exec("BEGIN IMMEDIATE; ROLLBACK")
		if err != nil && strings.Contains(err.Error(), "locked") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pull never took the write lock (%v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	during := sendEvents(t, fake, l.url, 4)
	close(g.open)
	if err := <-pullDone; err != nil {
		t.Fatal(err)
	}
	all := append(before, during...)
	if got := eventIDs(t, c); !sameSet(got, all) {
		t.Errorf("events = %v, want %v", got, all)
	}
	if err := l.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("listen: %v\n%s", err, l.logText())
	}
	var n int
	probe.QueryRow("SELECT count(*) FROM events").Scan(&n)
	if n != len(all) {
		t.Errorf("events in the table after the listener stopped = %d, want %d", n, len(all))
	}
	probe.QueryRow("SELECT count(*) FROM snapshots").Scan(&n)
	if n != 1 {
		t.Errorf("snapshots = %d, want the pull's 1", n)
	}
}

// TestEventsBesideDiffAndHistory: events stored between two pulls appear
// in events, beside the diff's and history's changes, and the access that
// came and went between the pulls is listed as transient. Events change
// no snapshot.
func TestEventsBesideDiffAndHistory(t *testing.T) {
	f := startFakes(t, kindetest.Config{}, zitadeltest.Config{})
	dir := t.TempDir()
	cfg := f.writeConfig(t, dir)
	db := filepath.Join(dir, "idsnap.db")
	pullKinde := func() {
		if r := runIDSnap(t, testEnv(), "--db", db, "--config", cfg, "pull", "--source", "kinde-test"); r.code != 0 {
			t.Fatalf("pull: %d %s", r.code, r.stderr)
		}
	}
	pullKinde()
	tenant, hooks := f.kinde.Tenant, f.kinde.Webhooks
	uid, org := tenant.UserIDs()[0], tenant.OrgCodes()[0]
	tenant.RemoveMember(org, uid) // may not be a member: then it joins below
	sdb := openStoreForTest(t, db)
	log, err := sdb.EventLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	add := func(typ string, data map[string]any) {
		t.Helper()
		tok, err := hooks.Sign(hooks.Event(typ, data))
		if err != nil {
			t.Fatal(err)
		}
		v, err := kindeVerifier(f.kinde.URL)
		if err != nil {
			t.Fatal(err)
		}
		e, err := v.Verify(context.Background(), []byte(tok), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := log.AddEvent(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := tenant.AddMember(org, uid); err != nil {
		t.Fatal(err)
	}
	add("user.updated", tenant.UserData(uid))
	temp := map[string]any{"user": map[string]any{"id": "kp_ffffffffffffffffffffffffffffffff", "organizations": []map[string]any{{"code": org}}}}
	add("user.created", temp)
	add("user.deleted", map[string]any{"user": map[string]any{"id": "kp_ffffffffffffffffffffffffffffffff"}})
	log.Close()
	sdb.Close()
	before := snapshotsJSON(t, db)
	pullKinde()

	r := runIDSnap(t, nil, "--db", db, "events", "--utc")
	if r.code != 0 || strings.Count(r.stdout, "kinde-test") != 3 || !strings.Contains(r.stdout, "user.created") {
		t.Errorf("events: %d %s\n%s", r.code, r.stderr, r.stdout)
	}
	r = runIDSnap(t, nil, "--db", db, "diff", "--source", "kinde-test", "latest~1", "latest", "--utc")
	for _, want := range []string{"webhook events beside the changes", uid + "|" + org + ":member", "user.updated 20",
		"transient user", "transient grant", "kp_ffffffffffffffffffffffffffffffff"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("diff lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runIDSnap(t, nil, "--db", db, "diff", "--source", "kinde-test", "latest~1", "latest", "--format", "json")
	var js any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &js) != nil {
		t.Errorf("diff --format json is no longer one JSON document: %s", r.stdout)
	}
	r = runIDSnap(t, nil, "--db", db, "history", uid, "--utc")
	if !strings.Contains(r.stdout, "webhook events beside the changes") || !strings.Contains(r.stdout, "user.updated") {
		t.Errorf("history lacks the event:\n%s", r.stdout)
	}
	after := snapshotsJSON(t, db)
	if len(after) != len(before)+1 || !reflect.DeepEqual(after[0], before[0]) {
		t.Errorf("snapshots changed: %v then %v", before, after)
	}
}

func openStoreForTest(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func kindeVerifier(base string) (*kinde.Verifier, error) {
	return kinde.NewVerifier("kinde-test", base, fetch.NewClient(fetch.Options{MaxAttempts: 1}), kinde.VerifierOptions{})
}
