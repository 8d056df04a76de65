package zitadeltest

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "John",
		"Radia", "Edsger", "Katherine", "Donald", "Hedy", "Tim", "Annie", "Guido", "Sophie", "Niklaus"}
	lastNames = []string{"Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
		"Allen", "McCarthy", "Perlman", "Dijkstra", "Johnson", "Knuth", "Lamarr", "Berners-Lee", "Easley", "van Rossum",
		"Wilson", "Wirth"}
	projectNames = []string{"Billing", "Portal", "Warehouse", "Analytics", "Support Desk", "Payroll", "CRM", "Wiki",
		"CI", "Data Lake", "Mobile App", "Partner API", "Search", "Inventory", "HR"}
	roleSets = [][2]string{{"admin", "Administrator"}, {"editor", "Editor"}, {"viewer", "Viewer"},
		{"billing.manage", "Manage billing"}, {"support.agent", "Support agent"}, {"owner", "Owner"}}
)

// Generate returns a deterministic single-org tenant ("Acme",
// acme.zitadel.cloud) with the given numbers of users and projects: about
// one user in ten a machine user, a few inactive, locked or not yet set up,
// three to six roles per project, and one to three project grants per
// user holding one or two role keys each. The same seed gives the same
// tenant, ids included.
func Generate(seed int64, users, projects int) *Tenant {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	t := NewTenant("Acme", "acme.zitadel.cloud")

	type proj struct {
		id   string
		keys []string
	}
	var ps []proj
	for i := range projects {
		name := projectNames[i%len(projectNames)]
		if i >= len(projectNames) {
			name = fmt.Sprintf("%s %d", name, i/len(projectNames)+1)
		}
		id := t.AddProject(Project{Name: name, RoleAssertion: r.IntN(2) == 0, RoleCheck: r.IntN(4) == 0})
		p := proj{id: id}
		for _, k := range r.Perm(len(roleSets))[:3+r.IntN(4)] {
			t.AddRole(id, roleSets[k][0], roleSets[k][1], strings.Fields(name)[0])
			p.keys = append(p.keys, roleSets[k][0])
		}
		ps = append(ps, p)
	}

	for i := range users {
		var u User
		if r.IntN(10) == 0 {
			u = User{Machine: true, UserName: fmt.Sprintf("svc-%s-%d", strings.ToLower(strings.Fields(projectNames[r.IntN(len(projectNames))])[0]), i),
				Name: fmt.Sprintf("Service %d", i), Description: "automation account"}
		} else {
			f, l := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
			login := fmt.Sprintf("%s.%s%d", strings.ToLower(f), strings.ToLower(strings.ReplaceAll(l, " ", "")), i)
			u = User{UserName: login, FirstName: f, LastName: l, DisplayName: f + " " + l, NickName: strings.ToLower(f),
				Language: []string{"en", "de", "fr"}[r.IntN(3)], Email: login + "@acme.example",
				EmailVerified: r.IntN(8) != 0}
		}
		switch n := r.IntN(40); {
		case n == 0:
			u.State = UserInactive
		case n == 1:
			u.State = UserLocked
		case n == 2 && !u.Machine:
			u.State = UserInitial
		}
		uid := t.AddUser(u)
		if len(ps) == 0 {
			continue
		}
		for _, pi := range r.Perm(len(ps))[:min(len(ps), 1+r.IntN(3))] {
			p := ps[pi]
			keys := []string{p.keys[r.IntN(len(p.keys))]}
			if k := p.keys[r.IntN(len(p.keys))]; r.IntN(3) == 0 && k != keys[0] {
				keys = append(keys, k)
			}
			gid := t.AddGrant(uid, p.id, keys...)
			if r.IntN(50) == 0 {
				t.SetGrantState(gid, GrantInactive)
			}
		}
	}
	return t
}
