package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/idsnap/idsnap"
)

// queryPlan is EXPLAIN QUERY PLAN's detail lines for q.
func queryPlan(t *testing.T, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

// TestReadPlans asserts the plans the read paths' speed rests on: State
// walks versions_key in order (a sort would spill every row, raw included,
// to temporary files), and every join of Changes is a seek.
func TestReadPlans(t *testing.T) {
	db, _ := openTest(t)
	tests := []struct {
		name, q string
		args    []any
		want    string
	}{
		{"state", stateSQL, sqlNamedAt(1, 2), "SEARCH v USING INDEX versions_key (source_id=?)"},
		{"changes", fmt.Sprintf(changesSQL, ""), sqlNamed(1, 2, 3), "SEARCH pn USING INDEX versions_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := queryPlan(t, db.sql, tt.q, tt.args...)
			joined := strings.Join(plan, "\n")
			if !strings.Contains(joined, tt.want) {
				t.Errorf("plan lacks %q:\n%s", tt.want, joined)
			}
			for _, l := range plan {
				if strings.Contains(l, "TEMP B-TREE FOR ORDER BY") && tt.name == "state" ||
					strings.HasPrefix(l, "SCAN ") && l != "SCAN c" {
					t.Errorf("plan has %q:\n%s", l, joined)
				}
			}
		})
	}
}

func sqlNamedAt(src, at int64) []any {
	return []any{sql.Named("src", src), sql.Named("at", at)}
}

// TestStateStopsAtFnError checks that State returns fn's error itself,
// not wrapped, and calls fn no more after it, across the reader's batches.
func TestStateStopsAtFnError(t *testing.T) {
	db, _ := openTest(t)
	var recs []idsnap.Record
	for i := range 3*stateBatch + 7 {
		recs = append(recs, idsnap.Record{Kind: idsnap.KindUser, ID: fmt.Sprintf("u%05d", i), Email: fmt.Sprintf("u%d@x.test", i)})
	}
	snap := pull(t, db, testSource, recs)
	stop := errors.New("enough")
	for _, at := range []int{0, stateBatch - 1, stateBatch, 2*stateBatch + 3, len(recs) - 1} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			calls := 0
			err := db.State(context.Background(), snap.ID, func(r idsnap.Record) error {
				if want := fmt.Sprintf("u%05d", calls); r.ID != want {
					t.Fatalf("record %d is %s, want %s", calls, r.ID, want)
				}
				calls++
				if calls == at+1 {
					return stop
				}
				return nil
			})
			if err != stop {
				t.Errorf("State = %v, want fn's error itself", err)
			}
			if calls != at+1 {
				t.Errorf("fn called %d times, want %d", calls, at+1)
			}
		})
	}
	if got := state(t, db, snap.ID); len(got) != len(recs) {
		t.Errorf("State after stopped reads = %d records, want %d", len(got), len(recs))
	}
}

// TestStateCanceled checks that a canceled context ends State with an error.
func TestStateCanceled(t *testing.T) {
	db, _ := openTest(t)
	var recs []idsnap.Record
	for i := range 2 * stateBatch {
		recs = append(recs, idsnap.Record{Kind: idsnap.KindUser, ID: fmt.Sprintf("u%05d", i)})
	}
	snap := pull(t, db, testSource, recs)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := db.State(ctx, snap.ID, func(idsnap.Record) error {
		if calls++; calls == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("State after cancel = %v (after %d records), want context.Canceled", err, calls)
	}
}
