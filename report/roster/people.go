package roster

import (
	"io"
	"strings"

	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/report/people"
)

// PeopleResult is `idsnap people` with a roster: each account beside its
// roster person, and which roster was read.
type PeopleResult struct {
	Roster Ref            `json:"roster"`
	People []PersonResult `json:"people"`
}

// Ref names the roster a result used: evidence of which HR data it read.
type Ref struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"`
}

// PersonResult is report.Person with roster data on its accounts.
type PersonResult struct {
	ID        string          `json:"id"`
	Accounts  []AccountResult `json:"accounts"`
	MatchedBy []string        `json:"matched_by"`
}

// AccountResult is an account and its roster person, nil when none.
type AccountResult struct {
	people.Account
	Roster *RosterEntry `json:"roster"`
}

// RosterEntry is the roster row an account matched and why.
type RosterEntry struct {
	Row          int    `json:"row"`
	Email        string `json:"email"`
	EmployeeID   string `json:"employee_id"`
	Status       Status `json:"status"`
	Note         string `json:"note,omitempty"`
	Department   string `json:"department"`
	ManagerEmail string `json:"manager_email"`
	MatchedBy    string `json:"matched_by"`
}

// PeopleWith puts each account of pr beside its roster person in res.
func PeopleWith(pr *people.Result, res *Result) *PeopleResult {
	out := &PeopleResult{Roster: Ref{File: res.Roster.File, SHA256: res.Roster.SHA256, Rows: len(res.Roster.People)},
		People: make([]PersonResult, len(pr.People))}
	for i, p := range pr.People {
		q := PersonResult{ID: p.ID, MatchedBy: p.MatchedBy, Accounts: make([]AccountResult, len(p.Accounts))}
		for j, a := range p.Accounts {
			q.Accounts[j].Account = a
			if rp, why := res.Person(a.Source, a.ID); rp != nil {
				q.Accounts[j].Roster = &RosterEntry{Row: rp.Row, Email: rp.Email, EmployeeID: rp.EmployeeID, Status: rp.Status,
					Note: rp.Note, Department: rp.Department, ManagerEmail: rp.ManagerEmail, MatchedBy: why}
			}
		}
		out.People[i] = q
	}
	return out
}

// RenderPeople writes r as JSON, or as a table with one row per account
// and the roster person beside it.
func RenderPeople(w io.Writer, f report.Format, r *PeopleResult) error {
	if f == report.FormatJSON {
		return report.RenderJSON(w, r)
	}
	t := report.Table{Header: []string{"PERSON", "SOURCE", "ID", "EMAIL", "STATUS", "MATCHED BY", "EMPLOYEE ID", "ROSTER STATUS", "ROSTER MATCH"}}
	for _, p := range r.People {
		for _, a := range p.Accounts {
			row := []string{p.ID, a.Source, a.ID, a.Email, string(a.Status), strings.Join(p.MatchedBy, ", "), "", "not in roster", ""}
			if e := a.Roster; e != nil {
				row[6], row[7], row[8] = e.EmployeeID, string(e.Status), e.MatchedBy
				if e.Note != "" {
					row[7] += " (" + e.Note + ")"
				}
			}
			t.Rows = append(t.Rows, row)
		}
	}
	return report.RenderTable(w, f, t)
}

// ReviewCells are the AccessReviewRosterHeader cells of an account.
func (r *Result) ReviewCells(source, id string) []string {
	p, _ := r.Person(source, id)
	if p == nil {
		return []string{"", "", "", "not in roster"}
	}
	st := string(p.Status)
	if p.Note != "" {
		st += " (" + p.Note + ")"
	}
	return []string{p.EmployeeID, p.Department, p.ManagerEmail, st}
}
