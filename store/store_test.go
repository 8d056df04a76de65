package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

var testSource = idsnap.Source{Name: "kinde-test", Provider: "kinde", BaseURL: "https://x.kinde.com", Secrets: map[string]idsnap.Secret{"client_secret": "s3cret"}}

func openTest(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "idsnap.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// pull stages recs for src and commits them.
func pull(t testing.TB, db *DB, src idsnap.Source, recs []idsnap.Record) idsnap.Snapshot {
	t.Helper()
	ctx := context.Background()
	st, err := db.Stage(ctx, src)
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	for _, r := range recs {
		if err := st.Put(ctx, r); err != nil {
			t.Fatalf("Put(%s %s): %v", r.Kind, r.ID, err)
		}
	}
	snap, err := st.Commit(ctx)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return snap
}

func state(t testing.TB, db *DB, id int64) []idsnap.Record {
	t.Helper()
	var out []idsnap.Record
	if err := db.State(context.Background(), id, func(r idsnap.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatalf("State(%d): %v", id, err)
	}
	return out
}

func fileHash(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// rawDB opens path with no idsnap settings, to forge files.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	d, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	d.SetMaxOpenConns(1)
	return d
}

func mustExec(t testing.TB, d *sql.DB, q string) {
	t.Helper()
	if _, err := d.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestOpenCreatesPrivateWALFile(t *testing.T) {
	db, path := openTest(t)
	pull(t, db, testSource, []idsnap.Record{{Kind: idsnap.KindUser, ID: "u1", Email: "a@example.com"}})
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("stat %s: %v", p, err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("mode of %s = %v, want 0600", filepath.Base(p), got)
		}
	}
	var mode string
	var id int32
	var version int
	db.sql.QueryRow("PRAGMA journal_mode").Scan(&mode)
	db.sql.QueryRow("PRAGMA application_id").Scan(&id)
	db.sql.QueryRow("PRAGMA user_version").Scan(&version)
	if mode != "wal" || id != appID || version != schemaVersion(idsnap.Schema) {
		t.Errorf("journal_mode, application_id, user_version = %s, %#x, %d; want wal, %#x, %d", mode, id, version, appID, schemaVersion(idsnap.Schema))
	}
	var fk, busy int
	db.sql.QueryRow("PRAGMA foreign_keys").Scan(&fk)
	db.sql.QueryRow("PRAGMA busy_timeout").Scan(&busy)
	if fk != 1 || busy != int(busyTimeout.Milliseconds()) {
		t.Errorf("foreign_keys, busy_timeout = %d, %d; want 1, %d", fk, busy, busyTimeout.Milliseconds())
	}
	if schemaVersion(idsnap.Schema) < 1 {
		t.Errorf("schema.sql does not end with PRAGMA user_version")
	}
}

func TestOpenTwiceKeepsData(t *testing.T) {
	db, path := openTest(t)
	pull(t, db, testSource, []idsnap.Record{{Kind: idsnap.KindUser, ID: "u1"}})
	db.Close()
	db2, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	snaps, err := db2.Snapshots(context.Background(), "")
	if err != nil || len(snaps) != 1 {
		t.Fatalf("Snapshots after reopen = %v, %v; want 1", snaps, err)
	}
}

// TestOpenRefuses checks that files idsnap must not touch are refused with
// one line naming the file, and left byte-for-byte as they were.
func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name  string
		forge func(t *testing.T, path string)
		want  string
	}{
		{"foreign application_id", func(t *testing.T, path string) {
			d := rawDB(t, path)
			mustExec(t, d, "CREATE TABLE notes (x TEXT)")
			mustExec(t, d, "PRAGMA application_id = 1234")
			d.Close()
		}, "is not an idsnap database (application_id 0x4d2); use --db to choose another file"},
		{"sqlite without application_id", func(t *testing.T, path string) {
			d := rawDB(t, path)
			mustExec(t, d, "CREATE TABLE notes (x TEXT)")
			d.Close()
		}, "is not an idsnap database; use --db to choose another file"},
		{"text file", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(strings.Repeat("name = \"kinde\"\n", 100)), 0o600)
		}, "is not an idsnap database (not an SQLite file); use --db to choose another file"},
		{"newer schema", func(t *testing.T, path string) {
			db, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			mustExec(t, db.sql, "PRAGMA user_version = 99")
			db.Close()
		}, fmt.Sprintf("was written by a newer idsnap (schema v99, this build knows v%d); upgrade idsnap", schemaVersion(idsnap.Schema))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			tt.forge(t, path)
			before := fileHash(t, path)
			db, err := Open(context.Background(), path)
			if err == nil {
				db.Close()
				t.Fatalf("Open succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Open error = %q, want one line naming %s and containing %q", err, path, tt.want)
			}
			if fileHash(t, path) != before {
				t.Errorf("Open modified the refused file")
			}
			if _, err := os.Stat(path + "-wal"); err == nil {
				t.Errorf("Open left a -wal file beside the refused file")
			}
		})
	}
}

func setBusyTimeout(t *testing.T, d time.Duration) {
	old := busyTimeout
	busyTimeout = d
	t.Cleanup(func() { busyTimeout = old })
}

// TestLocked holds the write lock from another connection: Open and Commit
// give up after the busy timeout with one clear line, writing nothing.
func TestLocked(t *testing.T) {
	setBusyTimeout(t, 100*time.Millisecond)
	ctx := context.Background()

	t.Run("open of a file being created", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.db")
		os.WriteFile(path, nil, 0o600)
		locker := rawDB(t, path)
		defer locker.Close()
		conn, _ := locker.Conn(ctx)
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(ctx, "ROLLBACK")
		before := fileHash(t, path)
		_, err := Open(ctx, path)
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "database "+path+" is locked by another idsnap process; try again when it finishes") {
			t.Fatalf("Open of a locked file = %v, want the locked message", err)
		}
		if fileHash(t, path) != before {
			t.Errorf("Open modified the locked file")
		}
	})

	t.Run("commit", func(t *testing.T) {
		db, path := openTest(t)
		pull(t, db, testSource, []idsnap.Record{{Kind: idsnap.KindUser, ID: "u1"}})
		locker := rawDB(t, path)
		defer locker.Close()
		conn, _ := locker.Conn(ctx)
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		before, beforeWAL := fileHash(t, path), fileHash(t, path+"-wal")
		st, err := db.Stage(ctx, testSource)
		if err != nil {
			t.Fatal(err)
		}
		st.Put(ctx, idsnap.Record{Kind: idsnap.KindUser, ID: "u2"})
		_, err = st.Commit(ctx)
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "database "+path+" is locked by another idsnap process; try again when it finishes") {
			t.Fatalf("Commit under a held lock = %v, want the locked message", err)
		}
		if fileHash(t, path) != before || fileHash(t, path+"-wal") != beforeWAL {
			t.Errorf("the failed commit modified the database")
		}
		conn.ExecContext(ctx, "ROLLBACK")
		snaps, _ := db.Snapshots(ctx, "")
		if len(snaps) != 1 {
			t.Errorf("snapshots after the failed commit = %d, want 1", len(snaps))
		}
		pull(t, db, testSource, []idsnap.Record{{Kind: idsnap.KindUser, ID: "u2"}})
	})
}

// sqlNamed is changesSQL's arguments, every kind included.
func sqlNamed(src, from, to int64) []any {
	return []any{sql.Named("src", src), sql.Named("from", from), sql.Named("to", to),
		sql.Named("kmin", 1), sql.Named("kmax", 4)}
}
