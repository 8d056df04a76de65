package idsnap

import (
	"slices"
	"testing"
)

func TestTenantDiffers(t *testing.T) {
	x := Tenant{Provider: "zitadel", BaseURL: "https://acme.zitadel.cloud", Org: "1"}
	for _, tc := range []struct {
		name string
		u    Tenant
		want string
	}{
		{"same", x, ""},
		{"trailing slash and case", Tenant{Provider: "zitadel", BaseURL: "https://ACME.zitadel.cloud/", Org: "1"}, ""},
		{"org unknown", Tenant{Provider: "zitadel", BaseURL: x.BaseURL}, ""},
		{"base URL unknown", Tenant{Provider: "zitadel", Org: "1"}, ""},
		{"org", Tenant{Provider: "zitadel", BaseURL: x.BaseURL, Org: "2"}, "org 1 → 2"},
		{"instance", Tenant{Provider: "zitadel", BaseURL: "https://beta.zitadel.cloud", Org: "1"}, "base URL https://acme.zitadel.cloud → https://beta.zitadel.cloud"},
		{"provider", Tenant{Provider: "kinde", BaseURL: x.BaseURL}, "provider zitadel → kinde"},
	} {
		if got := x.Change(tc.u); got != tc.want {
			t.Errorf("%s: Change = %q, want %q", tc.name, got, tc.want)
		}
		if x.Differs(tc.u) != (tc.want != "") || tc.u.Differs(x) != (tc.want != "") {
			t.Errorf("%s: Differs is not %v both ways", tc.name, tc.want != "")
		}
	}
}

func TestTenantChanges(t *testing.T) {
	snap := func(id int64, org string) Snapshot {
		return Snapshot{ID: id, Source: "z", Provider: "zitadel", BaseURL: "https://acme.zitadel.cloud", Org: org}
	}
	// 3 does not know its org: 4 still changed from 1 and 2's.
	snaps := []Snapshot{snap(1, "a"), snap(2, "a"), snap(3, ""), snap(4, "b"), snap(5, "b"), snap(6, "a")}
	var got [][2]int64
	for _, c := range TenantChanges(snaps) {
		got = append(got, [2]int64{c.Before.ID, c.After.ID})
	}
	if want := [][2]int64{{3, 4}, {5, 6}}; !slices.Equal(got, want) {
		t.Errorf("TenantChanges = %v, want %v", got, want)
	}
	c := TenantChanges(snaps)[0]
	if s := c.String(); s != "snapshot 3 to 4 (zitadel https://acme.zitadel.cloud → zitadel https://acme.zitadel.cloud org b)" {
		t.Errorf("String = %q", s)
	}
	if TenantChanges(snaps[:3]) != nil {
		t.Error("one tenant has no changes")
	}
}

func TestSnapshotTenantChange(t *testing.T) {
	prev := Snapshot{ID: 1, Provider: "ory", BaseURL: "https://a.projects.oryapis.com"}
	s := Snapshot{ID: 2, Provider: "ory", BaseURL: "https://b.projects.oryapis.com", Previous: &prev}
	c, ok := s.TenantChange()
	if !ok || c.Before.ID != 1 || c.After.ID != 2 {
		t.Errorf("TenantChange = %+v, %v", c, ok)
	}
	s.BaseURL = prev.BaseURL
	if _, ok := s.TenantChange(); ok {
		t.Error("same tenant reported as a change")
	}
	if _, ok := (Snapshot{ID: 1}).TenantChange(); ok {
		t.Error("a first snapshot has no change")
	}
}
