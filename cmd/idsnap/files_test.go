package main

import (
	"bytes"
	"context"
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/idsnap/idsnap/fetch/ory/orytest"
	"github.com/idsnap/idsnap/store"
)

// oryWorld is one small Ory fake and a config naming it.
func oryWorld(t *testing.T) (dir, cfg string) {
	t.Helper()
	o := orytest.NewServer(orytest.Generate(61, 30), orytest.Config{})
	t.Cleanup(o.Close)
	dir = t.TempDir()
	cfg = filepath.Join(dir, "idsnap.toml")
	if err := os.WriteFile(cfg, []byte("[sources.ory]\nprovider = \"ory\"\nbase_url = \""+o.URL+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

func TestFileModes(t *testing.T) {
	old := setUmask(0o022) // the usual umask, which would give 0644
	defer setUmask(old)
	dir, cfg := oryWorld(t)
	db := filepath.Join(dir, "idsnap.db")
	if r := runIn(nil, dir, cfg, "pull"); r.code != 0 {
		t.Fatalf("pull: %s", r.stderr)
	}
	// Hold a connection so the -wal and -shm files outlive the next pull.
	hold, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if _, err := hold.Snapshots(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"pull"},
		{"export", "access-review", "--at", "latest", "--out", filepath.Join(dir, "review")},
		{"export", "changes", "--since", "7d", "--out", filepath.Join(dir, "changes")},
	} {
		if r := runIn(nil, dir, cfg, args...); r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		checkMode(t, db+suffix)
	}
	n := 0
	for _, exp := range []string{"review", "changes"} {
		filepath.WalkDir(filepath.Join(dir, exp), func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
				checkMode(t, path)
			}
			return err
		})
	}
	if n < 4 {
		t.Errorf("exports hold %d files; want data, manifest and sums of both", n)
	}
}

func checkMode(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("%s has mode %o, want 600: it holds identity data", filepath.Base(path), m)
	}
}

// snapshotDir lists a directory's files with their bytes.
func snapshotDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			out[e.Name()] = b
		}
	}
	return out
}

func sameDir(t *testing.T, before, after map[string][]byte) {
	t.Helper()
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("%s changed", name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s appeared", name)
		}
	}
}

func TestRefusedFilesUntouched(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T, path string)
		want string
	}{
		{"text file", func(t *testing.T, path string) {
			os.WriteFile(path, []byte("name,email\nalice,alice@example.com\n"+strings.Repeat("x", 5000)), 0o600)
		}, "is not an idsnap database"},
		{"another program's SQLite database", func(t *testing.T, path string) {
			db, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me')"); err != nil {
				t.Fatal(err)
			}
		}, "is not an idsnap database"},
		{"newer schema", func(t *testing.T, path string) {
			db, err := store.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			raw, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec("PRAGMA journal_mode = DELETE; PRAGMA user_version = 999"); err != nil {
				t.Fatal(err)
			}
		}, "newer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, cfg := oryWorld(t)
			db := filepath.Join(dir, "idsnap.db")
			tt.make(t, db)
			before := snapshotDir(t, dir)
			for _, args := range [][]string{{"pull"}, {"snapshots"}, {"diff"}, {"findings"}} {
				r := runIn(nil, dir, cfg, args...)
				if r.code != 1 {
					t.Errorf("%v on a refused file: exit %d, want 1", args, r.code)
				}
				lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
				last := lines[len(lines)-1]
				if !strings.Contains(last, tt.want) || !strings.HasPrefix(last, "idsnap: ") {
					t.Errorf("%v: stderr ends %q, want one line saying %q", args, last, tt.want)
				}
				if args[0] == "snapshots" {
					t.Logf("%s", last)
				}
			}
			sameDir(t, before, snapshotDir(t, dir))
		})
	}
}

// A database another process is writing: pull waits out the busy timeout,
// then fails with one clear line, and the file is left as it was.
func TestLockedDatabase(t *testing.T) {
	dir, cfg := oryWorld(t)
	db := filepath.Join(dir, "idsnap.db")
	if r := runIn(nil, dir, cfg, "pull"); r.code != 0 {
		t.Fatalf("pull: %s", r.stderr)
	}
	raw, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	conn, err := raw.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	r := runIn(nil, dir, cfg, "pull")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if last := lines[len(lines)-1]; r.code != 1 || !strings.Contains(last, "locked by another idsnap process") || !strings.HasPrefix(last, "idsnap: ory: ") {
		t.Errorf("pull of a locked database: exit %d, stderr %q; want 1 and one line saying it is locked", r.code, r.stderr)
	}
	after, _ := os.ReadFile(db)
	if !bytes.Equal(before, after) {
		t.Error("the locked database file changed")
	}
	// Readers are not blocked by a writer (WAL).
	if r := runIn(nil, dir, cfg, "snapshots"); r.code != 0 || !strings.Contains(r.stdout, "ory") {
		t.Errorf("snapshots while another process writes: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

// setUmask sets the process umask and returns the old one.
func setUmask(m int) int { return syscall.Umask(m) }
