package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/idsnap/idsnap"
)

// appID is PRAGMA application_id of every idsnap database: 0x1D5A9C07,
// drawn once from /dev/urandom. A file with another id is not ours.
const appID int32 = 0x1D5A9C07

// upgrades[i] takes a database from schema version i+1 to i+2. When
// schema.sql changes, bump its user_version, freeze the old schema.sql as
// testdata/schema-vN.sql and append the upgrade here; TestUpgradeMatchesFresh
// checks that the oldest frozen schema upgraded equals a fresh one.
var upgrades = []string{
	// v1 to v2: webhook events (idsnap listen).
	schemaPart(idsnap.Schema, "v2"),
	// v2 to v3: the documented views (README.md, "SQL views").
	schemaPart(idsnap.Schema, "v3"),
	// v3 to v4: how each pull ran, for the evidence's IPE block.
	schemaPart(idsnap.Schema, "v4"),
	// v4 to v5: prune's chain anchors.
	schemaPart(idsnap.Schema, "v5"),
}

// schemaPart is the part of schema.sql between "-- upgrade vN begin" and
// "-- upgrade vN end": an upgrade that only adds objects is then the very
// text a fresh file gets (comments inside a CREATE are kept in
// sqlite_schema, so a copy would have to match them too).
func schemaPart(schema, version string) string {
	_, rest, ok := strings.Cut(schema, "-- upgrade "+version+" begin\n")
	part, _, ok2 := strings.Cut(rest, "-- upgrade "+version+" end\n")
	if !ok || !ok2 {
		panic("schema.sql lacks the markers of upgrade " + version)
	}
	return part
}

var userVersionRE = regexp.MustCompile(`(?im)^\s*PRAGMA\s+user_version\s*=\s*(\d+)\s*;?\s*$`)

// schemaVersion returns the version a schema script ends with.
func schemaVersion(schema string) int {
	m := userVersionRE.FindAllStringSubmatch(schema, -1)
	if len(m) == 0 {
		return 0
	}
	v, _ := strconv.Atoi(m[len(m)-1][1])
	return v
}

// header is what migrate reads before deciding anything.
type header struct {
	appID   int32
	version int
	objects int // rows in sqlite_schema: 0 means an empty file
}

// headerHook, when set by a test, runs between readHeader's reads: where
// another process's schema commit could land.
var headerHook func()

// readHeader reads the header in one read transaction, unless conn is
// already inside one (inTx): three autocommit reads could see the
// application id from before another process's schema commit and the object
// count from after it, and refuse a file that is ours.
func readHeader(ctx context.Context, conn *sql.Conn, inTx bool) (h header, err error) {
	if !inTx {
		if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
			return h, err
		}
		defer func() {
			// A read transaction: COMMIT and ROLLBACK only release the lock.
			if _, cerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err == nil {
				err = cerr
			}
		}()
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA application_id").Scan(&h.appID); err != nil {
		return h, err
	}
	if headerHook != nil {
		headerHook()
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&h.version); err != nil {
		return h, err
	}
	err = conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&h.objects)
	return h, err
}

// migrate brings the file to the schema's version, following zombiezen's
// sqlitemigration: all on one connection; refuse a foreign or newer file
// before writing anything; each step in its own BEGIN IMMEDIATE transaction
// that re-reads the version, since another process may have migrated while
// we were not inside a transaction.
func (db *DB) migrate(ctx context.Context, schema string, ups []string) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return db.dbError("open", err)
	}
	defer conn.Close()
	want := schemaVersion(schema)
	h, err := readHeader(ctx, conn, false)
	if err != nil {
		return db.dbError("open", err)
	}
	if err := db.check(h, want); err != nil {
		return err
	}
	for h.objects == 0 || h.version < want {
		if err := db.step(ctx, conn, schema, ups, want); err != nil {
			return err
		}
		if h, err = readHeader(ctx, conn, false); err != nil {
			return db.dbError("open", err)
		}
	}
	// Persistent, and a no-op on a file already in WAL mode.
	if _, err := conn.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
		return db.dbError("open: set WAL mode", err)
	}
	return nil
}

// check refuses a file idsnap must not touch.
func (db *DB) check(h header, want int) error {
	if h.objects == 0 && h.appID == 0 {
		return nil // empty: ours to create
	}
	if h.appID == 0 {
		// An SQLite file of some other program's: its id of 0 tells a user nothing.
		return fmt.Errorf("%s is not an idsnap database; use --db to choose another file", db.path)
	}
	if h.appID != appID {
		return fmt.Errorf("%s is not an idsnap database (application_id %#x); use --db to choose another file", db.path, uint32(h.appID))
	}
	if h.version > want {
		return fmt.Errorf("%s was written by a newer idsnap (schema v%d, this build knows v%d); upgrade idsnap", db.path, h.version, want)
	}
	if h.version < 1 {
		return fmt.Errorf("%s has no schema version; use --db to choose another file", db.path)
	}
	return nil
}

// step runs one transaction: the whole schema on an empty file, else the
// next upgrade.
func (db *DB) step(ctx context.Context, conn *sql.Conn, schema string, ups []string, want int) (err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return db.dbError("open: migrate", err)
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	h, err := readHeader(ctx, conn, true)
	if err != nil {
		return db.dbError("open: migrate", err)
	}
	if err := db.check(h, want); err != nil {
		return err
	}
	switch {
	case h.objects == 0:
		if _, err := conn.ExecContext(ctx, schema); err != nil {
			return db.dbError("open: create schema", err)
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", appID)); err != nil {
			return db.dbError("open: create schema", err)
		}
	case h.version < want:
		i := h.version - 1
		if i >= len(ups) {
			return fmt.Errorf("open: migrate %s: no upgrade from schema v%d", db.path, h.version)
		}
		if _, err := conn.ExecContext(ctx, ups[i]); err != nil {
			return db.dbError(fmt.Sprintf("open: migrate %s: upgrade v%d to v%d", db.path, h.version, h.version+1), err)
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", h.version+1)); err != nil {
			return db.dbError("open: migrate", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return db.dbError("open: migrate", err)
	}
	return nil
}
