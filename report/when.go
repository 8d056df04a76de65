package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
)

// WhenKind says what a WHEN names.
type WhenKind int

// What a WHEN can name.
const (
	WhenTime     WhenKind = iota + 1 // a point in time: resolves per source
	WhenSnapshot                     // one snapshot, of one source
	WhenLatest                       // latest~N: the Nth snapshot before a source's newest
)

// When is a parsed WHEN argument (--since, --until, --at, FROM, TO).
type When struct {
	Kind     WhenKind
	Text     string    // as the user gave it
	At       time.Time // WhenTime
	Snapshot int64     // WhenSnapshot
	Back     int       // WhenLatest: N in latest~N
	// Flag names where the WHEN came from (--since, FROM), for errors.
	Flag string
}

// label is how errors name w: its flag, or WHEN.
func (w When) label() string {
	if w.Flag == "" {
		return "WHEN"
	}
	return w.Flag
}

// maxSpan caps durations: longer than any history idsnap keeps, short of
// time.Duration's overflow.
const maxSpan = 100 * 365 * 24 * time.Hour

// ParseWhen parses a WHEN: today, yesterday (calendar days in loc), a
// duration back from now (36h, 7d, 2w, 1d12h), an RFC 3339 date or time
// (a date, or a time without offset, is read in loc), a snapshot id (12 or
// #12), latest or latest~N.
func ParseWhen(s string, now time.Time, loc *time.Location) (When, error) {
	if loc == nil {
		loc = time.UTC
	}
	text := strings.TrimSpace(s)
	w := When{Text: text}
	lower := strings.ToLower(text)
	now = now.In(loc)
	midnight := func(days int) time.Time {
		y, m, d := now.Date()
		return time.Date(y, m, d+days, 0, 0, 0, 0, loc)
	}
	switch {
	case text == "":
		return When{}, fmt.Errorf("empty time: use today, yesterday, 7d, 2026-11-01, a snapshot id or latest")
	case lower == "today":
		w.Kind, w.At = WhenTime, midnight(0)
		return w, nil
	case lower == "yesterday":
		w.Kind, w.At = WhenTime, midnight(-1)
		return w, nil
	case lower == "latest":
		w.Kind = WhenLatest
		return w, nil
	case strings.HasPrefix(lower, "latest~"):
		n, err := strconv.Atoi(lower[len("latest~"):])
		if err != nil || n < 0 || strings.HasPrefix(lower[len("latest~"):], "+") {
			return When{}, fmt.Errorf("%q: latest~N needs a whole number N >= 0", text)
		}
		w.Kind, w.Back = WhenLatest, n
		return w, nil
	}
	if id, ok := strings.CutPrefix(text, "#"); ok || allDigits(text) {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 || !allDigits(id) {
			return When{}, fmt.Errorf("%q: a snapshot id is a whole number > 0", text)
		}
		w.Kind, w.Snapshot = WhenSnapshot, n
		return w, nil
	}
	if d, ok, err := parseSpan(lower); ok {
		if err != nil {
			return When{}, fmt.Errorf("%q: %w", text, err)
		}
		w.Kind, w.At = WhenTime, now.Add(-d)
		return w, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, text, loc); err == nil {
		w.Kind, w.At = WhenTime, t
		return w, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(text)); err == nil {
		w.Kind, w.At = WhenTime, t
		return w, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", strings.ToUpper(text), loc); err == nil {
		w.Kind, w.At = WhenTime, t
		return w, nil
	}
	return When{}, fmt.Errorf("unknown time %q: use today, yesterday, 36h, 7d, 2w, 2026-11-01, 2026-11-01T09:00:00Z, a snapshot id (12 or #12), latest or latest~N", text)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ParseSpan reads a duration as WHEN takes one (400d, 13w, 36h): what the
// config's [retention] keep says.
func ParseSpan(s string) (time.Duration, error) {
	d, ok, err := parseSpan(strings.TrimSpace(s))
	if err == nil && !ok {
		err = fmt.Errorf("%q is not a duration: write it like 400d, 56w or 36h", s)
	}
	return d, err
}

// parseSpan reads durations like 36h, 7d, 2w, 1d12h, 90m. ok is false when
// s does not look like a duration at all, so other forms get their turn.
func parseSpan(s string) (d time.Duration, ok bool, err error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false, nil
	}
	units := map[byte]time.Duration{'w': 7 * 24 * time.Hour, 'd': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute, 's': time.Second}
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, false, nil
		}
		unit, known := units[rest[i]]
		if !known {
			return 0, false, nil
		}
		n, perr := strconv.ParseInt(rest[:i], 10, 64)
		if perr != nil || n > int64(maxSpan/unit) {
			return 0, true, fmt.Errorf("duration longer than 100 years")
		}
		d += time.Duration(n) * unit
		if d > maxSpan {
			return 0, true, fmt.Errorf("duration longer than 100 years")
		}
		rest = rest[i+1:]
	}
	if d <= 0 {
		return 0, true, fmt.Errorf("duration must be more than zero")
	}
	return d, true, nil
}

