package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/internal/jsonbytes"
)

// tenant is a small generated access graph, mutated between pulls.
type tenant struct {
	rng   *rand.Rand
	users map[string]*idsnap.Record
	other map[string]*idsnap.Record // resources, entitlements, grants by kind+id
	next  int
}

func newTenant(seed uint64) *tenant {
	tn := &tenant{rng: rand.New(rand.NewPCG(seed, 1)), users: map[string]*idsnap.Record{}, other: map[string]*idsnap.Record{}}
	for range 12 {
		tn.join()
	}
	for i := range 3 {
		res := fmt.Sprintf("org_%d", i)
		tn.other["resource/"+res] = &idsnap.Record{Kind: idsnap.KindResource, ID: res, Name: "Org " + res, Raw: tn.raw(map[string]any{"code": res})}
		for _, key := range []string{"member", "admin"} {
			id := idsnap.EntitlementID(res, key)
			tn.other["entitlement/"+id] = &idsnap.Record{Kind: idsnap.KindEntitlement, ID: id, ResourceID: res, Name: key}
		}
	}
	for range 15 {
		tn.grant()
	}
	return tn
}

// raw writes m as JSON with keys in random order and random spacing, so
// only canonicalization makes two pulls of the same object equal.
func (tn *tenant) raw(m map[string]any) json.RawMessage {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	tn.rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	var b strings.Builder
	b.WriteString("{ ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" ,\n")
		}
		kb, _ := json.Marshal(k)
		var vb []byte
		if sub, ok := m[k].(map[string]any); ok {
			vb = tn.raw(sub)
		} else {
			vb, _ = json.Marshal(m[k])
		}
		fmt.Fprintf(&b, "%s :\t%s", kb, vb)
	}
	b.WriteString(" }")
	return json.RawMessage(b.String())
}

func (tn *tenant) userRaw(u *idsnap.Record, plan string) json.RawMessage {
	return tn.raw(map[string]any{"id": u.ID, "plan": plan, "traits": map[string]any{"email": u.Email, "name": map[string]any{"first": u.Name}}, "tags": []any{"a", plan}})
}

func (tn *tenant) join() {
	tn.next++
	id := fmt.Sprintf("kp_%03d", tn.next)
	u := &idsnap.Record{Kind: idsnap.KindUser, ID: id, Email: id + "@example.com", Name: "User " + id,
		Status: idsnap.StatusActive, Type: idsnap.AccountHuman, Username: "user" + id,
		CreatedAt: time.Date(2026, 1, tn.next%28+1, 10, 0, 0, 0, time.UTC)}
	if tn.rng.IntN(3) > 0 {
		v := tn.rng.IntN(2) == 0
		u.EmailVerified = &v
	}
	if tn.rng.IntN(4) > 0 { // some users from a provider without sign-in data
		u.Activity = &idsnap.Activity{SignIns: int64(tn.rng.IntN(5))}
	}
	u.Raw = tn.userRaw(u, "free")
	tn.users[id] = u
}

func (tn *tenant) pick(m map[string]*idsnap.Record) *idsnap.Record {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	return m[keys[tn.rng.IntN(len(keys))]]
}

func (tn *tenant) grant() {
	u := tn.pick(tn.users)
	var ents []*idsnap.Record
	for _, r := range tn.other {
		if r.Kind == idsnap.KindEntitlement {
			ents = append(ents, r)
		}
	}
	if u == nil || len(ents) == 0 {
		return
	}
	slices.SortFunc(ents, func(a, b *idsnap.Record) int { return strings.Compare(a.ID, b.ID) })
	e := ents[tn.rng.IntN(len(ents))]
	id := idsnap.GrantID(u.ID, e.ID)
	tn.other["grant/"+id] = &idsnap.Record{Kind: idsnap.KindGrant, ID: id, PrincipalID: u.ID, ResourceID: e.ResourceID,
		EntitlementID: e.ID, Status: idsnap.StatusActive}
}

