package report

import (
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

func TestParseWhen(t *testing.T) {
	// 00:30 UTC is already 01:30 the same day in CET, but 19:30 the day
	// before in New York's winter time: "today" depends on the zone.
	now := time.Date(2026, 11, 2, 0, 30, 0, 0, time.UTC)
	cet := time.FixedZone("CET", 3600)
	ny := time.FixedZone("EST", -5*3600)
	tests := []struct {
		in   string
		loc  *time.Location
		want When // Text is checked to be the trimmed input
	}{
		{"today", time.UTC, When{Kind: WhenTime, At: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}},
		{"TODAY", cet, When{Kind: WhenTime, At: time.Date(2026, 11, 2, 0, 0, 0, 0, cet)}},
		{"today", ny, When{Kind: WhenTime, At: time.Date(2026, 11, 1, 0, 0, 0, 0, ny)}},
		{"yesterday", time.UTC, When{Kind: WhenTime, At: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}},
		{"yesterday", ny, When{Kind: WhenTime, At: time.Date(2026, 10, 31, 0, 0, 0, 0, ny)}},
		{" yesterday ", cet, When{Kind: WhenTime, At: time.Date(2026, 11, 1, 0, 0, 0, 0, cet)}},
		{"36h", time.UTC, When{Kind: WhenTime, At: now.Add(-36 * time.Hour)}},
		{"7d", cet, When{Kind: WhenTime, At: now.Add(-7 * 24 * time.Hour)}},
		{"2w", time.UTC, When{Kind: WhenTime, At: now.Add(-14 * 24 * time.Hour)}},
		{"1d12h", time.UTC, When{Kind: WhenTime, At: now.Add(-36 * time.Hour)}},
		{"90m", time.UTC, When{Kind: WhenTime, At: now.Add(-90 * time.Minute)}},
		{"2026-11-01", time.UTC, When{Kind: WhenTime, At: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}},
		{"2026-11-01", cet, When{Kind: WhenTime, At: time.Date(2026, 11, 1, 0, 0, 0, 0, cet)}},
		{"2026-11-01T09:15:00Z", cet, When{Kind: WhenTime, At: time.Date(2026, 11, 1, 9, 15, 0, 0, time.UTC)}},
		{"2026-11-01t09:15:00z", time.UTC, When{Kind: WhenTime, At: time.Date(2026, 11, 1, 9, 15, 0, 0, time.UTC)}},
		{"2026-11-01T09:15:00.5+02:00", time.UTC, When{Kind: WhenTime, At: time.Date(2026, 11, 1, 7, 15, 0, 5e8, time.UTC)}},
		{"2026-11-01T09:15:00", cet, When{Kind: WhenTime, At: time.Date(2026, 11, 1, 9, 15, 0, 0, cet)}},
		{"12", time.UTC, When{Kind: WhenSnapshot, Snapshot: 12}},
		{"#12", time.UTC, When{Kind: WhenSnapshot, Snapshot: 12}},
		{"latest", time.UTC, When{Kind: WhenLatest}},
		{"latest~0", time.UTC, When{Kind: WhenLatest}},
		{"Latest~3", time.UTC, When{Kind: WhenLatest, Back: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.in+"/"+tt.loc.String(), func(t *testing.T) {
			got, err := ParseWhen(tt.in, now, tt.loc)
			if err != nil {
				t.Fatalf("ParseWhen(%q) error: %v", tt.in, err)
			}
			if got.Kind != tt.want.Kind || !got.At.Equal(tt.want.At) || got.Snapshot != tt.want.Snapshot || got.Back != tt.want.Back {
				t.Errorf("ParseWhen(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.Text != strings.TrimSpace(tt.in) {
				t.Errorf("ParseWhen(%q).Text = %q", tt.in, got.Text)
			}
		})
	}
}

func TestParseWhenErrors(t *testing.T) {
	now := time.Date(2026, 11, 2, 0, 30, 0, 0, time.UTC)
	for _, in := range []string{
		"", "  ", "0", "#0", "#", "#-1", "#1a", "-7d", "0d", "7x", "d", "7d3", "latest~", "latest~-1", "latest~+1", "latest~x",
		"tomorrow", "2026-13-01", "2026-11-01T25:00:00Z", "99999999999999999999", "1000000000w", "999999999999999999999d",
	} {
		t.Run(in, func(t *testing.T) {
			if got, err := ParseWhen(in, now, time.UTC); err == nil {
				t.Errorf("ParseWhen(%q) = %+v, want an error", in, got)
			} else if strings.Contains(err.Error(), "\n") || err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
				t.Errorf("ParseWhen(%q) error %q is not one lower-case line", in, err)
			}
		})
	}
}

func TestWhenResolve(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	// Snapshots of one source given newest first: Resolve must not rely
	// on the order it receives.
	snaps := []idsnap.Snapshot{
		{ID: 9, Source: "kinde", TakenAt: day(3, 9)},
		{ID: 5, Source: "kinde", TakenAt: day(2, 9)},
		{ID: 2, Source: "kinde", TakenAt: day(1, 9)},
	}
	tests := []struct {
		name     string
		w        When
		wantID   int64
		earliest bool
		ok       bool
	}{
		{"time between", When{Kind: WhenTime, At: day(2, 12)}, 5, false, true},
		{"time exactly at a snapshot", When{Kind: WhenTime, At: day(2, 9)}, 5, false, true},
		{"a nanosecond before", When{Kind: WhenTime, At: day(2, 9).Add(-1)}, 2, false, true},
		{"after the newest", When{Kind: WhenTime, At: day(30, 0)}, 9, false, true},
		{"before the first: earliest stands in", When{Kind: WhenTime, At: day(1, 8)}, 2, true, true},
		{"latest", When{Kind: WhenLatest}, 9, false, true},
		{"latest~1", When{Kind: WhenLatest, Back: 1}, 5, false, true},
		{"latest~2 is the first", When{Kind: WhenLatest, Back: 2}, 2, false, true},
		{"latest~3 reaches past the first", When{Kind: WhenLatest, Back: 3}, 2, true, true},
		{"snapshot id of this source", When{Kind: WhenSnapshot, Snapshot: 5}, 5, false, true},
		{"snapshot id of another source", When{Kind: WhenSnapshot, Snapshot: 6}, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := tt.w.Resolve(snaps)
			if ok != tt.ok || p.Snapshot.ID != tt.wantID || p.Earliest != tt.earliest {
				t.Errorf("Resolve = #%d earliest=%v ok=%v; want #%d earliest=%v ok=%v", p.Snapshot.ID, p.Earliest, ok, tt.wantID, tt.earliest, tt.ok)
			}
		})
	}
	if _, ok := (When{Kind: WhenLatest}).Resolve(nil); ok {
		t.Error("Resolve on a source without snapshots reported a snapshot")
	}
}

func TestWhenString(t *testing.T) {
	now := time.Date(2026, 11, 2, 0, 30, 0, 0, time.UTC)
	for in, want := range map[string]string{"#7": "#7", "latest": "latest", "latest~2": "latest~2", "yesterday": "2026-11-01T00:00:00Z"} {
		w, err := ParseWhen(in, now, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.String(); got != want {
			t.Errorf("ParseWhen(%q).String() = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"today", "yesterday", "36h", "7d", "2w", "1d12h", "2026-11-01", "2026-11-01T09:00:00Z",
		"2026-11-01T09:00:00", "12", "#12", "latest", "latest~3", "latest~", "#", "9999999999999999999w", "0d", "-1"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 2, 0, 30, 0, 0, time.UTC)
	snaps := []idsnap.Snapshot{{ID: 3, TakenAt: now.Add(-48 * time.Hour)}, {ID: 8, TakenAt: now.Add(-time.Hour)}}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWhen(s, now, time.FixedZone("X", 5400))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseWhen(%q) error spans lines: %q", s, err)
			}
			return
		}
		switch w.Kind {
		case WhenTime:
			if w.At.IsZero() {
				t.Errorf("ParseWhen(%q) = a zero time", s)
			}
		case WhenSnapshot:
			if w.Snapshot <= 0 {
				t.Errorf("ParseWhen(%q) = snapshot %d", s, w.Snapshot)
			}
		case WhenLatest:
			if w.Back < 0 {
				t.Errorf("ParseWhen(%q) = latest~%d", s, w.Back)
			}
		default:
			t.Errorf("ParseWhen(%q) = kind %d", s, w.Kind)
		}
		// Whatever parses resolves without panicking, and a time or
		// latest~N always finds a snapshot when there are some.
		if p, ok := w.Resolve(snaps); w.Kind != WhenSnapshot && (!ok || p.Snapshot.ID == 0) {
			t.Errorf("ParseWhen(%q).Resolve found nothing", s)
		}
	})
}
