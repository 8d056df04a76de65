package report

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

// resolveFixture: kinde pulled at days 1, 2 and 3, ory only on day 3,
// zitadel named but never pulled.
func resolveFixture() []idsnap.Snapshot {
	day := func(n int) time.Time { return time.Date(2026, 11, n, 9, 0, 0, 0, time.UTC) }
	return []idsnap.Snapshot{
		{ID: 1, Source: "kinde", TakenAt: day(1)},
		{ID: 3, Source: "kinde", TakenAt: day(2)},
		{ID: 4, Source: "ory", TakenAt: day(3)},
		{ID: 5, Source: "kinde", TakenAt: day(3)},
	}
}

func mustWhen(t *testing.T, s, flag string) When {
	t.Helper()
	w, err := ParseWhen(s, time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	w.Flag = flag
	return w
}

func TestResolvePolicies(t *testing.T) {
	snaps := resolveFixture()
	tests := []struct {
		name    string
		at      string
		scope   Scope
		points  string // source#id, space separated; * marks Earliest
		skipped string // sources skipped, space separated
		err     string
	}{
		{"latest everywhere", "latest", Scope{}, "kinde#5 ory#4", "", ""},
		{"a time before ory's first", "2026-11-02T12:00:00Z", Scope{}, "kinde#3", "ory", ""},
		{"latest~2 past ory's first stands in", "latest~2", Scope{}, "kinde#1 ory#4*", "", ""},
		{"strict: latest~2 past ory's first leaves it out", "latest~2", Scope{Policy: Strict}, "kinde#1", "ory", ""},
		{"strict: a named source too old fails", "2026-11-02", Scope{Policy: Strict, Sources: []string{"ory"}}, "", "", "ory: no snapshot at or before"},
		{"never pulled is skipped", "latest", Scope{Sources: []string{"zitadel", "kinde"}}, "kinde#5", "zitadel", ""},
		{"strict: never pulled fails", "latest", Scope{Policy: Strict, Sources: []string{"zitadel"}}, "", "", "source zitadel has no snapshots"},
		{"a snapshot id confines to its source", "#3", Scope{}, "kinde#3", "", ""},
		{"a snapshot id --source leaves out", "#3", Scope{Sources: []string{"ory"}}, "", "", "--source leaves out"},
		{"an unknown id", "#9", Scope{}, "", "", "--at: snapshot #9 does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			points, skipped, err := Resolve(snaps, mustWhen(t, tt.at, "--at"), tt.scope)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got, gotSkipped []string
			for _, p := range points {
				s := p.Snapshot.Source + "#" + itoa(p.Snapshot.ID)
				if p.Earliest {
					s += "*"
				}
				got = append(got, s)
			}
			for _, s := range skipped {
				gotSkipped = append(gotSkipped, s.Source)
				if s.Reason == "" {
					t.Errorf("%s skipped without a reason", s.Source)
				}
			}
			if strings.Join(got, " ") != tt.points || strings.Join(gotSkipped, " ") != tt.skipped {
				t.Errorf("points %q skipped %q, want %q and %q", got, gotSkipped, tt.points, tt.skipped)
			}
		})
	}
}

func TestResolveSpan(t *testing.T) {
	snaps := resolveFixture()
	spans, skipped, err := ResolveSpan(snaps, mustWhen(t, "2026-10-01", "--since"), mustWhen(t, "2026-11-02T12:00:00Z", "--until"), Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 1 || spans[0].From.Snapshot.ID != 1 || !spans[0].From.Earliest || spans[0].To.Snapshot.ID != 3 {
		t.Errorf("spans = %+v; want kinde from its earliest #1 to #3", spans)
	}
	if len(skipped) != 1 || skipped[0].Source != "ory" || !strings.Contains(skipped[0].Reason, "its first is #4") {
		t.Errorf("skipped = %+v; want ory, too old", skipped)
	}
	for _, tt := range []struct{ since, until, err string }{
		{"2026-11-03", "2026-11-02", "--since (2026-11-03T00:00:00Z) is after --until (2026-11-02T00:00:00Z): swap them"},
		{"#5", "#3", "kinde: --since is #5, newer than --until #3: swap them"},
		{"#1", "#4", "#1 is a snapshot of kinde and #4 one of ory: compare snapshots of one source"},
	} {
		_, _, err := ResolveSpan(snaps, mustWhen(t, tt.since, "--since"), mustWhen(t, tt.until, "--until"), Scope{})
		if err == nil || err.Error() != tt.err {
			t.Errorf("%s..%s: err = %v, want %q", tt.since, tt.until, err, tt.err)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
