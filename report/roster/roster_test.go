package roster

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	data := "\ufeffEmployee_ID,Work Email,STATUS,Name,Department,Manager_Email,Start_Date,End_Date,Aliases,Cost Centre\n" +
		"E1,alice@acme.com,active,Alice,Eng,bob@acme.com,2024-01-15,,alice.old@acme.com; a@acme.io,CC1\n" +
		"E2,bob@acme.com,Leaver,Bob,Eng,,,2026-11-30,,CC1\n" +
		"\n" +
		"E3,carol@acme.com,on_leave,Carol,Ops,,,2026-12-01T17:00:00+01:00,,CC2\n"
	r, err := Parse("hr.csv", []byte(data), map[string]string{"email": "work email"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.People) != 3 || len(r.SHA256) != 64 {
		t.Fatalf("Parse = %d people, sha %q", len(r.People), r.SHA256)
	}
	a, b, c := r.People[0], r.People[1], r.People[2]
	if a.Row != 2 || a.Email != "alice@acme.com" || a.Status != Active || a.EmployeeID != "E1" || a.ManagerEmail != "bob@acme.com" ||
		!a.Start.Equal(time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)) || strings.Join(a.Aliases, "|") != "alice.old@acme.com|a@acme.io" {
		t.Errorf("alice = %+v", a)
	}
	// A date names the last day: access must be gone when it ends.
	if b.Status != Terminated || b.Note != "leaver" || !b.End.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("bob = %+v", b)
	}
	if c.Row != 5 || c.Status != Active || c.Note != "on_leave" || !c.End.Equal(time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("carol = %+v", c)
	}
}

func TestParseBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		columns    map[string]string
		want       string
	}{
		{"empty", "", nil, "hr.csv: the file is empty"},
		{"no email column", "mail,status\na@x.com,active\n", nil, "hr.csv: row 1: column email: missing from the header"},
		{"no status column", "email\na@x.com\n", nil, "hr.csv: row 1: column status: missing"},
		{"mapped column missing", "email,status\na@x.com,active\n", map[string]string{"email": "Work Email"}, `hr.csv: row 1: column "Work Email": missing from the header, which [roster.columns] email names`},
		{"unknown mapped field", "email,status\n", map[string]string{"mail": "x"}, `hr.csv: roster columns: unknown field "mail"`},
		{"duplicate header", "email,status,Email\n", nil, `column "Email" appears twice`},
		{"unknown status", "email,status\na@x.com,active\nb@x.com,gone\n", nil, `hr.csv: row 3, column status: unknown status "gone"`},
		{"empty status", "email,status\na@x.com,\n", nil, "hr.csv: row 2, column status: empty"},
		{"empty email", "email,status\n,active\n", nil, "hr.csv: row 2, column email: empty"},
		{"bad email", "email,status\nnobody,active\n", nil, `hr.csv: row 2, column email: "nobody" is not an email address`},
		{"bad date", "email,status,end_date\na@x.com,terminated,2026-13-01\n", nil, `hr.csv: row 2, column end_date: "2026-13-01" is not a date`},
		{"bad start", "email,status,start_date\na@x.com,active,01/02/2026\n", nil, `hr.csv: row 2, column start_date: "01/02/2026" is not a date`},
		{"end before start", "email,status,start_date,end_date\na@x.com,active,2026-02-01,2026-01-01\n", nil, "row 2, column end_date: 2026-01-01 is before start_date"},
		{"duplicate email", "email,status\na@x.com,active\nA@X.com,active\n", nil, "hr.csv: row 3, column email: A@X.com is already on row 2"},
		{"alias duplicates email", "email,status,aliases\na@x.com,active,\nb@x.com,active,a@x.com\n", nil, "hr.csv: row 3, column aliases: a@x.com is already on row 2"},
		{"duplicate employee id", "email,status,employee_id\na@x.com,active,E1\nb@x.com,active,E1\n", nil, "hr.csv: row 3, column employee_id: employee id E1 is already on row 2"},
		{"mapped column named", "Mail,status\na@x.com,active\nbad,active\n", map[string]string{"email": "Mail"}, `hr.csv: row 3, column "Mail": "bad" is not an email address`},
		{"bad quoting", "email,status\n\"a@x.com,active\n", nil, "check the quoting"},
		{"bad alias", "email,status,aliases\na@x.com,active,b@x.com;nope\n", nil, `row 2, column aliases: "nope" is not an email address`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse("hr.csv", []byte(tc.data), tc.columns)
			if err == nil {
				t.Fatalf("Parse = %+v, want error %q", r, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Parse error = %q, want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "nope.csv"), nil); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Load(missing) = %v", err)
	}
	p := filepath.Join(dir, "hr.csv")
	if err := os.WriteFile(p, []byte("email,status\na@x.com,active\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Load(p, nil)
	if err != nil || len(r.People) != 1 || r.File != p {
		t.Fatalf("Load = %+v, %v", r, err)
	}
	// The hash is of the bytes as read: evidence can be checked against the file.
	sum := sha256.Sum256([]byte("email,status\na@x.com,active\n"))
	if r.SHA256 != hex.EncodeToString(sum[:]) || r.Ref()["roster_sha256"] != r.SHA256 || r.Ref()["roster_rows"] != 1 {
		t.Errorf("Ref = %v", r.Ref())
	}
}
