package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/idsnap/idsnap"
)

// The content and chain digests of a sequence of pulls, and what State
// reads back of each, are exactly those the store computed when it
// compared records in SQL (temp tables, before issue 20): recorded from
// that code and fixed here, so a change in how a pull is applied cannot
// change a snapshot's evidence.
func TestDigestsAsBefore(t *testing.T) {
	db, _ := openTest(t)
	tn := newTenant(11)
	digests, states := sha256.New(), sha256.New()
	var last idsnap.Snapshot
	for i := range 30 {
		if i > 0 {
			tn.mutate()
		}
		recs := tn.records()
		switch i {
		case 10: // every record vanishes, then comes back
			recs = nil
		case 20: // more than one batch
			recs = append(recs, users(5000, "bulk")...)
		}
		last = pull(t, db, testSource, recs)
		digests.Write([]byte(last.Digest + " " + last.ChainDigest + "\n"))
		for _, r := range state(t, db, last.ID) {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			states.Write(append(b, '\n'))
		}
	}
	const (
		wantLast    = "1b0a91498e5cf733906b83d8c37bb23f2849fbf28b8ef5873c55356c79c1206f"
		wantDigests = "cb13a723e152df5c87a510249d38746fd03373b7c012f3631b711752dd3d7c43"
		wantStates  = "08e032f531df33c2560d1a40bf1de56302199ab268c000e12786166ba332ece3"
	)
	if last.ChainDigest != wantLast {
		t.Errorf("last chain digest = %s, want %s", last.ChainDigest, wantLast)
	}
	if got := hex.EncodeToString(digests.Sum(nil)); got != wantDigests {
		t.Errorf("digests = %s, want %s", got, wantDigests)
	}
	if got := hex.EncodeToString(states.Sum(nil)); got != wantStates {
		t.Errorf("states = %s, want %s", got, wantStates)
	}
}
