package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
)

// staffer is a hired person and their accounts, what HR's roster lists.
type staffer struct {
	person
	kinde, ory, zitadel string // account ids, "" where none
	dept                string
	// HR's view: a leaver left before day 0 and is deprovisioned on day 1,
	// or forgotten (nobody removes the accounts); a contractor is not on
	// the roster; a late joiner's start date is after day 0.
	leaver     leaverKind
	contractor bool
	lateStart  bool
}

type leaverKind int

const (
	notLeaver leaverKind = iota
	leaverProcessed
	leaverForgotten
)

var departments = []string{"Engineering", "Sales", "Support", "Finance", "People"}

// HR plan sizes: enough for every roster finding to show in the demo.
const (
	hrLeavers     = 6 // half deprovisioned on day 1, half forgotten
	hrContractors = 3
	hrLeftDaysAgo = 2 // leavers' last day, before day 0
	hrStartIn     = 14
)

// planHR decides, with its own generator so the world's accounts stay as
// they were, who HR says has left, who is a contractor off the roster and
// who starts late. Leavers are picked among people with a Kinde account:
// Kinde keeps them in the default organization, so a forgotten leaver
// always still holds a grant.
func (w *world) planHR(seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x4e5))
	for _, s := range w.staff {
		s.dept = departments[rng.IntN(len(departments))]
	}
	var withKinde []*staffer
	for _, s := range w.staff {
		if s.kinde != "" {
			withKinde = append(withKinde, s)
		}
	}
	order := rng.Perm(len(withKinde))
	for n, i := range order {
		s := withKinde[i]
		switch {
		case n < hrLeavers/2:
			s.leaver = leaverProcessed
		case n < hrLeavers:
			s.leaver = leaverForgotten
		case n < hrLeavers+hrContractors:
			s.contractor = true
		case n == hrLeavers+hrContractors:
			s.lateStart = true
		}
	}
}

func (w *world) isLeaver(kindeID string) bool {
	for _, s := range w.staff {
		if s.kinde == kindeID && s.leaver != notLeaver {
			return true
		}
	}
	return false
}

// deprovisionLeavers is what IT does on day 1 for half of HR's leavers:
// delete the Kinde user and the Ory identity, revoke every ZITADEL grant
// and deactivate the ZITADEL user. The other half keep everything.
func (w *world) deprovisionLeavers() []string {
	var ev []string
	end := w.leaverEnd().Format(time.DateOnly)
	for _, s := range w.staff {
		switch s.leaver {
		case leaverProcessed:
			if s.kinde != "" {
				_ = w.kinde.RemoveUser(s.kinde)
			}
			if s.ory != "" {
				w.ory.DeleteIdentity(s.ory)
			}
			if s.zitadel != "" {
				for _, g := range w.zitadel.Grants() {
					if g.UserID == s.zitadel {
						w.zitadel.RemoveGrant(g.ID)
					}
				}
				w.zitadel.SetUserState(s.zitadel, zitadeltest.UserInactive)
			}
			ev = append(ev, fmt.Sprintf("hr: leaver %s (last day %s) deprovisioned", s.email, end))
		case leaverForgotten:
			ev = append(ev, fmt.Sprintf("hr: leaver %s (last day %s) forgotten: accounts kept", s.email, end))
		}
	}
	return ev
}

// leaverEnd is the leavers' last day.
func (w *world) leaverEnd() time.Time { return w.epoch.AddDate(0, 0, -hrLeftDaysAgo) }

// rosterCSV is HR's export as of now: everyone hired but contractors,
// leavers terminated with their last day, a late joiner's start date in
// the future, a manager per department, the employee id some providers
// hold as an external id.
func (w *world) rosterCSV() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"employee_id", "email", "name", "department", "manager_email", "status", "start_date", "end_date", "aliases"})
	managers := map[string]string{}
	for _, s := range w.staff {
		if _, ok := managers[s.dept]; !ok && !s.contractor && s.leaver == notLeaver {
			managers[s.dept] = s.email
		}
	}
	for _, s := range w.staff {
		if s.contractor {
			continue
		}
		status, start, end := "active", "", ""
		if s.leaver != notLeaver {
			status, end = "terminated", w.leaverEnd().Format(time.DateOnly)
		}
		if s.lateStart {
			start = w.epoch.AddDate(0, 0, hrStartIn).Format(time.DateOnly)
		}
		mgr := managers[s.dept]
		if mgr == s.email {
			mgr = ""
		}
		_ = cw.Write([]string{s.employeeID, s.email, s.first + " " + s.last, s.dept, mgr, status, start, end, ""})
	}
	cw.Flush()
	return buf.Bytes()
}
