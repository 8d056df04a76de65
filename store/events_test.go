package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

func testEvent(n int, at time.Time) idsnap.Event {
	return idsnap.Event{
		Source: "kinde-prod", ID: fmt.Sprintf("event_%032x", n), Type: "user.updated",
		OccurredAt: at, ReceivedAt: at.Add(time.Second), UserID: "kp_1", Orgs: []string{"org_a"},
		Payload: json.RawMessage(fmt.Sprintf(`{ "type": "user.updated", "event_id": "event_%032x" }`, n)),
	}
}

func eventIDs(t *testing.T, db *DB, f EventFilter) []string {
	t.Helper()
	evs, err := db.Events(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.ID[len(e.ID)-2:])
	}
	return ids
}

func TestEventLogStoresOnceInOrder(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	l, err := db.EventLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 500_000_000, time.UTC)
	for i, at := range []time.Time{t0.Add(time.Hour), t0, t0.Add(2 * time.Second)} {
		added, err := l.AddEvent(ctx, testEvent(i+1, at))
		if err != nil || !added {
			t.Fatalf("AddEvent %d = %v, %v", i+1, added, err)
		}
	}
	if added, err := l.AddEvent(ctx, testEvent(2, t0)); err != nil || added {
		t.Fatalf("replayed AddEvent = %v, %v; want false, nil", added, err)
	}
	if got := strings.Join(eventIDs(t, db, EventFilter{}), " "); got != "02 03 01" {
		t.Errorf("events in occurrence order = %s, want 02 03 01", got)
	}
	if got := strings.Join(eventIDs(t, db, EventFilter{Since: t0, Until: t0.Add(time.Hour)}), " "); got != "03 01" {
		t.Errorf("events in (t0, t0+1h] = %s, want 03 01", got)
	}
	if got := eventIDs(t, db, EventFilter{Sources: []string{"other"}}); len(got) != 0 {
		t.Errorf("events of another source = %v", got)
	}
	evs, _ := db.Events(ctx, EventFilter{UserID: "kp_1"})
	if len(evs) != 3 || string(evs[0].Payload) != `{"event_id":"event_00000000000000000000000000000002","type":"user.updated"}` ||
		!evs[0].OccurredAt.Equal(t0) || evs[0].Orgs[0] != "org_a" {
		t.Errorf("stored event = %+v, want canonical payload and times kept", evs[0])
	}
}

// TestEventEntitlements: an event that says the user holds nothing ([])
// stays apart from one that does not say (nil), in the table and the spool.
func TestEventEntitlements(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	l, _ := db.EventLog(ctx)
	defer l.Close()
	t0 := time.Now()
	cases := [][]string{nil, {}, {"org_a:member", "org_a:role:admin"}}
	for i, ents := range cases {
		e := testEvent(i, t0.Add(time.Duration(i)*time.Second))
		e.Entitlements = ents
		if i == 1 {
			appendSpool(db.SpoolPath(), e)
			continue
		}
		l.AddEvent(ctx, e)
	}
	evs, err := db.Events(ctx, EventFilter{})
	if err != nil || len(evs) != 3 {
		t.Fatalf("Events = %d, %v", len(evs), err)
	}
	for i, e := range evs {
		if (e.Entitlements == nil) != (cases[i] == nil) || len(e.Entitlements) != len(cases[i]) {
			t.Errorf("event %d entitlements %#v, want %#v", i, e.Entitlements, cases[i])
		}
	}
}

func TestEventsAreAppendOnly(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)
	l, _ := db.EventLog(ctx)
	l.AddEvent(ctx, testEvent(1, time.Now()))
	raw := rawDB(t, path)
	defer raw.Close()
	for _, q := range []string{"UPDATE events SET type = 'x'", "DELETE FROM events"} {
		if _, err := raw.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s = %v, want refused", q, err)
		}
	}
}

