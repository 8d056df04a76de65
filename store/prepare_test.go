package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/internal/jsonbytes"
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

// slowHashRow is hashRow as it was: one Write per field through hash.Hash,
// email_verified through fmt.Sprint. The digests of every snapshot taken
// so far depend on these bytes.
func slowHashRow(r *row) []byte {
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	put := func(s string) {
		h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	verified := ""
	if r.verified != nil {
		verified = fmt.Sprint(r.verified)
	}
	for _, f := range []string{string(kindOf(r.kind)), r.id, r.principal, r.resource, r.entitle,
		r.email, verified, r.username, r.name, r.status, r.typ, r.externalID, r.createdAt, r.raw} {
		put(f)
	}
	return h.Sum(nil)
}

// slowRaw is prepare's Raw as it was: Canonical's copy, then string.
func slowRaw(t testing.TB, raw []byte) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return ""
	}
	b, err := jsonbytes.Canonical(raw)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzHashRow holds prepare and hashRow to what they wrote before: the
// same Raw and the same hash for any record, so no stored digest moves.
func FuzzHashRow(f *testing.F) {
	f.Add(0, "u1", "a@b", "Zoë", int8(1), []byte(benchRaw))
	f.Add(3, "g1", "", "", int8(-1), []byte(` {"b" : 1, "a":[2]} `))
	f.Add(1, "r1", "x", "\xff", int8(0), []byte(""))
	f.Add(2, "e1", "x", strings.Repeat("n", 300), int8(0), []byte("\t"))
	f.Fuzz(func(t *testing.T, kind int, id, email, name string, verified int8, raw []byte) {
		kinds := []idsnap.Kind{idsnap.KindUser, idsnap.KindResource, idsnap.KindEntitlement, idsnap.KindGrant}
		r := idsnap.Record{Kind: kinds[uint(kind)%uint(len(kinds))], ID: id, Email: email, Name: name, Raw: raw,
			PrincipalID: name + id, ExternalID: email, CreatedAt: time.Unix(int64(len(raw)), 0)}
		if verified >= 0 {
			v := verified > 0
			r.EmailVerified = &v
		}
		rw, err := prepare(r)
		if err != nil {
			if id != "" && json.Valid(raw) {
				t.Fatalf("prepare(%q): %v", raw, err)
			}
			return
		}
		if want := slowRaw(t, raw); rw.raw != want {
			t.Fatalf("prepare(%q).raw = %q, was %q", raw, rw.raw, want)
		}
		if got, want := rw.hash, slowHashRow(&rw); !bytes.Equal(got, want) {
			t.Fatalf("hashRow(%+v) = %x, was %x", rw, got, want)
		}
	})
}

// TestHashRowVerified covers the values email_verified can hold, and one
// it cannot today, all hashed as fmt.Sprint writes them.
func TestHashRowVerified(t *testing.T) {
	for _, v := range []any{nil, 0, 1, 2, int64(1), true, "1"} {
		rw := row{kind: 0, id: "u", verified: v, raw: `{"a":1}`}
		if got, want := hashRow(&rw, []byte(rw.raw)), slowHashRow(&rw); !bytes.Equal(got, want) {
			t.Errorf("hashRow with verified %#v = %x, was %x", v, got, want)
		}
	}
}
