// Package roster reads an HR roster (a CSV export of who works here, who
// left and when) and checks the accounts of snapshots against it: the
// joiner–mover–leaver controls auditors test first.
//
// It lives apart from report because a roster is an input of its own
// (parsed, hashed, never stored) and its rules read history as well as
// one snapshot; it uses report's people linking and findings shapes so its
// results read like every other finding.
package roster

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Status is a roster person's employment status, as the rules read it.
type Status string

// Statuses. HR systems spell more (leaver, inactive, on_leave); Parse maps
// those onto these two and keeps the spelling in Person.Note.
const (
	Active     Status = "active"
	Terminated Status = "terminated"
)

// Fields are the roster's column names, as the config maps them.
const (
	FieldEmail        = "email"
	FieldStatus       = "status"
	FieldEmployeeID   = "employee_id"
	FieldName         = "name"
	FieldDepartment   = "department"
	FieldManagerEmail = "manager_email"
	FieldStartDate    = "start_date"
	FieldEndDate      = "end_date"
	FieldAliases      = "aliases"
)

var fields = []string{FieldEmail, FieldStatus, FieldEmployeeID, FieldName, FieldDepartment,
	FieldManagerEmail, FieldStartDate, FieldEndDate, FieldAliases}

// Config is the [roster] table of the config file.
type Config struct {
	// File is the roster CSV, relative to the config file.
	File string `toml:"file"`
	// Columns maps a field (email, status, ...) onto the header the HR
	// export uses for it ("Work Email").
	Columns map[string]string `toml:"columns"`
}

// Validate checks that Columns names known fields.
func (c Config) Validate() error {
	for f, h := range c.Columns {
		if !slices.Contains(fields, f) {
			return fmt.Errorf("roster columns: unknown field %q: map one of %s", f, strings.Join(fields, ", "))
		}
		if strings.TrimSpace(h) == "" {
			return fmt.Errorf("roster columns: %s maps to an empty header", f)
		}
	}
	return nil
}

// Person is one row of the roster.
type Person struct {
	Row          int // the row in the file, the header being row 1
	Email        string
	Status       Status
	Note         string // what the status column said when it was mapped (on_leave, leaver)
	EmployeeID   string
	Name         string
	Department   string
	ManagerEmail string
	// Start is when access may begin; End when it must be gone. Zero when
	// the roster leaves them blank.
	Start, End time.Time
	Aliases    []string
}

// Roster is a parsed roster file and what evidence records of it.
type Roster struct {
	File   string // as named on the command line or in the config
	SHA256 string // of the file's bytes, hex
	People []Person
}

// Ref is what findings and evidence record of the roster they used.
func (r *Roster) Ref() map[string]any {
	return map[string]any{"roster_sha256": r.SHA256, "roster_rows": len(r.People)}
}

// Load reads and parses the roster at path.
func Load(path string, columns map[string]string) (*Roster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("roster %s does not exist", path)
		}
		return nil, fmt.Errorf("read roster: %w", err)
	}
	return Parse(path, data, columns)
}

// Parse reads a roster CSV. Every error is one line naming file, row and
// column; no partial roster is returned.
func Parse(name string, data []byte, columns map[string]string) (*Roster, error) {
	if err := (Config{Columns: columns}).Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sum := sha256.Sum256(data)
	r := &Roster{File: name, SHA256: hex.EncodeToString(sum[:])}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))) // Excel writes a BOM
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: the file is empty: give a header row with email and status", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, csvError(err))
	}
	col, err := mapHeader(header, columns)
	if err != nil {
		return nil, fmt.Errorf("%s: row 1: %w", name, err)
	}
	byEmail := map[string]int{}
	byEmployee := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, csvError(err))
		}
		if isBlank(rec) {
			continue
		}
		// The line a record starts on: what a spreadsheet calls its row,
		// csv skipping blank lines as a spreadsheet shows them.
		row, _ := cr.FieldPos(0)
		p, err := parseRow(rec, col, columns)
		if err != nil {
			return nil, fmt.Errorf("%s: row %d, %w", name, row, err)
		}
		p.Row = row
		for i, e := range append([]string{p.Email}, p.Aliases...) {
			key := strings.ToLower(e)
			if prev, ok := byEmail[key]; ok {
				c := columnName(FieldEmail, columns)
				if i > 0 {
					c = columnName(FieldAliases, columns)
				}
				return nil, fmt.Errorf("%s: row %d, column %s: %s is already on row %d: give each person one row", name, row, c, e, prev)
			}
			byEmail[key] = row
		}
		if p.EmployeeID != "" {
			if prev, ok := byEmployee[p.EmployeeID]; ok {
				return nil, fmt.Errorf("%s: row %d, column %s: employee id %s is already on row %d", name, row, columnName(FieldEmployeeID, columns), p.EmployeeID, prev)
			}
			byEmployee[p.EmployeeID] = row
		}
		r.People = append(r.People, p)
	}
	return r, nil
}

