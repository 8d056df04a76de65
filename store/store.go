// Package store keeps pulls as immutable snapshots in one SQLite file, with
// interval storage: each version of a record is stored once, valid from the
// snapshot where it appeared until the one where it changed or vanished.
//
// A pull streams records into a Stage, invisible to readers; Commit turns it
// into a snapshot in one transaction. Queries read the state as of any
// snapshot and the changes between two of them.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/idsnap/idsnap"
)

// ErrNotFound is returned (wrapped) when a snapshot does not exist.
var ErrNotFound = errors.New("not found")

// ErrLocked is returned (wrapped) when another process holds the database's
// write lock for longer than the busy timeout.
var ErrLocked = errors.New("locked by another idsnap process")

// ErrDiskFull is returned (wrapped) when the disk holding the database
// filled up; the transaction that hit it was rolled back.
var ErrDiskFull = errors.New("disk full")

// ErrConcurrentPull is returned (wrapped) by Commit when another snapshot of
// the same source was committed after this Stage began: snapshots of one
// source are strictly sequential, so the later-finishing of two overlapping
// pulls is refused rather than stored with data older than its predecessor's.
var ErrConcurrentPull = errors.New("another pull of this source committed first")

// Page cache sizes (PRAGMA cache_size, negative: KiB). modernc's
// allocator gives every cached page an allocation of its own, and growing
// a cache to 32 MiB cost 0.4 CPU-s, freeing it at Close 0.35 more: a scan
// of 321k current versions took 1.1 CPU-s with that cache and 0.5 with
// 8 MiB. Readers and re-pulls get readCache; a Stage that writes much
// raises its connection's cache to writeCache, where fewer dirty pages
// spill to the WAL mid-transaction (store/commit.go).
const (
	readCache  = -8 << 10
	writeCache = -32 << 10
)

// busyTimeout is how long a connection waits for another writer. A variable
// so tests of the locked case need not wait five seconds.
var busyTimeout = 5 * time.Second

// DB is an open idsnap database. It is safe for concurrent use.
type DB struct {
	sql  *sql.DB
	path string
	now  func() time.Time
	// writeTurn is held by the one Stage of this process that holds
	// SQLite's write lock (from its first applied batch to its commit). A
	// Stage that finds it taken stages on and waits for it only at Commit,
	// so sources pulled together commit in turn without waiting out the
	// busy timeout on each other.
	writeTurn chan struct{}
}

// Open opens the database at path, creating it (mode 0600) when absent and
// migrating it to this build's schema. It refuses, leaving the file
// untouched, a file that is not an idsnap database or was written by a newer
// idsnap.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := precreate(path); err != nil {
		return nil, err
	}
	db, err := sqlOpen(path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// Changes reads on two connections at once and State on one beside
	// the caller's: keep them (and their warm page caches) between calls
	// rather than database/sql's default of two idle connections, so an
	// export walking many snapshot pairs does not start each cold.
	db.SetMaxIdleConns(4)
	d := &DB{sql: db, path: path, now: time.Now, writeTurn: make(chan struct{}, 1)}
	if err := d.migrate(ctx, idsnap.Schema, upgrades); err != nil {
		db.Close()
		return nil, err
	}
	// The -wal and -shm files take the database file's mode; make sure of
	// it, whatever the umask, since they hold the same data.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Chmod(path+suffix, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			db.Close()
			return nil, fmt.Errorf("open database %s: %w", path, err)
		}
	}
	return d, nil
}

func sqlOpen(path string) (*sql.DB, error) { return sql.Open("sqlite", dsn(path)) }

// precreate creates the file with mode 0600 so SQLite never creates it with
// the umask's looser mode. An existing file is left as it is.
func precreate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		// An empty file (touched by hand or by a deployment tool) is one
		// idsnap is about to make a database of: as private as its own.
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 && fi.Mode().Perm() != 0o600 {
			if err := os.Chmod(path, 0o600); err != nil {
				return fmt.Errorf("database %s is empty and readable by others: %w; make it mode 0600", path, err)
			}
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil { // a umask of 0777 would leave 0000
		f.Close()
		return fmt.Errorf("create database %s: %w", path, err)
	}
	return f.Close()
}

// dsn puts per-connection settings in the DSN so every pooled connection
// has them. journal_mode=WAL is deliberately not here: it is persistent and
// rewrites the file header, so it is set by migrate only once the file is
// known to be ours (a foreign file must stay byte-for-byte untouched).
// _txlock=immediate is not used either: writers take the lock explicitly
// with BEGIN IMMEDIATE on a dedicated connection, and the option would make
// every read transaction take the write lock too.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", fmt.Sprintf("cache_size(%d)", readCache))
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

// sqliteCode returns the primary SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

// dbError turns SQLite's busy and not-a-database errors into the one line
// a user can act on; others are wrapped with the operation.
func (db *DB) dbError(op string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_IOERR_SHMSIZE {
		// Growing the -shm file failed: the disk is full.
		return fmt.Errorf("%s: no space left on device holding %s (for its -shm file); free space and try again (%w)", op, db.path, ErrDiskFull)
	}
	switch sqliteCode(err) {
	case sqlite3.SQLITE_BUSY:
		return fmt.Errorf("%s: database %s is %w; try again when it finishes", op, db.path, ErrLocked)
	case sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("%s is not an idsnap database (not an SQLite file); use --db to choose another file", db.path)
	case sqlite3.SQLITE_FULL:
		// SQLite rolled the transaction back: nothing of it is visible.
		return fmt.Errorf("%s: no space left on device holding %s; free space and try again (%w)", op, db.path, ErrDiskFull)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// kindCode maps kinds to their stored codes, which sort in canonical order.
var kindCode = map[idsnap.Kind]int{
	idsnap.KindUser: 1, idsnap.KindResource: 2, idsnap.KindEntitlement: 3, idsnap.KindGrant: 4,
}

// kindOf is kindCode's inverse.
func kindOf(code int) idsnap.Kind {
	if code >= 1 && code <= len(idsnap.Kinds) {
		return idsnap.Kinds[code-1]
	}
	return idsnap.Kind(fmt.Sprint(code))
}