// String describes w for output: the time it stands for, or the snapshot.
func (w When) String() string {
	switch w.Kind {
	case WhenTime:
		return w.At.Format(time.RFC3339)
	case WhenSnapshot:
		return "#" + strconv.FormatInt(w.Snapshot, 10)
	case WhenLatest:
		if w.Back == 0 {
			return "latest"
		}
		return "latest~" + strconv.Itoa(w.Back)
	}
	return w.Text
}

// Point is the snapshot a source was read at: where a WHEN resolved in
// that source. In JSON it is {"id", "taken_at", "earliest"}.
type Point struct {
	Snapshot idsnap.Snapshot
	// Earliest says no snapshot of the source was as old as the WHEN (a
	// time before its first pull, or latest~N past its first): its earliest
	// snapshot stands in, and output says so.
	Earliest bool
}

type pointJSON struct {
	ID       int64     `json:"id"`
	TakenAt  time.Time `json:"taken_at"`
	Earliest bool      `json:"earliest,omitempty"`
}

// MarshalJSON writes the snapshot's id and time (UTC) and, when set,
// earliest.
func (p Point) MarshalJSON() ([]byte, error) {
	return json.Marshal(pointJSON{ID: p.Snapshot.ID, TakenAt: p.Snapshot.TakenAt.UTC(), Earliest: p.Earliest})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Point) UnmarshalJSON(b []byte) error {
	var j pointJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*p = Point{Snapshot: idsnap.Snapshot{ID: j.ID, TakenAt: j.TakenAt}, Earliest: j.Earliest}
	return nil
}

// Resolve picks, among the snapshots of one source, the one w names: for a
// time the latest snapshot taken at or before it, for latest~N the Nth
// before the newest, for an id that snapshot. ok is false when w names
// nothing here: no snapshots, or an id of another source.
func (w When) Resolve(snaps []idsnap.Snapshot) (p Point, ok bool) {
	if len(snaps) == 0 {
		return Point{}, false
	}
	// Snapshot ids grow with every commit and a source's commits are
	// sequential, so id order is time order within a source.
	byID := slices.Clone(snaps)
	slices.SortFunc(byID, func(a, b idsnap.Snapshot) int { return cmpInt64(a.ID, b.ID) })
	switch w.Kind {
	case WhenSnapshot:
		for _, s := range byID {
			if s.ID == w.Snapshot {
				return Point{Snapshot: s}, true
			}
		}
		return Point{}, false
	case WhenLatest:
		if w.Back >= len(byID) {
			return Point{Snapshot: byID[0], Earliest: true}, true
		}
		return Point{Snapshot: byID[len(byID)-1-w.Back]}, true
	case WhenTime:
		for i := len(byID) - 1; i >= 0; i-- {
			if !byID[i].TakenAt.After(w.At) {
				return Point{Snapshot: byID[i]}, true
			}
		}
		return Point{Snapshot: byID[0], Earliest: true}, true
	}
	return Point{}, false
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
