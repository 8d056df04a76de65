package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/idsnap/idsnap/store"
)

const (
	diffTarget      = time.Second
	diffTargetRatio = 20
)

// diff times store.Changes between two snapshots of diffUsers principals
// (and as many grants) with 1% churn, against a full-copy diff: both
// snapshots' states copied into plain tables, compared with EXCEPT both
// ways, every differing row read back. The copy is not timed.
func (b *bench) diff(ctx context.Context) error {
	n := b.sc.diffUsers
	b.logf("diff: building two snapshots of %d principals", n)
	w := newWorld(n, 21, 1)
	path := b.path("diff.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	s1, err := w.pull(ctx, db, benchSource)
	if err != nil {
		return err
	}
	b.logf("diff: first pull of %d records took %s", w.len(), secs(time.Since(start)))
	w.churn(0.01)
	w.signIn(0.2)
	start = time.Now()
	s2, err := w.pull(ctx, db, benchSource)
	if err != nil {
		return err
	}
	b.logf("diff: second pull took %s", secs(time.Since(start)))
	w = nil

	var best time.Duration
	var changes int
	for i := range 3 {
		start := time.Now()
		cs, err := db.Changes(ctx, s1.ID, s2.ID, store.ChangeOptions{})
		if err != nil {
			return err
		}
		d := time.Since(start)
		if i == 0 || d < best {
			best = d
		}
		changes = len(cs)
	}

	full, rows, err := fullCopyDiff(ctx, b.path("fullcopy.db"), path, s1.ID, s2.ID)
	if err != nil {
		return fmt.Errorf("full-copy diff: %w", err)
	}
	ratio := full.Seconds() / best.Seconds()
	b.add(figure{
		name:    fmt.Sprintf("diff (store.Changes) of two %dk-principal snapshots, 1%% churn", n/1000),
		value:   fmt.Sprintf("%s (best of 3; %d changes)", secs(best), changes),
		against: fmt.Sprintf("target %v", diffTarget),
		ratio:   "",
		target:  fmt.Sprintf("≤ %v", diffTarget),
		met:     verdict(best <= diffTarget),
	})
	b.add(figure{
		name:    "diff speed-up over a full-copy diff",
		value:   fmt.Sprintf("%s", secs(best)),
		against: fmt.Sprintf("two full copies in plain tables, EXCEPT both ways: %s (%d differing rows)", secs(full), rows),
		ratio:   fmt.Sprintf("%.0f×", ratio),
		target:  fmt.Sprintf("≥ %d×", diffTargetRatio),
		met:     verdict(ratio >= diffTargetRatio),
	})
	return nil
}

// fullCopyDiff copies the states as of snapshots from and to of the store
// at src into two plain tables of a new database, then times the diff by
// EXCEPT, reading every differing (kind, id) back.
func fullCopyDiff(ctx context.Context, path, src string, from, to int64) (time.Duration, int, error) {
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	const cols = `kind, ext_id, principal_id, resource_id, entitlement_id, email, email_verified,
		username, name, status, type, external_id, created_at, raw`
	setup := []string{
		fmt.Sprintf("ATTACH DATABASE %s AS s", quote(src)),
		fmt.Sprintf(`CREATE TABLE a AS SELECT %s FROM s.versions WHERE valid_from <= %d AND (valid_to IS NULL OR valid_to > %d)`, cols, from, from),
		fmt.Sprintf(`CREATE TABLE b AS SELECT %s FROM s.versions WHERE valid_from <= %d AND (valid_to IS NULL OR valid_to > %d)`, cols, to, to),
		"DETACH DATABASE s",
	}
	for _, q := range setup {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return 0, 0, err
		}
	}
	start := time.Now()
	rows, err := db.QueryContext(ctx, `SELECT kind, ext_id, 'added' FROM (SELECT * FROM b EXCEPT SELECT * FROM a)
		UNION ALL SELECT kind, ext_id, 'removed' FROM (SELECT * FROM a EXCEPT SELECT * FROM b)`)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var kind int
		var id, what string
		if err := rows.Scan(&kind, &id, &what); err != nil {
			return 0, 0, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	return time.Since(start), n, nil
}

// quote is an SQL string literal.
func quote(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}
