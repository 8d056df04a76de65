package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

func countRows(t testing.TB, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.sql.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func users(n int, tag string) []idsnap.Record {
	out := make([]idsnap.Record, n)
	for i := range out {
		out[i] = idsnap.Record{Kind: idsnap.KindUser, ID: fmt.Sprintf("kp_%07d", i), Email: fmt.Sprintf("u%d@example.com", i),
			Name: "User " + tag, Raw: []byte(fmt.Sprintf(`{"id":"kp_%07d","tag":%q}`, i, tag))}
	}
	return out
}

func TestAbortLeavesNothing(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	st, err := db.Stage(ctx, testSource)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range users(5000, "a") { // more than one batch
		if err := st.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := st.Abort(); err != nil {
		t.Errorf("second Abort = %v, want nil", err)
	}
	if err := st.Put(ctx, users(1, "a")[0]); err == nil {
		t.Errorf("Put after Abort succeeded")
	}
	snaps, _ := db.Snapshots(ctx, "")
	if len(snaps) != 0 || countRows(t, db, "versions") != 0 || countRows(t, db, "activity") != 0 {
		t.Errorf("after Abort: %d snapshots, %d versions; want none", len(snaps), countRows(t, db, "versions"))
	}
	s := pull(t, db, testSource, users(3, "b"))
	if s.Counts[idsnap.KindUser] != 3 {
		t.Errorf("next pull counts = %v", s.Counts)
	}
	// Abort after Commit is a no-op.
	st2, _ := db.Stage(ctx, testSource)
	st2.Commit(ctx)
	if err := st2.Abort(); err != nil {
		t.Errorf("Abort after Commit = %v", err)
	}
}

func TestPutConcurrentAndDuplicates(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	st, err := db.Stage(ctx, testSource)
	if err != nil {
		t.Fatal(err)
	}
	recs := users(5000, "x")
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(recs); i += 4 {
				if err := st.Put(ctx, recs[i]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	snap, err := st.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Counts[idsnap.KindUser] != 5000 || len(state(t, db, snap.ID)) != 5000 {
		t.Errorf("concurrent Puts: counts %v", snap.Counts)
	}

	st, _ = db.Stage(ctx, testSource)
	defer st.Abort()
	var putErr error
	for _, r := range append(users(2100, "y"), users(1, "z")...) {
		if putErr = st.Put(ctx, r); putErr != nil {
			break
		}
	}
	if putErr == nil {
		_, putErr = st.Commit(ctx)
	}
	if putErr == nil || !strings.Contains(putErr.Error(), `duplicate user "kp_0000000"`) {
		t.Errorf("staging a duplicate = %v, want duplicate user \"kp_0000000\"", putErr)
	}
}

func TestPutRejects(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	st, _ := db.Stage(ctx, testSource)
	defer st.Abort()
	for _, r := range []idsnap.Record{
		{Kind: "group", ID: "g"},
		{Kind: idsnap.KindUser},
		{Kind: idsnap.KindUser, ID: "u", Raw: []byte(`{"a":`)},
	} {
		if err := st.Put(ctx, r); err == nil {
			t.Errorf("Put(%+v) succeeded, want error", r)
		}
	}
}

func TestConcurrentPullOfOneSource(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	a, _ := db.Stage(ctx, testSource)
	b, _ := db.Stage(ctx, testSource)
	other, _ := db.Stage(ctx, idsnap.Source{Name: "zitadel", Provider: "zitadel"})
	a.Put(ctx, users(1, "a")[0])
	b.Put(ctx, users(1, "b")[0])
	other.Put(ctx, users(1, "o")[0])
	if _, err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Commit(ctx); err != nil {
		t.Errorf("a pull of another source = %v, want it to commit independently", err)
	}
	_, err := b.Commit(ctx)
	if !errors.Is(err, ErrConcurrentPull) || !strings.Contains(err.Error(), "pull again") {
		t.Errorf("overlapping pull of the same source = %v, want ErrConcurrentPull", err)
	}
	snaps, _ := db.Snapshots(ctx, testSource.Name)
	if len(snaps) != 1 {
		t.Errorf("snapshots of %s = %d, want 1", testSource.Name, len(snaps))
	}
}

// Two sources staged at once in one process: the first to fill a batch
// holds the write lock and applies as it goes; the other keeps its batches
// in its TEMP table, and its Commit waits for the first to finish, then
// applies them all. Readers see neither snapshot before its commit.
func TestStagesTakeTurns(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	other := idsnap.Source{Name: "zitadel", Provider: "zitadel"}
	pull(t, db, other, users(10, "old"))
	a, _ := db.Stage(ctx, testSource)
	b, _ := db.Stage(ctx, other)
	n := 2*batchRows + 5
	for _, r := range users(n, "a") {
		if err := a.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// The first batch went to a's writer, which takes the lock at once.
	for deadline := time.Now().Add(10 * time.Second); len(db.writeTurn) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	for _, r := range users(n, "b") {
		if err := b.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	committed := make(chan idsnap.Snapshot)
	go func() {
		snap, err := b.Commit(ctx)
		if err != nil {
			t.Error(err)
		}
		committed <- snap
	}()
	select {
	case <-committed:
		t.Fatal("the second stage committed while the first held the write lock")
	case <-time.After(200 * time.Millisecond):
	}
	if snaps, _ := db.Snapshots(ctx, ""); len(snaps) != 1 {
		t.Errorf("readers see %d snapshots before either commit, want 1", len(snaps))
	}
	sa, err := a.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sb := <-committed
	if sb.ID <= sa.ID {
		t.Errorf("snapshot ids %d then %d: want them in commit order", sa.ID, sb.ID)
	}
	for _, s := range []idsnap.Snapshot{sa, sb} {
		got := state(t, db, s.ID)
		if len(got) != n || s.Counts[idsnap.KindUser] != int64(n) {
			t.Errorf("snapshot %d of %s: %d records, counts %v; want %d", s.ID, s.Source, len(got), s.Counts, n)
		}
	}
	if got := state(t, db, sb.ID); got[0].Name != "User b" {
		t.Errorf("%s's state = %q, want its own records", other.Name, got[0].Name)
	}
}

func TestSnapshotsAndChain(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	s1 := pull(t, db, testSource, users(3, "a"))
	s2 := pull(t, db, testSource, users(3, "a"))
	s3 := pull(t, db, testSource, users(3, "b"))
	if s1.Digest != s2.Digest || s2.Digest == s3.Digest {
		t.Errorf("digests %s %s %s: want equal content to give equal digests", s1.Digest, s2.Digest, s3.Digest)
	}
	if s2.ChainDigest != chainDigest(s1.ChainDigest, s2.Digest) || s1.ChainDigest != chainDigest("", s1.Digest) {
		t.Errorf("chain digests do not chain")
	}
	got, err := db.Snapshot(ctx, s2.ID)
	if err != nil || got.ChainDigest != s2.ChainDigest || got.Source != testSource.Name || !got.TakenAt.Equal(s2.TakenAt) {
		t.Errorf("Snapshot(%d) = %+v, %v; want %+v", s2.ID, got, err, s2)
	}
	if _, err := db.Snapshot(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("Snapshot(99) = %v, want ErrNotFound", err)
	}
	if err := db.State(ctx, 99, func(idsnap.Record) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("State(99) = %v, want ErrNotFound", err)
	}
	if _, err := db.Changes(ctx, s3.ID, s1.ID, ChangeOptions{}); err == nil {
		t.Errorf("Changes(newer, older) succeeded")
	}
	o := pull(t, db, idsnap.Source{Name: "ory", Provider: "ory"}, users(1, "o"))
	if _, err := db.Changes(ctx, s1.ID, o.ID, ChangeOptions{}); err == nil || !strings.Contains(err.Error(), "one source") {
		t.Errorf("Changes across sources = %v, want refusal", err)
	}
	if all, _ := db.Snapshots(ctx, ""); len(all) != 4 {
		t.Errorf("Snapshots(\"\") = %d, want 4", len(all))
	}
	found, err := db.FindUsers(ctx, "U1@EXAMPLE.COM")
	if err != nil || len(found) != 1 || found[0].ID != "kp_0000001" || found[0].Source != testSource.Name || found[0].Name != "User b" {
		t.Errorf("FindUsers(email) = %+v, %v", found, err)
	}
	if found, _ := db.FindUsers(ctx, "kp_0000000"); len(found) != 2 {
		t.Errorf("FindUsers(id) = %d users, want one per source", len(found))
	}
}

// TestChangesUsesIndexes asserts the plan: the candidate scans are index
// range scans, never a scan of the versions table. (With the Activity
// option the source's versions are walked by design, see activityCand.)
func TestChangesUsesIndexes(t *testing.T) {
	db, _ := openTest(t)
	for _, extra := range []string{"", activityCand} {
		plan := queryPlan(t, db.sql, fmt.Sprintf(changesSQL, extra), sqlNamed(1, 2, 3)...)
		joined := strings.Join(plan, "\n")
		wants := []string{"versions USING INDEX versions_from (source_id=? AND valid_from>? AND valid_from<?)",
			"versions USING INDEX versions_to (source_id=? AND valid_to>? AND valid_to<?)"}
		if extra != "" {
			wants = append(wants, "SEARCH x EXISTS USING PRIMARY KEY (version_id=? AND valid_from>? AND valid_from<?)")
		}
		for _, want := range wants {
			if !strings.Contains(joined, want) {
				t.Errorf("plan lacks %q:\n%s", want, joined)
			}
		}
		for _, l := range plan {
			if strings.HasPrefix(l, "SCAN v") || strings.HasPrefix(l, "SCAN versions") || strings.HasPrefix(l, "SCAN x") || strings.HasPrefix(l, "SCAN activity") {
				t.Errorf("plan scans a whole table: %q\n%s", l, joined)
			}
		}
	}
}

// Applying a batch looks no key up: it walks temp.batch and seeks
// versions by id. Reading the index at the start and the digest at the end
// each walk the source's part of the covering versions_key once, in key
// order (no sort), and the index seeks each version's latest activity.
func TestApplyUsesIndexes(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	pull(t, db, testSource, users(100, "a"))
	st, err := db.Stage(ctx, testSource)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Abort()
	for _, q := range applySQL {
		plan := queryPlan(t, st.conn, q, sql.Named("new", 5), sql.Named("src", 1), sql.Named("base", 100))
		joined := strings.Join(plan, "\n")
		for _, l := range plan {
			if strings.HasPrefix(l, "SCAN v") || strings.HasPrefix(l, "SCAN activity") || strings.Contains(l, "versions_key") {
				t.Errorf("plan of %.40q walks a table or index: %q\n%s", q, l, joined)
			}
		}
	}
	for q, wants := range map[string][]string{
		digestSQL: {"SEARCH versions USING COVERING INDEX versions_key (source_id=?)"},
		loadIndexSQL: {"SEARCH v USING COVERING INDEX versions_key (source_id=?)",
			"SEARCH a USING PRIMARY KEY (version_id=? AND valid_from=?)"},
	} {
		plan := queryPlan(t, st.conn, q, 1)
		joined := strings.Join(plan, "\n")
		for _, want := range wants {
			if !strings.Contains(joined, want) {
				t.Errorf("plan of %.40q lacks %q:\n%s", q, want, joined)
			}
		}
		if strings.Contains(joined, "TEMP B-TREE") || strings.Contains(joined, "SCAN v") {
			t.Errorf("plan of %.40q sorts or scans:\n%s", q, joined)
		}
	}
}

// The crash test: a child process (this test binary, re-executed) commits
// pulls in a loop and is killed with SIGKILL at random moments.
const crashEnv = "IDSNAP_STORE_CRASH_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	code := m.Run()
	if changes1M.db != nil {
		changes1M.db.Close()
		os.RemoveAll(changes1M.dir)
	}
	os.Exit(code)
}

func crashChild(path string) {
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		st, err := db.Stage(ctx, testSource)
		if err != nil {
			os.Exit(2)
		}
		for _, r := range users(3000+i%7*100, fmt.Sprint(i%3)) {
			st.Put(ctx, r)
		}
		if _, err := st.Commit(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
}

func TestKilledCommitLeavesNoTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	ctx := context.Background()
	db, path := openTest(t)
	pull(t, db, testSource, users(10, "seed"))
	db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Random kill moments; the assertions never depend on where it lands.
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("kill %d: Open: %v", i, err)
		}
		var check string
		db.sql.QueryRow("PRAGMA integrity_check").Scan(&check)
		if check != "ok" {
			t.Fatalf("kill %d: integrity_check = %s", i, check)
		}
		snaps, err := db.Snapshots(ctx, testSource.Name)
		if err != nil {
			t.Fatal(err)
		}
		// No partial snapshot: the last one's state matches its counts.
		last := snaps[len(snaps)-1]
		if n := int64(len(state(t, db, last.ID))); n != last.Counts[idsnap.KindUser] {
			t.Fatalf("kill %d: snapshot %d has %d records, counts say %d", i, last.ID, n, last.Counts[idsnap.KindUser])
		}
		s := pull(t, db, testSource, users(5, fmt.Sprint("after", i)))
		if got := state(t, db, s.ID); len(got) != 5 || got[0].Name != "User after"+fmt.Sprint(i) {
			t.Fatalf("kill %d: the next pull's state = %d records", i, len(got))
		}
		db.Close()
	}
}

// A fetcher emits from a pool whose context ends when the pool does, while
// the last batches may still be queued for the writer: they must be written
// all the same, and only a Put under a cancelled context refused.
func TestPutContextEndsBeforeCommit(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	st, err := db.Stage(ctx, testSource)
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithCancel(ctx)
	recs := users(3*batchRows+7, "a")
	for _, r := range recs {
		if err := st.Put(pctx, r); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := st.Put(pctx, users(1, "z")[0]); !errors.Is(err, context.Canceled) {
		t.Errorf("Put under a cancelled context = %v, want context.Canceled", err)
	}
	snap, err := st.Commit(ctx)
	if err != nil {
		t.Fatalf("Commit after the emitters' context ended = %v", err)
	}
	if got := snap.Counts[idsnap.KindUser]; got != int64(len(recs)) {
		t.Errorf("committed %d users, want %d", got, len(recs))
	}
}

// A Stage writes with foreign keys off on its own connection. What its
// pulls leave must still pass foreign_key_check and match their pull
// index, whether it wrote as it went or waited for another Stage's lock
// (TEMP tables), and every pooled connection must enforce foreign keys
// again afterwards.
func TestPullsPassForeignKeyCheck(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	db.sql.SetMaxOpenConns(2)
	other := idsnap.Source{Name: "zitadel", Provider: "zitadel"}
	gen := func(n int, tag string, signIns int64) []idsnap.Record {
		recs := users(n, tag)
		for i := range recs {
			if i%3 != 0 {
				recs[i].Activity = &idsnap.Activity{SignIns: signIns + int64(i%5)}
			}
		}
		return recs
	}
	n := 2*batchRows + 7
	for round, tag := range []string{"a", "b"} {
		a, err := db.Stage(ctx, testSource)
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.Stage(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		// The second round changes half of the records (a's first batch
		// still fills), lets some sign in and others vanish.
		ra, rb := gen(n, "a", 1), gen(n+round*50, "b", 1)
		if round == 1 {
			for i := range ra {
				if i%2 == 1 {
					ra[i] = gen(i+1, tag+"2", 1)[i]
				} else if i%7 == 2 {
					ra[i].Activity = &idsnap.Activity{SignIns: 99}
				}
			}
			ra, rb = ra[:n-40], gen(n-30, "b2", 2)
		}
		for _, r := range ra {
			if err := a.Put(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		// a's first batch takes the lock; b keeps its batches aside.
		for deadline := time.Now().Add(10 * time.Second); len(db.writeTurn) == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		for _, r := range rb {
			if err := b.Put(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		committed := make(chan idsnap.Snapshot, 1)
		go func() {
			sb, err := b.Commit(ctx)
			if err != nil {
				t.Error(err)
			}
			committed <- sb
		}()
		sa, err := a.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sb := <-committed
		for _, c := range []struct {
			snap idsnap.Snapshot
			recs []idsnap.Record
		}{{sa, ra}, {sb, rb}} {
			want := expectState(t, c.snap.Source, c.recs)
			if got := state(t, db, c.snap.ID); !reflect.DeepEqual(got, want) {
				t.Errorf("round %d: state of %s differs from what was put (%d records, want %d)", round, c.snap.Source, len(got), len(want))
			}
			// Each way of writing numbers the versions it inserts
			// itself; the pull index must know those ids.
			checkPullIndex(t, db, c.snap)
		}
	}
	res, err := db.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.ForeignKeys != 0 || len(res.Problems) > 0 {
		t.Errorf("check: %d foreign key rows, problems %q", res.ForeignKeys, res.Problems)
	}
	var conns []*sql.Conn
	for range 2 {
		c, err := db.sql.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		var fk int
		if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
			t.Errorf("pooled connection %d: foreign_keys = %d (%v), want 1", i, fk, err)
		}
	}
}
