package roster

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/report/people"
)

// account is what the roster rules keep of one user of a snapshot.
type account struct {
	snap                        idsnap.Snapshot
	id, email, name, externalID string
	status                      idsnap.Status
	machine                     bool
	created                     time.Time
	grants                      int
	labels                      []string  // the first maxLabels grants' entitlements
	firstGrant                  time.Time // the oldest grant's creation time, where the provider gives it
	person                      int       // roster person, -1 for none
	why                         string    // how the person was matched
}

const maxLabels = 3

func (a *account) source() string { return a.snap.Source }

func (a *account) gone() bool {
	return a.status == idsnap.StatusSuspended || a.status == idsnap.StatusInactive || a.status == idsnap.StatusDeleted
}

// grantText says how many active grants an account holds and names the first.
func grantText(n int, labels []string) string {
	s := fmt.Sprintf("%d active grant", n)
	if n != 1 {
		s += "s"
	}
	if len(labels) > 0 {
		s += ": " + strings.Join(labels, ", ")
		if more := n - len(labels); more > 0 {
			s += fmt.Sprintf(" and %d more", more)
		}
	}
	return s
}

// scan reads the users and active grants of every input, sources in name
// order and users by id, as findings reads them.
func scan(ctx context.Context, in []report.State) ([]account, error) {
	in = slices.Clone(in)
	slices.SortFunc(in, func(a, b report.State) int { return strings.Compare(a.Snapshot.Source, b.Snapshot.Source) })
	var accts []account
	for _, src := range in {
		lo := len(accts)
		ents := map[string]string{}
		resources := map[string]string{}
		find := func(id string) *account {
			us := accts[lo:]
			k, ok := slices.BinarySearchFunc(us, id, func(a account, id string) int { return strings.Compare(a.id, id) })
			if !ok {
				return nil
			}
			return &us[k]
		}
		sorted := false
		err := src.Records(ctx, func(r idsnap.Record) error {
			switch r.Kind {
			case idsnap.KindUser:
				a := account{snap: src.Snapshot, id: r.ID, email: r.Email, name: cmp.Or(r.Name, r.Username), externalID: r.ExternalID,
					status: r.Status, machine: r.Type == idsnap.AccountMachine, created: r.CreatedAt, person: -1}
				accts = append(accts, a)
				return nil
			case idsnap.KindResource:
				resources[r.ID] = cmp.Or(r.Name, r.ID)
				return nil
			case idsnap.KindEntitlement:
				ents[r.ID] = cmp.Or(resources[r.ResourceID], r.ResourceID) + "/" + cmp.Or(r.Name, strings.TrimPrefix(r.ID, r.ResourceID+":"))
				return nil
			}
			if !sorted {
				slices.SortFunc(accts[lo:], func(a, b account) int { return strings.Compare(a.id, b.id) })
				sorted = true
			}
			if r.Status != "" && r.Status != idsnap.StatusActive {
				return nil
			}
			a := find(r.PrincipalID)
			if a == nil {
				return nil
			}
			a.grants++
			if len(a.labels) < maxLabels {
				a.labels = append(a.labels, cmp.Or(ents[r.EntitlementID], r.EntitlementID))
			}
			if !r.CreatedAt.IsZero() && (a.firstGrant.IsZero() || r.CreatedAt.Before(a.firstGrant)) {
				a.firstGrant = r.CreatedAt
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: read snapshot %d: %w", src.Snapshot.Source, src.Snapshot.ID, err)
		}
		if !sorted {
			slices.SortFunc(accts[lo:], func(a, b account) int { return strings.Compare(a.id, b.id) })
		}
	}
	return accts, nil
}

// keys indexes the roster by what accounts are matched on.
type keys struct {
	aliases  map[string]string // people's domain aliases, lower-cased
	email    map[string]int    // normalised email → person
	alias    map[string]int    // normalised roster alias → person
	employee map[string]int
}

func newKeys(r *Roster, pc people.Config) *keys {
	k := &keys{aliases: map[string]string{}, email: map[string]int{}, alias: map[string]int{}, employee: map[string]int{}}
	for from, to := range pc.DomainAliases {
		k.aliases[strings.ToLower(strings.TrimSpace(from))] = strings.ToLower(strings.TrimSpace(to))
	}
	for i, p := range r.People {
		if key, _ := people.NormalizeEmail(p.Email, k.aliases); key != "" {
			if _, ok := k.email[key]; !ok {
				k.email[key] = i
			}
		}
		for _, a := range p.Aliases {
			if key, _ := people.NormalizeEmail(a, k.aliases); key != "" {
				if _, ok := k.alias[key]; !ok {
					k.alias[key] = i
				}
			}
		}
		if p.EmployeeID != "" {
			k.employee[p.EmployeeID] = i
		}
	}
	return k
}

// emailWhy names the normalisation steps that make two addresses equal.
func (k *keys) emailWhy(account, roster string) string {
	if account == roster {
		return people.MatchEmailExact
	}
	_, s1 := people.NormalizeEmail(account, k.aliases)
	_, s2 := people.NormalizeEmail(roster, k.aliases)
	steps := slices.Compact(slices.Sorted(slices.Values(append(s1, s2...))))
	if len(steps) == 0 {
		return people.MatchEmailExact
	}
	return strings.Join(steps, "+")
}

// direct matches one account on its own: employee id first (HR's own key),
// then email, then a roster alias.
func (k *keys) direct(r *Roster, email, externalID string) (int, string) {
	if externalID != "" {
		if i, ok := k.employee[externalID]; ok {
			return i, "employee_id " + externalID
		}
	}
	key, _ := people.NormalizeEmail(email, k.aliases)
	if key == "" {
		return -1, ""
	}
	if i, ok := k.email[key]; ok {
		return i, k.emailWhy(email, r.People[i].Email)
	}
	if i, ok := k.alias[key]; ok {
		for _, a := range r.People[i].Aliases {
			if ak, _ := people.NormalizeEmail(a, k.aliases); ak == key {
				return i, "alias " + a + " (" + k.emailWhy(email, a) + ")"
			}
		}
	}
	return -1, ""
}

// match gives each account its roster person: directly, or through the
// person `people` links it into (manual links, external ids), provided
// that person's directly matched accounts agree on one roster person.
// Unlinks keep a roster person from spreading across the accounts they
// separate; two unlinked accounts with the same address still both match
// its roster row directly, as one address names one roster person (an
// employee id on each tells them apart).
func match(ctx context.Context, accts []account, r *Roster, pc people.Config) error {
	k := newKeys(r, pc)
	for i := range accts {
		a := &accts[i]
		a.person, a.why = k.direct(r, a.email, a.externalID)
	}
	pr, err := people.Run(ctx, replay(accts), pc, true)
	if err != nil {
		return err
	}
	type ref struct{ source, id string }
	index := make(map[ref]int, len(accts))
	for i := range accts {
		index[ref{accts[i].source(), accts[i].id}] = i
	}
	for _, p := range pr.People {
		person, from := -1, -1
		agree := true
		for _, pa := range p.Accounts {
			a := &accts[index[ref{pa.Source, pa.ID}]]
			if a.person < 0 {
				continue
			}
			if person >= 0 && a.person != person {
				agree = false
			}
			if person < 0 {
				person, from = a.person, index[ref{pa.Source, pa.ID}]
			}
		}
		if person < 0 || !agree {
			continue
		}
		for _, pa := range p.Accounts {
			a := &accts[index[ref{pa.Source, pa.ID}]]
			if a.person < 0 {
				a.person = person
				a.why = "linked to " + accts[from].source() + ":" + accts[from].id + " (" + strings.Join(p.MatchedBy, ", ") + ")"
			}
		}
	}
	return nil
}

// replay hands accounts already read to report.People, so linking reads
// no snapshot twice.
func replay(accts []account) []report.State {
	var in []report.State
	for lo := 0; lo < len(accts); {
		hi := lo + 1
		for hi < len(accts) && accts[hi].source() == accts[lo].source() {
			hi++
		}
		us := accts[lo:hi]
		in = append(in, report.State{Snapshot: us[0].snap, Records: func(ctx context.Context, fn func(idsnap.Record) error) error {
			for _, a := range us {
				if err := fn(idsnap.Record{Kind: idsnap.KindUser, ID: a.id, Email: a.email, ExternalID: a.externalID, Status: a.status}); err != nil {
					return err
				}
			}
			return nil
		}})
		lo = hi
	}
	return in
}