// mutate applies a few random changes of every sort.
func (tn *tenant) mutate() {
	for range tn.rng.IntN(4) + 1 {
		switch tn.rng.IntN(8) {
		case 0:
			tn.join()
		case 1:
			if u := tn.pick(tn.users); u != nil && len(tn.users) > 3 {
				delete(tn.users, u.ID)
			}
		case 2: // attribute change
			if u := tn.pick(tn.users); u != nil {
				c := *u
				switch tn.rng.IntN(4) {
				case 0:
					c.Email = fmt.Sprintf("%s+%d@example.com", c.ID, tn.rng.IntN(100))
				case 1:
					c.Status = []idsnap.Status{idsnap.StatusActive, idsnap.StatusSuspended, idsnap.StatusInactive}[tn.rng.IntN(3)]
				case 2:
					c.Name = fmt.Sprintf("Renamed %d", tn.rng.IntN(100))
				}
				c.Raw = tn.userRaw(&c, []string{"free", "pro", "team"}[tn.rng.IntN(3)])
				tn.users[c.ID] = &c
			}
		case 3:
			tn.grant()
		case 4:
			if g := tn.pickKind(idsnap.KindGrant); g != nil {
				delete(tn.other, "grant/"+g.ID)
			}
		case 5: // grant attribute change
			if g := tn.pickKind(idsnap.KindGrant); g != nil {
				c := *g
				c.Status = []idsnap.Status{idsnap.StatusActive, idsnap.StatusInactive}[tn.rng.IntN(2)]
				tn.other["grant/"+c.ID] = &c
			}
		default: // activity only: signs in
			for range 3 {
				if u := tn.pick(tn.users); u != nil && u.Activity != nil {
					c := *u
					a := *u.Activity
					a.SignIns++
					a.LastSignIn = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(tn.rng.IntN(1e6)) * time.Second)
					if tn.rng.IntN(4) == 0 {
						a.FailedSignIns++
					}
					c.Activity = &a
					tn.users[c.ID] = &c
				}
			}
		}
	}
}

func (tn *tenant) pickKind(k idsnap.Kind) *idsnap.Record {
	sub := map[string]*idsnap.Record{}
	for key, r := range tn.other {
		if r.Kind == k {
			sub[key] = r
		}
	}
	return tn.pick(sub)
}

