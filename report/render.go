// Package report reads snapshots (through values store hands it) and renders
// them: diffs, history, point-in-time access, findings, evidence. Renderers
// are pure functions of their input and an io.Writer; the terminal, colour
// and default format are decided in cmd.
package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Format is an output format.
type Format string

// Output formats.
const (
	FormatTable    Format = "table"
	FormatJSON     Format = "json"
	FormatCSV      Format = "csv"
	FormatMarkdown Format = "markdown"
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case FormatTable, FormatJSON, FormatCSV, FormatMarkdown:
		return f, nil
	case "md":
		return FormatMarkdown, nil
	}
	return "", fmt.Errorf("unknown format %q: use table, json, csv or markdown", s)
}

// Table is tabular output: a header and rows of cells, rendered as a
// terminal table, CSV or Markdown by RenderTable.
type Table struct {
	Header []string
	Rows   [][]string
	// Shrink names the columns (by header, any case) that may be shortened
	// with "…", in the order they are, when a terminal is too narrow for
	// the table (Terminal). A column a user must read whole to act on is
	// never listed.
	Shrink []string
}

// RenderTable writes t as table, csv or markdown. Cells are made safe for
// the format: control and bidi characters escaped on a terminal and in
// Markdown, formula prefixes neutralised in CSV. JSON is not tabular: callers
// render their own value with RenderJSON.
func RenderTable(w io.Writer, f Format, t Table) error {
	switch f {
	case FormatCSV:
		return writeCSV(w, t)
	case FormatMarkdown:
		return writeTW(w, t, tablewriter.WithRenderer(renderer.NewMarkdown()), func(s string) string {
			return strings.ReplaceAll(SafeText(s), "|", `\|`)
		})
	case FormatTable, "":
		if width := widthOf(w); width > 0 {
			t = fitTable(cleanTable(t, SafeText), width)
			return writeTW(w, t, tablewriter.WithRenderer(renderer.NewBlueprint()), func(s string) string { return s })
		}
		return writeTW(w, t, tablewriter.WithRenderer(renderer.NewBlueprint()), SafeText)
	}
	return fmt.Errorf("format %s is not tabular", f)
}

func cleanTable(t Table, clean func(string) string) Table {
	out := Table{Header: t.Header, Shrink: t.Shrink, Rows: make([][]string, len(t.Rows))}
	for r, row := range t.Rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = clean(c)
		}
		out.Rows[r] = cells
	}
	return out
}

func writeTW(w io.Writer, t Table, r tablewriter.Option, clean func(string) string) error {
	tbl := tablewriter.NewTable(w, r,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
	)
	tbl.Header(t.Header)
	for _, row := range t.Rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = clean(c)
		}
		if err := tbl.Append(cells); err != nil {
			return err
		}
	}
	return tbl.Render()
}

func writeCSV(w io.Writer, t Table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Header); err != nil {
		return err
	}
	for _, row := range t.Rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = SafeCSV(c)
		}
		if err := cw.Write(cells); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// RenderJSON writes v as indented JSON with a trailing newline. HTML
// escaping is off: names with < or & stay readable.
func RenderJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// SafeCSV neutralises a cell a spreadsheet would run as a formula (names
// come from identity providers and may be hostile: OWASP CSV injection) by
// prefixing a single quote, and replaces invalid UTF-8.
func SafeCSV(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// SafeText makes s safe to print on a terminal or in Markdown: control
// characters, bidi overrides and invalid UTF-8 are shown escaped (\x1b,
// \u202e) rather than acted on, and very long values are cut.
func SafeText(s string) string { return escapeText(s, 200) }

// escapeText writes control characters, bidi overrides, invisible format
// characters and invalid UTF-8 as \xNN or \uNNNN escapes, and cuts the
// value after maxRunes runes when maxRunes > 0. It is the one place a
// provider's text is made inert for a terminal, Markdown, CSV or evidence.
func escapeText(s string, maxRunes int) string {
	if (maxRunes <= 0 || len(s) <= maxRunes) && utf8.ValidString(s) && !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case isBidiOrInvisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
		if n++; maxRunes > 0 && n >= maxRunes && i < len(s) {
			b.WriteString("…")
			break
		}
	}
	return b.String()
}

func unsafeRune(r rune) bool { return r < 0x20 || r == 0x7f || isBidiOrInvisible(r) }

func isBidiOrInvisible(r rune) bool {
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	case r >= 0x80 && r <= 0x9f: // C1 controls
		return true
	}
	return unicode.Is(unicode.Cf, r) && r != 0x200d // keep ZWJ: emoji sequences
}
