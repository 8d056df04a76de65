package zitadeltest

import (
	"reflect"
	"testing"
)

func TestGenerateDeterministic(t *testing.T) {
	a, b, c := Generate(42, 300, 10), Generate(42, 300, 10), Generate(43, 300, 10)
	if !reflect.DeepEqual(a.Users(), b.Users()) || !reflect.DeepEqual(a.Grants(), b.Grants()) || !reflect.DeepEqual(a.Projects(), b.Projects()) {
		t.Error("Generate(42) differs between two calls")
	}
	if reflect.DeepEqual(a.Grants(), c.Grants()) {
		t.Error("Generate(42) and Generate(43) give the same grants")
	}
	var machines, inactive int
	for _, u := range a.Users() {
		if u.Machine {
			machines++
		}
		if u.State != UserActive {
			inactive++
		}
	}
	if machines == 0 || inactive == 0 || len(a.Users()) != 300 || len(a.Projects()) != 10 || len(a.Grants()) < 300 {
		t.Errorf("Generate(42, 300, 10): %d users (%d machines, %d not active), %d projects, %d grants",
			len(a.Users()), machines, inactive, len(a.Projects()), len(a.Grants()))
	}
}

func TestRemoveRoleCascades(t *testing.T) {
	tn := NewTenant("Acme", "acme.zitadel.cloud")
	p := tn.AddProject(Project{Name: "P"})
	tn.AddRole(p, "a", "A", "")
	tn.AddRole(p, "b", "B", "")
	u := tn.AddUser(User{UserName: "u"})
	g := tn.AddGrant(u, p, "a", "b")
	tn.RemoveRole(p, "a")
	if got := tn.Grants(); len(got) != 1 || got[0].ID != g || !reflect.DeepEqual(got[0].RoleKeys, []string{"b"}) {
		t.Errorf("grants after RemoveRole = %+v, want %s holding only b", got, g)
	}
	tn.RemoveUser(u)
	if got := tn.Grants(); len(got) != 0 {
		t.Errorf("grants after RemoveUser = %+v, want none", got)
	}
}
