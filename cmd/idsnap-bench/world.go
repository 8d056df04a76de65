package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/ingest"
	"github.com/idsnap/idsnap/store"
)

// world is a synthetic tenant for the store benchmarks, which feed
// store.Stage directly rather than through HTTP: n Kinde-shaped users
// (about 450 bytes of raw each), one resource per 1,000 users with a member
// entitlement, and a membership grant for every user or, with grantEvery k,
// for every k-th user.
type world struct {
	rng       *rand.Rand
	gen       int // bumped by each churn, so changed records differ
	users     []idsnap.Record
	resources []idsnap.Record // resources and their entitlements
	grants    []idsnap.Record
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newWorld(n int, seed uint64, grantEvery int) *world {
	w := &world{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	nres := max(1, n/1000)
	for r := range nres {
		code := fmt.Sprintf("org_%011x", r*104729+7)
		w.resources = append(w.resources,
			idsnap.Record{Kind: idsnap.KindResource, ID: code, Name: fmt.Sprintf("Org %d", r),
				Raw: fmt.Appendf(nil, `{"code":%q,"name":"Org %d","handle":null,"is_default":%t}`, code, r, r == 0)},
			idsnap.Record{Kind: idsnap.KindEntitlement, ID: idsnap.EntitlementID(code, "member"), ResourceID: code, Name: "member"})
	}
	w.users = make([]idsnap.Record, n)
	for i := range n {
		w.users[i] = w.user(i)
		if i%grantEvery == 0 {
			w.grants = append(w.grants, w.grant(i, w.rng.IntN(nres)))
		}
	}
	return w
}

func (w *world) user(i int) idsnap.Record {
	id := fmt.Sprintf("kp_%08x%024x", i, uint64(i)*0x9e3779b97f4a7c15)
	email := fmt.Sprintf("user%d.g%d@example.com", i, w.gen)
	verified := true
	created := epoch.Add(-time.Duration(i%1000) * time.Hour)
	return idsnap.Record{
		Kind: idsnap.KindUser, ID: id, Email: email, EmailVerified: &verified,
		Username: fmt.Sprintf("user%d", i), Name: fmt.Sprintf("First%d Last%d", i, w.gen), Status: idsnap.StatusActive,
		Type: idsnap.AccountHuman, ExternalID: fmt.Sprintf("ext-%d", i), CreatedAt: created,
		Raw: fmt.Appendf(nil, `{"id":%q,"provided_id":"ext-%d","preferred_email":%q,"phone":null,"username":"user%d","last_name":"Last%d","first_name":"First%d","is_suspended":false,"picture":"https://gravatar.com/avatar/%032x","created_on":%q,"identities":[{"type":"email","identity":%q,"connection_id":null}],"billing":null}`,
			id, i, email, i, w.gen, i, i, created.Format(time.RFC3339), email),
		Activity: &idsnap.Activity{SignIns: int64(w.rng.IntN(100)), LastSignIn: epoch.Add(-time.Duration(w.rng.IntN(1e7)) * time.Second)},
	}
}

// grant is user i's membership of resource res.
func (w *world) grant(i, res int) idsnap.Record {
	uid := w.users[i].ID
	code := w.resources[2*res].ID
	ent := idsnap.EntitlementID(code, "member")
	return idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(uid, ent), PrincipalID: uid, ResourceID: code,
		EntitlementID: ent, Status: idsnap.StatusActive,
		Raw: fmt.Appendf(nil, `{"joined_on":%q}`, epoch.Add(-time.Duration(i%5000)*time.Minute).Format(time.RFC3339))}
}

// userOf is the index of the user holding grant i.
func (w *world) userOf(i int) int { return i * (len(w.users) / len(w.grants)) }

// len is the number of records one pull stages.
func (w *world) len() int { return len(w.users) + len(w.resources) + len(w.grants) }

// churn changes the attributes of frac of the users and moves frac of the
// grants to another resource (a revoke and a grant).
func (w *world) churn(frac float64) {
	w.gen++
	k := int(frac * float64(len(w.users)))
	for range k {
		i := w.rng.IntN(len(w.users))
		a := w.users[i].Activity
		w.users[i] = w.user(i)
		w.users[i].Activity = a
	}
	for range int(frac * float64(len(w.grants))) {
		i := w.rng.IntN(len(w.grants))
		w.grants[i] = w.grant(w.userOf(i), w.rng.IntN(len(w.resources)/2))
	}
}

// signIn records a sign-in, a day after the last one, for frac of the users.
func (w *world) signIn(frac float64) {
	for range int(frac * float64(len(w.users))) {
		i := w.rng.IntN(len(w.users))
		a := *w.users[i].Activity
		a.SignIns++
		a.LastSignIn = a.LastSignIn.Add(24 * time.Hour)
		w.users[i].Activity = &a
	}
}

// pull ingests every record of the world as one pull.
func (w *world) pull(ctx context.Context, db *store.DB, src idsnap.Source) (idsnap.Snapshot, error) {
	return ingest.Pull(ctx, db, src, w, ingest.Hooks{})
}

// Fetch emits every record of the world from two goroutines, as a
// fetcher's parallel listings do, so canonicalizing and hashing use both
// cores while the Stage's writer inserts.
func (w *world) Fetch(ctx context.Context, emit fetch.Emit) error {
	all := make([]idsnap.Record, 0, w.len())
	all = append(append(append(all, w.users...), w.resources...), w.grants...)
	var g errgroup
	half := len(all) / 2
	for _, part := range [][]idsnap.Record{all[:half], all[half:]} {
		g.Go(func() error {
			for _, r := range part {
				if err := emit(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// errgroup runs functions and returns the first error.
type errgroup struct {
	wg   sync.WaitGroup
	once sync.Once
	err  error
}

func (g *errgroup) Go(f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.once.Do(func() { g.err = err })
		}
	})
}

func (g *errgroup) Wait() error { g.wg.Wait(); return g.err }

var benchSource = idsnap.Source{Name: "bench", Provider: "kinde", BaseURL: "https://bench.kinde.com"}
