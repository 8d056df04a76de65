package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

// dumpSchema lists the schema objects and the version, to compare files.
func dumpSchema(t *testing.T, db *DB) string {
	t.Helper()
	rows, err := db.sql.Query("SELECT type, name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, q string
		rows.Scan(&typ, &name, &q)
		b.WriteString(typ + " " + name + ": " + strings.Join(strings.Fields(q), " ") + "\n")
	}
	var v int
	var id int32
	db.sql.QueryRow("PRAGMA user_version").Scan(&v)
	db.sql.QueryRow("PRAGMA application_id").Scan(&id)
	fmt.Fprintf(&b, "user_version %d application_id %#x", v, id)
	return b.String()
}

func migrateWith(t *testing.T, path, schema string, ups []string) (*DB, error) {
	t.Helper()
	if err := precreate(path); err != nil {
		t.Fatal(err)
	}
	d := &DB{path: path}
	var err error
	if d.sql, err = sqlOpen(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.sql.Close() })
	return d, d.migrate(context.Background(), schema, ups)
}

// TestUpgradeMatchesFresh: each frozen schema, upgraded by the entries of
// upgrades from its version on, equals a fresh file from schema.sql.
func TestUpgradeMatchesFresh(t *testing.T) {
	frozen, err := filepath.Glob("testdata/schema-v*.sql")
	if err != nil || len(frozen) == 0 {
		t.Fatalf("no frozen schemas in testdata: %v", err)
	}
	for _, path := range frozen {
		t.Run(filepath.Base(path), func(t *testing.T) {
			old, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			o, err := migrateWith(t, filepath.Join(dir, "old.db"), string(old), nil)
			if err != nil {
				t.Fatal(err)
			}
			o.sql.Close()
			upgraded, err := migrateWith(t, filepath.Join(dir, "old.db"), idsnap.Schema, upgrades)
			if err != nil {
				t.Fatalf("upgrade from v%d: %v", schemaVersion(string(old)), err)
			}
			fresh, err := migrateWith(t, filepath.Join(dir, "fresh.db"), idsnap.Schema, upgrades)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := dumpSchema(t, upgraded), dumpSchema(t, fresh); got != want {
				t.Errorf("v%d upgraded:\n%s\nfresh:\n%s", schemaVersion(string(old)), got, want)
			}
		})
	}
	if got, want := len(upgrades)+1, schemaVersion(idsnap.Schema); got != want {
		t.Errorf("1 + len(upgrades) = %d, want schema.sql's version %d", got, want)
	}
}

// TestUpgradeSteps exercises the mechanism with a fake v3 schema: a v1 file
// with data goes through two upgrades, keeps its rows and ends equal to a
// fresh v3 file.
func TestUpgradeSteps(t *testing.T) {
	b, err := os.ReadFile("testdata/schema-v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	v1 := string(b)
	ups := []string{
		"CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);",
		"ALTER TABLE notes ADD COLUMN author TEXT; CREATE INDEX notes_author ON notes (author);",
	}
	v3 := strings.Replace(v1, "PRAGMA user_version = 1;", `CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, author TEXT);
CREATE INDEX notes_author ON notes (author);
PRAGMA user_version = 3;`, 1)
	dir := t.TempDir()
	old, err := migrateWith(t, filepath.Join(dir, "old.db"), v1, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, old.sql, "INSERT INTO sources (name) VALUES ('kept')")
	old.sql.Close()
	up, err := migrateWith(t, filepath.Join(dir, "old.db"), v3, ups)
	if err != nil {
		t.Fatalf("upgrade v1 to v3: %v", err)
	}
	fresh, err := migrateWith(t, filepath.Join(dir, "fresh.db"), v3, ups)
	if err != nil {
		t.Fatal(err)
	}
	got, want := dumpSchema(t, up), dumpSchema(t, fresh)
	// ALTER TABLE keeps the column as added; compare column lists instead of text.
	norm := func(s string) string {
		return strings.NewReplacer("text TEXT NOT NULL, author TEXT)", "text TEXT NOT NULL)", ", author TEXT", "").Replace(s)
	}
	if norm(got) != norm(want) {
		t.Errorf("v1 upgraded twice:\n%s\nfresh v3:\n%s", got, want)
	}
	var v int
	up.sql.QueryRow("PRAGMA user_version").Scan(&v)
	var n int
	up.sql.QueryRow("SELECT count(*) FROM sources WHERE name = 'kept'").Scan(&n)
	var cols int
	up.sql.QueryRow("SELECT count(*) FROM pragma_table_info('notes')").Scan(&cols)
	if v != 3 || n != 1 || cols != 3 {
		t.Errorf("after upgrade: user_version %d, kept rows %d, notes columns %d; want 3, 1, 3", v, n, cols)
	}

	// A missing upgrade is an error, not a silent skip.
	_, err = migrateWith(t, filepath.Join(dir, "fresh.db"), strings.Replace(v3, "user_version = 3", "user_version = 4", 1), ups)
	if err == nil || !strings.Contains(err.Error(), "no upgrade from schema v3") {
		t.Errorf("migrate without the v3 upgrade = %v, want no upgrade from schema v3", err)
	}
}

// TestOpenRacesSchemaCreation: another process creates the schema of a new
// file between the reads of its header (the hook runs it exactly there).
// Read apart, the header showed application_id 0 beside a full schema and
// Open refused the file as foreign; read in one transaction it is either
// all before or all after, and both opens end with an idsnap database.
func TestOpenRacesSchemaCreation(t *testing.T) {
	// The other open waits for our read lock for this long, then gives up
	// as locked: a bounded wait, not a sleep ordering events.
	setBusyTimeout(t, 50*time.Millisecond)
	path := filepath.Join(t.TempDir(), "idsnap.db")
	var otherErr error
	fired := false
	headerHook = func() {
		if fired {
			return
		}
		fired = true
		var other *DB
		if other, otherErr = Open(context.Background(), path); otherErr == nil {
			other.Close()
		}
	}
	t.Cleanup(func() { headerHook = nil })
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open while another process creates the schema: %v", err)
	}
	defer db.Close()
	if !fired {
		t.Fatal("the hook never ran: the test checks nothing")
	}
	if otherErr != nil && !errors.Is(otherErr, ErrLocked) {
		t.Errorf("the other open: %v, want success or %v", otherErr, ErrLocked)
	}
	var id int32
	db.sql.QueryRow("PRAGMA application_id").Scan(&id)
	if id != appID {
		t.Errorf("application_id = %#x, want %#x", id, appID)
	}
}
