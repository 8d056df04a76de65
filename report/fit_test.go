package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// maxLineWidth is the display width of the widest line of s.
func maxLineWidth(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		n = max(n, twwidth.Width(l))
	}
	return n
}

// TestDiffFitsTerminal renders the diff golden fixture on terminals 80 and
// 120 columns wide: no line is wider, DETAIL is cut before NAME and NAME
// before ID, and the columns a user acts on are whole.
func TestDiffFitsTerminal(t *testing.T) {
	sources, skipped := fixtureSources()
	d := NewDiff(sources, skipped, Filter{})
	for _, cols := range []int{80, 120} {
		t.Run(fmt.Sprint(cols), func(t *testing.T) {
			var buf bytes.Buffer
			if err := RenderDiff(Terminal{Writer: &buf, Cols: cols}, FormatTable, d); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			checkGolden(t, fmt.Sprintf("diff.table.%d.golden", cols), buf.Bytes())
			if w := maxLineWidth(out); w > cols {
				t.Errorf("a line is %d columns wide on a %d-column terminal:\n%s", w, cols, out)
			}
			for _, whole := range []string{"kinde-eu: not compared: no snapshot at or before 2026-11-02T09:00:00Z", "revoked", "entitlement"} {
				if !strings.Contains(strings.ReplaceAll(out, "\n    ", " "), whole) {
					t.Errorf("%q is not whole", whole)
				}
			}
			if !strings.Contains(out, "…") {
				t.Error("nothing was shortened")
			}
		})
	}
	// Off a terminal, values stay whole: the plain golden file.
	var buf bytes.Buffer
	if err := RenderDiff(&buf, FormatTable, d); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "diff.table.golden", buf.Bytes())
	for _, f := range []Format{FormatMarkdown, FormatCSV} {
		var plain, term bytes.Buffer
		RenderDiff(&plain, f, d)
		RenderDiff(Terminal{Writer: &term, Cols: 80}, f, d)
		if plain.String() != term.String() {
			t.Errorf("%s changed on an 80-column terminal", f)
		}
	}
}

func TestFitTableOrder(t *testing.T) {
	tbl := Table{
		Header: []string{"ID", "NAME", "DETAIL", "KEEP"},
		Rows:   [][]string{{strings.Repeat("i", 20), strings.Repeat("n", 30), strings.Repeat("d", 40), strings.Repeat("k", 10)}},
		Shrink: []string{"DETAIL", "NAME", "ID"},
	}
	// Natural width: 1 + (20+3) + (30+3) + (40+3) + (10+3) = 113.
	for _, tt := range []struct {
		width         int
		id, name, det int
		fit           bool
	}{
		{113, 20, 30, 40, true},
		{103, 20, 30, 30, true}, // the widest gives first
		{93, 20, 25, 25, true},  // then the widest in turn, DETAIL first among equals
		{73, 17, 17, 16, true},  // and ID once it is among the widest
		{40, 8, 8, 8, false},    // all at the floor; KEEP stays whole, wider than the terminal
	} {
		got := fitTable(tbl, tt.width)
		r := got.Rows[0]
		if w := [3]int{twwidth.Width(r[0]), twwidth.Width(r[1]), twwidth.Width(r[2])}; w != [3]int{tt.id, tt.name, tt.det} {
			t.Errorf("width %d: ID, NAME, DETAIL = %v, want %d %d %d", tt.width, w, tt.id, tt.name, tt.det)
		}
		if r[3] != tbl.Rows[0][3] {
			t.Errorf("width %d: KEEP was cut", tt.width)
		}
		var buf bytes.Buffer
		RenderTable(Terminal{Writer: &buf, Cols: tt.width}, FormatTable, tbl)
		if fits := maxLineWidth(buf.String()) <= tt.width; fits != tt.fit {
			t.Errorf("width %d: drawn %d wide, fits = %v, want %v", tt.width, maxLineWidth(buf.String()), fits, tt.fit)
		}
		if tt.fit && maxLineWidth(buf.String()) != tt.width && tt.width < 113 {
			t.Errorf("width %d: drawn %d wide; the table should fill the terminal", tt.width, maxLineWidth(buf.String()))
		}
	}
}

func TestFitLine(t *testing.T) {
	l := "kinde-production: #1201 (2026-11-01T09:00:00Z) → #1305 (2026-11-02T09:00:00Z): 153 changes (and 12 grants lost by leavers)"
	got := fitLine(l, 80)
	if maxLineWidth(got) > 80 || strings.ReplaceAll(got, "\n    ", " ") != l {
		t.Errorf("fitLine = %q", got)
	}
	if fitLine(l, 0) != l || fitLine("short", 80) != "short" {
		t.Error("fitLine changed a line that fits")
	}
}