// csvError keeps encoding/csv's position ("record on line 4") and drops
// its "parse error" prefix.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d, column %d: %v: check the quoting", pe.Line, pe.Column, pe.Err)
	}
	return err
}

func isBlank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// columnName is the header a field is read from, for errors.
func columnName(field string, columns map[string]string) string {
	if h, ok := columns[field]; ok {
		return fmt.Sprintf("%q", h)
	}
	return field
}

// mapHeader finds each field's column: by the mapped header, else by the
// field's own name, case-insensitively. Other columns are ignored: HR
// exports carry many.
func mapHeader(header []string, columns map[string]string) (map[string]int, error) {
	at := map[string]int{}
	for i, h := range header {
		k := strings.ToLower(strings.TrimSpace(h))
		if _, dup := at[k]; dup && k != "" {
			return nil, fmt.Errorf("column %q appears twice in the header", strings.TrimSpace(h))
		}
		at[k] = i
	}
	col := map[string]int{}
	for _, f := range fields {
		want := f
		if h, ok := columns[f]; ok {
			want = strings.ToLower(strings.TrimSpace(h))
		}
		if i, ok := at[want]; ok {
			col[f] = i
		}
	}
	for _, f := range []string{FieldEmail, FieldStatus} {
		if _, ok := col[f]; !ok {
			if h, mapped := columns[f]; mapped {
				return nil, fmt.Errorf("column %q: missing from the header, which [roster.columns] %s names", h, f)
			}
			return nil, fmt.Errorf("column %s: missing from the header: add it, or map it with [roster.columns] %s = \"Your Header\"", f, f)
		}
	}
	return col, nil
}

func parseRow(rec []string, col map[string]int, columns map[string]string) (Person, error) {
	get := func(f string) string {
		i, ok := col[f]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	bad := func(f, format string, args ...any) error {
		return fmt.Errorf("column %s: %s", columnName(f, columns), fmt.Sprintf(format, args...))
	}
	p := Person{EmployeeID: get(FieldEmployeeID), Name: get(FieldName), Department: get(FieldDepartment),
		ManagerEmail: get(FieldManagerEmail)}
	var err error
	if p.Email, err = address(get(FieldEmail)); err != nil {
		return p, bad(FieldEmail, "%v", err)
	}
	if p.ManagerEmail != "" {
		if _, err := address(p.ManagerEmail); err != nil {
			return p, bad(FieldManagerEmail, "%v", err)
		}
	}
	switch s := strings.ToLower(get(FieldStatus)); s {
	case "active":
		p.Status = Active
	case "terminated":
		p.Status = Terminated
	case "leaver", "inactive":
		p.Status, p.Note = Terminated, s
	case "on_leave", "on leave":
		p.Status, p.Note = Active, "on_leave"
	case "":
		return p, bad(FieldStatus, "empty: write active or terminated")
	default:
		return p, bad(FieldStatus, "unknown status %q: write active, terminated, leaver, inactive or on_leave", get(FieldStatus))
	}
	if p.Start, err = parseTime(get(FieldStartDate), false); err != nil {
		return p, bad(FieldStartDate, "%v", err)
	}
	if p.End, err = parseTime(get(FieldEndDate), true); err != nil {
		return p, bad(FieldEndDate, "%v", err)
	}
	if !p.Start.IsZero() && !p.End.IsZero() && p.End.Before(p.Start) {
		return p, bad(FieldEndDate, "%s is before start_date %s", get(FieldEndDate), get(FieldStartDate))
	}
	for a := range strings.SplitSeq(get(FieldAliases), ";") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		e, err := address(a)
		if err != nil {
			return p, bad(FieldAliases, "%v", err)
		}
		p.Aliases = append(p.Aliases, e)
	}
	return p, nil
}

func address(s string) (string, error) {
	if s == "" {
		return "", errors.New("empty: every row needs an email")
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t,") {
		return "", fmt.Errorf("%q is not an email address", s)
	}
	return s, nil
}

// parseTime reads a date (YYYY-MM-DD, UTC) or an RFC 3339 time. An end
// date names the last day: access must be gone when that day ends, so it
// stands for the next midnight.
func parseTime(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date: write YYYY-MM-DD or an RFC 3339 time (2026-12-01T17:00:00Z)", s)
}

// Describe names a person in details: email, employee id and status.
func (p *Person) Describe() string {
	var parts []string
	if p.EmployeeID != "" {
		parts = append(parts, p.EmployeeID)
	}
	st := string(p.Status)
	if p.Note != "" {
		st += " (" + p.Note + ")"
	}
	parts = append(parts, st)
	if !p.End.IsZero() {
		parts = append(parts, "access ends "+p.End.UTC().Format(time.RFC3339))
	}
	return "roster " + p.Email + " (" + strings.Join(parts, ", ") + ")"
}
