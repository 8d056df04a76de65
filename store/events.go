package store

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/internal/jsonbytes"
)

// eventTimeLayout stores event times with a fixed fraction so they sort as
// text (RFC3339Nano drops trailing zeros, and "05Z" sorts after "05.5Z").
const eventTimeLayout = "2006-01-02T15:04:05.000000Z"

// eventBusy is how long an event write waits for SQLite's write lock. A
// pull holds that lock from its first batch to its commit, minutes on a
// large tenant; a webhook must be answered in seconds, so past this wait
// the event goes to the spool instead. A variable for tests.
var eventBusy = 250 * time.Millisecond

// EventLog stores verified webhook events for the listener.
//
// An event is committed to the events table in a short transaction of its
// own (synchronous=FULL, so the commit is on disk) before the listener
// answers 200. When a pull holds the write lock, the event is appended to
// the spool instead, a file beside the database fsynced before the answer,
// and moved into the table once the lock is free: the listener never waits
// for a pull, and a pull never waits for the listener longer than one
// event's insert. Readers (Events) see spooled events too.
type EventLog struct {
	db    *DB
	spool string
	lock  *os.File

	mu      sync.Mutex
	pending map[string]bool // source + "\x00" + event id of spooled events
	queue   []idsnap.Event  // the spooled events, in arrival order
}

// SpoolPath is where the events that waited for a pull are kept.
func (db *DB) SpoolPath() string { return db.path + ".events-spool" }

// EventLog opens the database's event log for the one listener of the
// database, and moves any spooled events into the table (when the lock is
// free). Close it when done.
func (db *DB) EventLog(ctx context.Context) (*EventLog, error) {
	lock, err := lockEvents(db.path + ".events-lock")
	if err != nil {
		return nil, err
	}
	l := &EventLog{db: db, spool: db.SpoolPath(), lock: lock, pending: map[string]bool{}}
	spooled, err := readSpool(l.spool)
	if err != nil {
		lock.Close()
		return nil, err
	}
	for _, e := range spooled {
		l.pending[eventKey(e)] = true
	}
	l.queue = spooled
	if _, err := l.Drain(ctx); err != nil && !errors.Is(err, ErrLocked) {
		lock.Close()
		return nil, err
	}
	return l, nil
}

// Close releases the log's lock; spooled events stay for the next start.
func (l *EventLog) Close() error { return l.lock.Close() }

func eventKey(e idsnap.Event) string { return e.Source + "\x00" + e.ID }

// Pending is the number of spooled events not yet in the table.
func (l *EventLog) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// AddEvent stores e durably and reports whether it is new: false for an
// event id already stored or spooled (a replay, or Kinde's retry of a
// webhook whose answer it missed).
func (l *EventLog) AddEvent(ctx context.Context, e idsnap.Event) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending[eventKey(e)] {
		return false, nil
	}
	if len(l.pending) > 0 {
		// Keep the table in arrival order: spooled events go first.
		if _, err := l.drain(ctx); err != nil && !errors.Is(err, ErrLocked) {
			return false, err
		}
	}
	if len(l.pending) == 0 {
		added, err := l.db.insertEvents(ctx, []idsnap.Event{e})
		if err == nil {
			return added == 1, nil
		}
		if !errors.Is(err, ErrLocked) {
			return false, err
		}
	}
	// Locked: readers are not, so a replay is still told apart.
	seen, err := l.db.hasEvent(ctx, e)
	if err != nil || seen {
		return false, err
	}
	if err := appendSpool(l.spool, e); err != nil {
		return false, err
	}
	l.pending[eventKey(e)] = true
	l.queue = append(l.queue, e)
	return true, nil
}

// Drain moves spooled events into the table; it returns how many it moved,
// or an ErrLocked error when a pull still holds the lock.
func (l *EventLog) Drain(ctx context.Context) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.drain(ctx)
}

func (l *EventLog) drain(ctx context.Context) (int, error) {
	if len(l.queue) == 0 {
		return 0, nil
	}
	// The queue is the spool's content: this log is the spool's only
	// writer (lockEvents), so the file need not be read again.
	if _, err := l.db.insertEvents(ctx, l.queue); err != nil {
		return 0, err
	}
	// Committed: a crash before the removal only makes the next drain
	// insert nothing (the ids are unique).
	if err := os.Remove(l.spool); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("remove event spool: %w", err)
	}
	n := len(l.queue)
	l.pending, l.queue = map[string]bool{}, nil
	return n, nil
}

// insertEvents commits events in one short transaction, waiting at most
// eventBusy for the lock, and returns how many were new.
func (db *DB) insertEvents(ctx context.Context, events []idsnap.Event) (int, error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return 0, db.dbError("store event", err)
	}
	defer conn.Close()
	// Per-connection settings, restored before the pool reuses it.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d; PRAGMA synchronous = FULL", eventBusy.Milliseconds())); err != nil {
		return 0, db.dbError("store event", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA busy_timeout = %d; PRAGMA synchronous = NORMAL", busyTimeout.Milliseconds()))
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		if sqliteCode(err) == sqlite3.SQLITE_BUSY {
			return 0, fmt.Errorf("store event: %w", ErrLocked)
		}
		return 0, db.dbError("store event", err)
	}
	added := 0
	err = func() error {
		for _, e := range events {
			payload, err := jsonbytes.Canonical(e.Payload)
			if err != nil {
				return fmt.Errorf("event %s: payload: %w", e.ID, err)
			}
			orgs, _ := json.Marshal(nonNil(e.Orgs))
			var ents any // NULL: the event does not say
			if e.Entitlements != nil {
				b, _ := json.Marshal(e.Entitlements)
				ents = string(b)
			}
			res, err := conn.ExecContext(ctx, `INSERT INTO events (source, event_id, type, occurred_at, received_at, user_id, orgs, entitlements, payload)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, event_id) DO NOTHING`,
				e.Source, e.ID, e.Type, eventTime(e.OccurredAt), eventTime(e.ReceivedAt), nullString(e.UserID), string(orgs), ents, string(payload))
			if err != nil {
				return db.dbError("store event "+e.ID, err)
			}
			n, _ := res.RowsAffected()
			added += int(n)
		}
		_, err := conn.ExecContext(ctx, "COMMIT")
		return err
	}()
	if err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return 0, err
	}
	return added, nil
}