// records returns the tenant in random order, as a fetcher might emit it.
func (tn *tenant) records() []idsnap.Record {
	var out []idsnap.Record
	for _, u := range tn.users {
		out = append(out, *u)
	}
	for _, r := range tn.other {
		out = append(out, *r)
	}
	tn.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// expectState is what State must return for staged records.
func expectState(t *testing.T, source string, recs []idsnap.Record) []idsnap.Record {
	t.Helper()
	out := make([]idsnap.Record, len(recs))
	for i, r := range recs {
		r.Source = source
		if len(r.Raw) > 0 {
			c, err := jsonbytes.Canonical(r.Raw)
			if err != nil {
				t.Fatal(err)
			}
			r.Raw = c
		}
		out[i] = r
	}
	slices.SortFunc(out, func(a, b idsnap.Record) int {
		if c := kindCode[a.Kind] - kindCode[b.Kind]; c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// naiveChanges is the set difference of two states computed in Go.
func naiveChanges(before, after []idsnap.Record, activity bool) []idsnap.Change {
	key := func(r idsnap.Record) string { return fmt.Sprintf("%d/%s", kindCode[r.Kind], r.ID) }
	bm, am := map[string]idsnap.Record{}, map[string]idsnap.Record{}
	var keys []string
	for _, r := range before {
		bm[key(r)] = r
		keys = append(keys, key(r))
	}
	for _, r := range after {
		am[key(r)] = r
		if _, ok := bm[key(r)]; !ok {
			keys = append(keys, key(r))
		}
	}
	sort.Strings(keys)
	var out []idsnap.Change
	for _, k := range keys {
		b, inB := bm[k]
		a, inA := am[k]
		switch {
		case !inB:
			t := idsnap.Joined
			if a.Kind == idsnap.KindGrant {
				t = idsnap.Granted
			}
			out = append(out, idsnap.Change{Type: t, Kind: a.Kind, ID: a.ID})
		case !inA:
			t := idsnap.Left
			if b.Kind == idsnap.KindGrant {
				t = idsnap.Revoked
			}
			out = append(out, idsnap.Change{Type: t, Kind: b.Kind, ID: b.ID})
		default:
			fields := idsnap.Compare(&b, &a)
			if activity {
				fields = append(fields, activityFields(b.Activity, a.Activity)...)
			}
			if len(fields) > 0 {
				out = append(out, idsnap.Change{Type: idsnap.Changed, Kind: a.Kind, ID: a.ID, Fields: fields})
			}
		}
	}
	return out
}

// TestPropertyRandomPulls runs random pulls of a small tenant and checks
// every snapshot's state, and changes between random pairs, against what
// was staged.
func TestPropertyRandomPulls(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	tn := newTenant(7)
	var snaps []idsnap.Snapshot
	states := map[int64][]idsnap.Record{0: nil}
	other := idsnap.Source{Name: "ory-test", Provider: "ory"}
	for i := range 55 {
		if i > 0 {
			tn.mutate()
		}
		recs := tn.records()
		s := pull(t, db, testSource, recs)
		want := expectState(t, testSource.Name, recs)
		if got := state(t, db, s.ID); !reflect.DeepEqual(got, want) {
			t.Fatalf("pull %d: State differs from what was staged:\n got %+v\nwant %+v", i, got, want)
		}
		if s.Counts[idsnap.KindUser] != int64(len(tn.users)) {
			t.Errorf("pull %d: Counts[user] = %d, want %d", i, s.Counts[idsnap.KindUser], len(tn.users))
		}
		states[s.ID] = want
		snaps = append(snaps, s)
		checkPullIndex(t, db, s)
		if i%10 == 0 { // interleave another source: ids are global
			pull(t, db, other, []idsnap.Record{{Kind: idsnap.KindUser, ID: fmt.Sprint("o", i)}})
		}
	}
	// Earlier states are still exactly as staged after later commits.
	for i := 0; i < len(snaps); i += 5 {
		s := snaps[i]
		if got := state(t, db, s.ID); !reflect.DeepEqual(got, states[s.ID]) {
			t.Fatalf("State(%d) changed after later pulls", s.ID)
		}
	}

	rng := rand.New(rand.NewPCG(3, 4))
	ids := []int64{0}
	for _, s := range snaps {
		ids = append(ids, s.ID)
	}
	seen := map[string]int{} // what sort of changes the pairs covered
	for range 40 {
		i, j := rng.IntN(len(ids)), rng.IntN(len(ids))
		if i == j {
			continue
		}
		if i > j {
			i, j = j, i
		}
		from, to := ids[i], ids[j]
		for _, act := range []bool{false, true} {
			got, err := db.Changes(ctx, from, to, ChangeOptions{Activity: act})
			if err != nil {
				t.Fatalf("Changes(%d, %d): %v", from, to, err)
			}
			want := naiveChanges(states[from], states[to], act)
			for _, c := range want {
				seen[fmt.Sprintf("%v %s", act, c.Type)]++
			}
			if len(got) != len(want) {
				t.Fatalf("Changes(%d, %d, activity %v) = %d changes, want %d:\n got %v\nwant %v", from, to, act, len(got), len(want), brief(got), brief(want))
			}
			for k := range got {
				g, w := got[k], want[k]
				if g.Type != w.Type || g.Kind != w.Kind || g.ID != w.ID || !reflect.DeepEqual(g.Fields, w.Fields) ||
					g.SnapshotID != to || g.Source != testSource.Name {
					t.Fatalf("Changes(%d, %d, activity %v)[%d] = %+v, want %+v", from, to, act, k, g, w)
				}
				if g.Kind == idsnap.KindGrant {
					at := to
					if g.Type == idsnap.Revoked {
						at = from
					}
					checkRefs(t, g, states[at])
				}
			}
		}
	}

	for _, k := range []string{"false joined", "false left", "false changed", "false granted", "false revoked", "true changed"} {
		if seen[k] == 0 {
			t.Errorf("no pair covered %q", k)
		}
	}
	if seen["true changed"] <= seen["false changed"] {
		t.Errorf("activity-only changes were never seen: %v", seen)
	}

	// History of each user equals the changes between consecutive
	// snapshots that concern the user and its grants.
	for _, uid := range []string{"kp_001", "kp_005", "kp_013", "kp_020"} {
		got, err := db.History(ctx, testSource.Name, uid)
		if err != nil {
			t.Fatal(err)
		}
		var want []idsnap.Change
		prev := int64(0)
		for _, s := range snaps {
			for _, c := range naiveChanges(states[prev], states[s.ID], false) {
				if (c.Kind == idsnap.KindUser && c.ID == uid) || (c.Kind == idsnap.KindGrant && strings.HasPrefix(c.ID, uid+"|")) {
					c.SnapshotID = s.ID
					want = append(want, c)
				}
			}
			prev = s.ID
		}
		if len(got) != len(want) {
			t.Fatalf("History(%s) = %d changes, want %d:\n got %v\nwant %v", uid, len(got), len(want), brief(got), brief(want))
		}
		for k := range got {
			g, w := got[k], want[k]
			if g.Type != w.Type || g.ID != w.ID || g.SnapshotID != w.SnapshotID || !reflect.DeepEqual(g.Fields, w.Fields) {
				t.Fatalf("History(%s)[%d] = %v, want %v", uid, k, brief(got[k:k+1]), brief(want[k:k+1]))
			}
		}
	}
}

// checkRefs checks a grant change's refs against the state where it was seen.
func checkRefs(t *testing.T, c idsnap.Change, st []idsnap.Record) {
	t.Helper()
	find := func(k idsnap.Kind, id string) idsnap.Ref {
		for _, r := range st {
			if r.Kind == k && r.ID == id {
				return idsnap.Ref{ID: id, Name: r.Name, Email: r.Email}
			}
		}
		return idsnap.Ref{ID: id}
	}
	g := c.After
	if g == nil {
		g = c.Before
	}
	if c.Principal == nil || *c.Principal != find(idsnap.KindUser, g.PrincipalID) ||
		c.Entitlement == nil || *c.Entitlement != find(idsnap.KindEntitlement, g.EntitlementID) ||
		c.Resource == nil || *c.Resource != find(idsnap.KindResource, g.ResourceID) {
		t.Errorf("grant %s refs = %+v %+v %+v", c.ID, c.Principal, c.Resource, c.Entitlement)
	}
}

func brief(cs []idsnap.Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%d %s %s %s %v", c.SnapshotID, c.Type, c.Kind, c.ID, c.Fields))
	}
	return out
}
