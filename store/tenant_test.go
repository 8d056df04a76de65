package store

import (
	"testing"

	"github.com/idsnap/idsnap"
)

// Commit reports the source's previous snapshot, read in its own
// transaction, so pull can say when the tenant changed; another source's
// snapshot in between is not it.
func TestCommitReportsPrevious(t *testing.T) {
	db, _ := openTest(t)
	z := idsnap.Source{Name: "z", Provider: "zitadel", BaseURL: "https://acme.zitadel.cloud", Tenant: "1"}
	other := idsnap.Source{Name: "k", Provider: "kinde", BaseURL: "https://acme.kinde.com"}
	first := pull(t, db, z, nil)
	if first.Previous != nil {
		t.Errorf("first snapshot has a previous: %+v", first.Previous)
	}
	pull(t, db, other, nil)
	z.Tenant = "2"
	second := pull(t, db, z, nil)
	c, ok := second.TenantChange()
	if !ok || c.Before.ID != first.ID || c.Before.Org != "1" || c.After.Org != "2" || c.Detail() != "org 1 → 2" {
		t.Errorf("TenantChange = %+v, %v; want org 1 → 2 since snapshot %d", c, ok, first.ID)
	}
	if third := pull(t, db, z, nil); third.Previous == nil || third.Previous.ID != second.ID {
		t.Errorf("third's previous = %+v, want #%d", third.Previous, second.ID)
	}
}
