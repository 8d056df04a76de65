package report

import (
	"io"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// Terminal is an output that is a terminal Cols columns wide. cmd wraps
// stdout in one when it is a terminal; renderers then fit their tables and
// lines to it. Any other writer (a pipe, a file, cron mail) gets whole
// values, as scripts and mail readers want them.
type Terminal struct {
	io.Writer
	Cols int
}

// widthOf is the width w must fit in; 0 is unlimited.
func widthOf(w io.Writer) int {
	if t, ok := w.(Terminal); ok && t.Cols > 0 {
		return t.Cols
	}
	if t, ok := w.(*Terminal); ok && t != nil && t.Cols > 0 {
		return t.Cols
	}
	return 0
}

// lineWidth is the width prose lines of format f fold at: a terminal's,
// for the table format only. Markdown and the rest are never reflowed.
func lineWidth(w io.Writer, f Format) int {
	if f != FormatTable && f != "" {
		return 0
	}
	return widthOf(w)
}

// minShrunk is the narrowest a shortened column gets: seven characters and
// "…", enough to tell most ids and names apart at 80 columns.
const minShrunk = 8

// fitTable shortens the cells of t's widest Shrink columns with "…" until the blueprint table drawn from it is no wider than width. A
// column is cut no narrower than minShrunk or its header; columns not in
// Shrink are never cut, so a table that cannot fit otherwise stays wider
// than the terminal rather than hide what a user must read whole. Cells
// must already be escaped (SafeText).
func fitTable(t Table, width int) Table {
	if width <= 0 || len(t.Shrink) == 0 {
		return t
	}
	widths := make([]int, len(t.Header))
	for i, h := range t.Header {
		widths[i] = twwidth.Width(h)
	}
	for _, row := range t.Rows {
		for i, c := range row {
			if i < len(widths) {
				widths[i] = max(widths[i], twwidth.Width(c))
			}
		}
	}
	// The blueprint draws "│ a │ b │": one rune of border, then each column
	// takes its width, two spaces of padding and a border.
	total := 1
	for _, w := range widths {
		total += w + 3
	}
	limits := slices.Clone(widths)
	var cols []int // the Shrink columns, in order
	for _, name := range t.Shrink {
		if i := slices.IndexFunc(t.Header, func(h string) bool { return strings.EqualFold(h, name) }); i >= 0 {
			cols = append(cols, i)
		}
	}
	// Take a column from the widest shrinkable column, the first in Shrink
	// order among equals, until the table fits or all are at their floor:
	// the long columns end up about equally cut, the same way every time.
	for total > width {
		best := -1
		for _, i := range cols {
			if limits[i] > max(minShrunk, twwidth.Width(t.Header[i])) && (best < 0 || limits[i] > limits[best]) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		limits[best]--
		total--
	}
	if slices.Equal(limits, widths) {
		return t
	}
	out := Table{Header: t.Header, Rows: make([][]string, len(t.Rows))}
	for r, row := range t.Rows {
		cells := slices.Clone(row)
		for i, c := range cells {
			if i < len(limits) && limits[i] < widths[i] && twwidth.Width(c) > limits[i] {
				cells[i] = twwidth.Truncate(c, limits[i]-1) + "…"
			}
		}
		out.Rows[r] = cells
	}
	return out
}

// fitLine folds a line of prose wider than width at spaces, indenting the
// continuation, so no line is longer than the terminal; nothing is cut.
// A word longer than the line stays whole.
func fitLine(l string, width int) string {
	if width <= 0 || twwidth.Width(l) <= width {
		return l
	}
	const indent = "    "
	var b strings.Builder
	col := 0
	for i, word := range strings.Split(l, " ") {
		w := twwidth.Width(word)
		switch {
		case i == 0:
		case col+1+w > width && col > len(indent):
			b.WriteString("\n" + indent)
			col = len(indent)
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += w
	}
	return b.String()
}