func (db *DB) hasEvent(ctx context.Context, e idsnap.Event) (bool, error) {
	var n int
	err := db.sql.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE source = ? AND event_id = ?", e.Source, e.ID).Scan(&n)
	if err != nil {
		return false, db.dbError("read events", err)
	}
	return n > 0, nil
}

func eventTime(t time.Time) string { return t.UTC().Format(eventTimeLayout) }

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// EventFilter chooses events: of Sources (all when empty), with
// Since < occurred_at <= Until (zero: unbounded), about UserID ("" any).
type EventFilter struct {
	Sources      []string
	Since, Until time.Time
	UserID       string
}

func (f EventFilter) match(e idsnap.Event) bool {
	return (len(f.Sources) == 0 || slices.Contains(f.Sources, e.Source)) &&
		(f.Since.IsZero() || e.OccurredAt.After(f.Since)) &&
		(f.Until.IsZero() || !e.OccurredAt.After(f.Until)) &&
		(f.UserID == "" || e.UserID == f.UserID)
}

// Events returns the stored and spooled events f chooses, in the order
// they occurred.
func (db *DB) Events(ctx context.Context, f EventFilter) ([]idsnap.Event, error) {
	q := "SELECT source, event_id, type, occurred_at, received_at, coalesce(user_id, ''), orgs, entitlements, payload FROM events WHERE 1=1"
	var args []any
	if !f.Since.IsZero() {
		q += " AND occurred_at > ?"
		args = append(args, eventTime(f.Since))
	}
	if !f.Until.IsZero() {
		q += " AND occurred_at <= ?"
		args = append(args, eventTime(f.Until))
	}
	if len(f.Sources) > 0 {
		q += " AND source IN (?" + strings.Repeat(", ?", len(f.Sources)-1) + ")"
		for _, s := range f.Sources {
			args = append(args, s)
		}
	}
	if f.UserID != "" {
		q += " AND user_id = ?"
		args = append(args, f.UserID)
	}
	rows, err := db.sql.QueryContext(ctx, q+" ORDER BY occurred_at, id", args...)
	if err != nil {
		return nil, db.dbError("read events", err)
	}
	defer rows.Close()
	var out []idsnap.Event
	seen := map[string]bool{}
	for rows.Next() {
		var e idsnap.Event
		var occurred, received, orgs, payload string
		var ents sql.NullString
		if err := rows.Scan(&e.Source, &e.ID, &e.Type, &occurred, &received, &e.UserID, &orgs, &ents, &payload); err != nil {
			return nil, db.dbError("read events", err)
		}
		e.OccurredAt, e.ReceivedAt = parseTime(occurred), parseTime(received)
		if err := json.Unmarshal([]byte(orgs), &e.Orgs); err != nil {
			return nil, fmt.Errorf("read events: event %s: orgs: %w", e.ID, err)
		}
		if len(e.Orgs) == 0 {
			e.Orgs = nil
		}
		if ents.Valid {
			if err := json.Unmarshal([]byte(ents.String), &e.Entitlements); err != nil {
				return nil, fmt.Errorf("read events: event %s: entitlements: %w", e.ID, err)
			}
		}
		e.Payload = json.RawMessage(payload)
		seen[eventKey(e)] = true
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, db.dbError("read events", err)
	}
	spooled, err := readSpool(db.SpoolPath())
	if err != nil {
		return nil, err
	}
	for _, e := range spooled {
		if f.match(e) && !seen[eventKey(e)] {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b idsnap.Event) int { return a.OccurredAt.Compare(b.OccurredAt) })
	return out, nil
}

// appendSpool appends e as one JSON line and fsyncs, so the event is on
// disk before the listener answers.
func appendSpool(path string, e idsnap.Event) error {
	payload, err := jsonbytes.Canonical(e.Payload)
	if err != nil {
		return fmt.Errorf("event %s: payload: %w", e.ID, err)
	}
	e.Payload = payload
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool event: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("spool event: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("spool event: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spool event: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		return syncDir(path) // the new file's name must be on disk too
	}
	return nil
}

// readSpool reads the spooled events. A last line without its newline was
// being written when the listener died, before it answered: it is ignored
// (Kinde delivers that webhook again).
func readSpool(path string) ([]idsnap.Event, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read event spool: %w", err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1]
	}
	var out []idsnap.Event
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<24)
	for n := 1; sc.Scan(); n++ {
		var e idsnap.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("read event spool %s: line %d: %w", path, n, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

func syncDir(path string) error {
	i := strings.LastIndexByte(path, os.PathSeparator)
	dir := "."
	if i >= 0 {
		dir = path[:i+1]
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool event: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool event: %w", err)
	}
	return nil
}
