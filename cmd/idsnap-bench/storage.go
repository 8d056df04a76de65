package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"

	"github.com/idsnap/idsnap/store"
)

const storageTargetRatio = 5

// storageGrantEvery gives one grant to every fourth principal: a daily pull
// costs time in proportion to the records it stages, and a year of 100k
// principals with as many grants takes about half an hour on two cores.
const storageGrantEvery = 4

// storage simulates a year of daily pulls (days of them) of storageUsers
// principals with 0.5% churn in attributes and grants and 20% signing in
// each day, through store.Stage and Commit, and compares the database's
// size with the size after the first pull.
func (b *bench) storage(ctx context.Context) error {
	n, days := b.sc.storageUsers, b.sc.days
	w := newWorld(n, 31, storageGrantEvery)
	path := b.path("year.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	if _, err := w.pull(ctx, db, benchSource); err != nil {
		return err
	}
	one, err := logicalSize(ctx, path)
	if err != nil {
		return err
	}
	b.logf("storage: day 1 of %d: %s", days, mb(one))
	for day := 2; day <= days; day++ {
		w.churn(0.005)
		w.signIn(0.2)
		if _, err := w.pull(ctx, db, benchSource); err != nil {
			return err
		}
		if day%30 == 0 || day == days {
			size, _ := logicalSize(ctx, path)
			b.logf("storage: day %d of %d: %s, %s elapsed", day, days, mb(size), time.Since(start).Round(time.Second))
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	year, err := logicalSize(ctx, path)
	if err != nil {
		return err
	}
	per, _ := tableSizes(ctx, path)
	ratio := float64(year) / float64(one)
	b.add(figure{
		name:    fmt.Sprintf("storage after %d daily pulls of %dk principals, %dk grants (0.5%% churn, 20%% sign-ins)", days, n/1000, n/storageGrantEvery/1000),
		value:   fmt.Sprintf("%s (%s)", mb(year), per),
		against: fmt.Sprintf("one snapshot: %s", mb(one)),
		ratio:   fmt.Sprintf("%.2f×", ratio),
		target:  fmt.Sprintf("≤ %d×", storageTargetRatio),
		met:     verdict(ratio <= storageTargetRatio),
	})
	// How much of that is free space inside the B-trees: the same data
	// rewritten compactly.
	if packed, err := vacuumedSize(ctx, path, b.path("year-vacuumed.db")); err == nil {
		b.add(figure{
			name:    "storage after the same pulls, rewritten by VACUUM INTO",
			value:   mb(packed),
			against: fmt.Sprintf("one snapshot: %s", mb(one)),
			ratio:   fmt.Sprintf("%.2f×", float64(packed)/float64(one)),
			target:  "(none)",
		})
	} else {
		b.logf("storage: vacuum: %v", err)
	}
	full := int64(days) * one
	b.add(figure{
		name:    fmt.Sprintf("storage against %d full copies", days),
		value:   mb(year),
		against: fmt.Sprintf("%d × one snapshot = %s (extrapolated)", days, mb(full)),
		ratio:   fmt.Sprintf("%.1f× smaller", float64(full)/float64(year)),
		target:  "(none)",
	})
	return nil
}

// logicalSize is the database's size as a fresh reader sees it (main file
// and WAL together): page count × page size.
func logicalSize(ctx context.Context, path string) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var pages, size int64
	if err := db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return 0, err
	}
	if err := db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
		return 0, err
	}
	return pages * size, nil
}

// tableSizes sums the pages of each table with its indexes, when SQLite
// was built with the dbstat table; "" otherwise.
func tableSizes(ctx context.Context, path string) (string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return "", err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d
		LEFT JOIN sqlite_schema m ON m.name = d.name GROUP BY 1 ORDER BY 2 DESC LIMIT 3`)
	if err != nil {
		return "no dbstat", nil
	}
	defer rows.Close()
	out := ""
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return "", err
		}
		if out != "" {
			out += ", "
		}
		out += fmt.Sprintf("%s %s", name, mb(n))
	}
	return out, rows.Err()
}

// vacuumedSize writes a compacted copy of the database at path to dst and
// returns its size.
func vacuumedSize(ctx context.Context, path, dst string) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	defer os.Remove(dst)
	if _, err := db.ExecContext(ctx, "VACUUM INTO "+quote(dst)); err != nil {
		return 0, err
	}
	return fileSize(dst), nil
}
