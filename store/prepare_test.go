package store

import (
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

// benchRaw is an Ory identity as its fetcher hands it on: filtered, keys
// in the provider's order.
const benchRaw = `{"id":"4f1e7c2a-9b1d-4c39-8f0e-2a6b5d7c9e01","schema_id":"default","schema_url":"https://auth.example.com/schemas/ZGVmYXVsdA","state":"active","state_changed_at":"2025-03-01T10:00:00.123456Z","traits":{"email":"user1@example.com","name":{"first":"Zoë","last":"Müller"}},"verifiable_addresses":[{"id":"0b6f1c8e-3a4d-4e2b-9c7a-1d2e3f4a5b6c","value":"user1@example.com","verified":true,"via":"email","status":"completed","verified_at":"2025-03-01T10:05:00Z","created_at":"2025-03-01T10:00:00.123456Z"}],"recovery_addresses":[{"id":"7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f","value":"user1@example.com","via":"email","created_at":"2025-03-01T10:00:00.123456Z"}],"metadata_public":null,"metadata_admin":{"department":"R&D","cost_center":42},"created_at":"2025-03-01T10:00:00.123456Z","organization_id":null}`

func benchRecord(raw string) idsnap.Record {
	v := true
	return idsnap.Record{Kind: idsnap.KindUser, ID: "4f1e7c2a-9b1d-4c39-8f0e-2a6b5d7c9e01", Email: "user1@example.com",
		EmailVerified: &v, Name: "Zoë Müller", Status: idsnap.StatusActive,
		CreatedAt: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), Raw: []byte(raw),
		Activity: &idsnap.Activity{LastSignIn: time.Date(2025, 3, 2, 11, 0, 0, 0, time.UTC), SignIns: 3}}
}

// BenchmarkPrepare is the store's work per record before the index:
// canonical Raw and the hash, for Raw in the provider's key order and
// already canonical (as the fetchers' filters write it).
func BenchmarkPrepare(b *testing.B) {
	canon, err := prepare(benchRecord(benchRaw))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, raw string }{{"unsorted", benchRaw}, {"canonical", canon.raw}} {
		b.Run(c.name, func(b *testing.B) {
			r := benchRecord(c.raw)
			b.SetBytes(int64(len(r.Raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := prepare(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
