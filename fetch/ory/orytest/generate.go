package orytest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
)

var (
	firstNames = []string{"Zoë", "José", "Łukasz", "Søren", "Ngozi", "Ólafur", "Chloé", "Mei", "Aiko", "Björn",
		"Renée", "Oğuz", "Ana", "Dmitri", "Priya", "Siobhán", "Jürgen", "Fatma", "Noah", "Émilie", "Kwame", "Iñigo",
		"Thandiwe", "Hana", "Raúl", "Agnieszka", "Mateo", "Saoirse", "Yusuf", "Åsa"}
	lastNames = []string{"Müller", "O'Brien", "Nakamura", "García", "Kowalski", "Ødegaard", "Nguyễn", "Dubois",
		"Öztürk", "Smith", "Papadopoulos", "Fernández", "Kim", "Lindqvist", "Mbeki", "Horváth", "Rossi", "Çelik",
		"Jovanović", "Silva", "Ivanova", "Tanaka", "Abara", "Novák", "Wójcik", "Haddad", "Ó Súilleabháin", "Yılmaz",
		"Becker", "Moreau"}
	domains = []string{"example.com", "example.org", "corp.example", "mail.example.net"}
	plans   = []string{"free", "pro", "team", "enterprise"}
)

// genEpoch is when generated identities start being created: fixed, so
// Generate is deterministic.
var genEpoch = time.Date(2025, 1, 6, 8, 30, 0, 0, time.UTC)

// Generate returns a tenant of n identities, the same for the same seed:
// unicode names (some as one string, some missing), about 10% inactive,
// 70% of email addresses verified, public and admin metadata on some,
// external_id on about 20%, a username on some, an organization on a few.
func Generate(seed int64, n int) *Tenant {
	t := NewTenant(seed)
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.rng
	orgs := []string{t.newID(), t.newID(), t.newID()}
	at := genEpoch
	for i := range n {
		at = at.Add(time.Duration(1+r.IntN(7200))*time.Second + time.Duration(r.IntN(1e9)))
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		email := fmt.Sprintf("%s.%s%d@%s", asciiLower(first), asciiLower(last), i, domains[r.IntN(len(domains))])
		traits := map[string]any{"email": email}
		switch k := r.IntN(20); {
		case k < 14:
			traits["name"] = map[string]string{"first": first, "last": last}
		case k < 17:
			traits["name"] = first + " " + last
		}
		if r.IntN(10) == 0 {
			traits["username"] = fmt.Sprintf("%s%d", asciiLower(first), i)
		}
		created := at
		id := &Identity{
			ID: t.newID(), SchemaID: "default", State: "active", StateChangedAt: created.Add(-time.Duration(r.IntN(1000)) * time.Microsecond),
			Traits: mustJSON(traits), CreatedAt: created.Truncate(time.Microsecond), UpdatedAt: created.Truncate(time.Microsecond),
		}
		if r.IntN(10) == 0 {
			id.State = "inactive"
			id.StateChangedAt = created.Add(time.Duration(1+r.IntN(90*24)) * time.Hour)
			id.UpdatedAt = id.StateChangedAt.Truncate(time.Microsecond)
		}
		addrAt := created.Add(time.Duration(1+r.IntN(2000)) * time.Microsecond).Truncate(time.Microsecond)
		va := VerifiableAddress{ID: t.newID(), Value: email, Via: "email", Status: "pending", CreatedAt: addrAt, UpdatedAt: addrAt}
		switch k := r.IntN(10); {
		case k < 7:
			va.Verified, va.Status, va.VerifiedAt = true, "completed", addrAt.Add(time.Duration(r.IntN(3600))*time.Second+time.Duration(r.IntN(1e9)))
		case k < 8:
			va.Status = "sent"
		}
		id.VerifiableAddresses = []VerifiableAddress{va}
		id.RecoveryAddresses = []RecoveryAddress{{ID: t.newID(), Value: email, Via: "email", CreatedAt: addrAt, UpdatedAt: addrAt}}
		if r.IntN(10) < 3 {
			id.MetadataPublic = mustJSON(map[string]any{"plan": plans[r.IntN(len(plans))], "seq": i})
		}
		if r.IntN(10) < 2 {
			id.MetadataAdmin = json.RawMessage(fmt.Sprintf(`{"internal_note":"seeded #%d","risk":%d}`, i, r.IntN(5)))
		}
		if r.IntN(5) == 0 {
			id.ExternalID = fmt.Sprintf("ext-%06d", i)
		}
		if r.IntN(20) == 0 {
			id.OrganizationID = orgs[r.IntN(len(orgs))]
		}
		t.byID[id.ID] = id
		t.order = append(t.order, id.ID)
	}
	t.sortIDs()
	return t
}

// asciiLower folds a name into an email local part: "Ó Súilleabháin" →
// "osuilleabhain".
func asciiLower(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToLower(r))
		case asciiFold[r] != "":
			b.WriteString(asciiFold[r])
		case r >= 128 && unicode.IsLetter(r):
			b.WriteByte('x')
		}
	}
	return b.String()
}

// asciiFold covers the letters of the name lists.
var asciiFold = map[rune]string{'Å': "a", 'Ç': "c", 'É': "e", 'Ó': "o", 'Ö': "o", 'Ø': "o", 'á': "a", 'é': "e", 'ë': "e", 'í': "i", 'ñ': "n", 'ó': "o", 'ö': "o", 'ø': "o", 'ú': "u", 'ü': "u", 'ć': "c", 'ğ': "g", 'ı': "i", 'Ł': "l", 'ễ': "e"}