// TestEventWhileLocked: another process (a pull) holds the write lock.
// The event is spooled and acknowledged without waiting for it, replays
// are still refused, readers see it, and it reaches the table once the
// lock is free, or at the next start.
func TestEventWhileLocked(t *testing.T) {
	ctx := context.Background()
	old := eventBusy
	eventBusy = 20 * time.Millisecond
	t.Cleanup(func() { eventBusy = old })
	db, path := openTest(t)
	l, _ := db.EventLog(ctx)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if _, err := l.AddEvent(ctx, testEvent(1, t0)); err != nil {
		t.Fatal(err)
	}

	locker := rawDB(t, path)
	defer locker.Close()
	conn, _ := locker.Conn(ctx)
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, e := range []idsnap.Event{testEvent(2, t0.Add(time.Minute)), testEvent(3, t0.Add(2*time.Minute))} {
		if added, err := l.AddEvent(ctx, e); err != nil || !added {
			t.Fatalf("AddEvent under the lock = %v, %v; want spooled", added, err)
		}
	}
	if time.Since(start) > 4*time.Second {
		t.Errorf("AddEvent waited %s for the lock; it must spool after eventBusy", time.Since(start))
	}
	for _, n := range []int{1, 2} {
		if added, err := l.AddEvent(ctx, testEvent(n, t0)); err != nil || added {
			t.Errorf("replay of event %d under the lock = %v, %v; want false, nil", n, added, err)
		}
	}
	if fi, err := os.Stat(db.SpoolPath()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("spool %v %v, want a 0600 file", fi, err)
	}
	if got := strings.Join(eventIDs(t, db, EventFilter{}), " "); got != "01 02 03" {
		t.Errorf("events seen while spooled = %s, want 01 02 03", got)
	}
	if _, err := l.Drain(ctx); !errors.Is(err, ErrLocked) {
		t.Errorf("Drain under the lock = %v, want ErrLocked", err)
	}
	conn.ExecContext(ctx, "ROLLBACK")

	if _, err := db.EventLog(ctx); err == nil || !strings.Contains(err.Error(), "another idsnap listen") {
		t.Errorf("second EventLog = %v, want refused", err)
	}
	// A new listener (after a crash) drains at start.
	l.Close()
	l2, err := db.EventLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Pending() != 0 {
		t.Errorf("pending after start = %d", l2.Pending())
	}
	if _, err := os.Stat(db.SpoolPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("spool left after drain: %v", err)
	}
	var n int
	db.sql.QueryRow("SELECT count(*) FROM events").Scan(&n)
	if n != 3 {
		t.Errorf("events in the table = %d, want 3", n)
	}
	// The first log still believes events are pending; its drain must not
	// duplicate them.
	l2.Close()
	if _, err := l.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	db.sql.QueryRow("SELECT count(*) FROM events").Scan(&n)
	if n != 3 {
		t.Errorf("events after a second drain = %d, want 3", n)
	}
}

// TestSpoolTornLine: a line cut short by a crash was never acknowledged;
// it is ignored, the lines before it kept.
func TestSpoolTornLine(t *testing.T) {
	db, _ := openTest(t)
	if err := appendSpool(db.SpoolPath(), testEvent(1, time.Now())); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(db.SpoolPath(), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"source":"kinde-prod","event_id":"ev`)
	f.Close()
	evs, err := readSpool(db.SpoolPath())
	if err != nil || len(evs) != 1 {
		t.Fatalf("readSpool = %d events, %v; want 1", len(evs), err)
	}
}

// BenchmarkAddEvent: one webhook's durable commit (synchronous=FULL), and
// its spooling while another process holds the write lock.
func BenchmarkAddEvent(b *testing.B) {
	ctx := context.Background()
	for _, locked := range []bool{false, true} {
		name := "table"
		if locked {
			name = "spool"
		}
		b.Run(name, func(b *testing.B) {
			db, path := openTest(b)
			l, err := db.EventLog(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			if locked {
				old := eventBusy
				eventBusy = 0
				defer func() { eventBusy = old }()
				locker := rawDB(b, path)
				defer locker.Close()
				conn, _ := locker.Conn(ctx)
				defer conn.Close()
				if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
					b.Fatal(err)
				}
				defer conn.ExecContext(ctx, "ROLLBACK")
			}
			t0 := time.Now()
			b.ResetTimer()
			for i := range b.N {
				if _, err := l.AddEvent(ctx, testEvent(i, t0)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
