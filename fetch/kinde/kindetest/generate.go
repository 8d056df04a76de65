package kindetest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Epoch is the "now" of generated tenants: creation and sign-in times fall
// before it, so generated data never depends on the clock.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	firstNames = []string{"Aoife", "José", "Zoë", "Łukasz", "Søren", "Ngozi", "Mei", "Dmitrii", "Chloé", "Ömer",
		"Priya", "Björn", "Amélie", "Jürgen", "Siobhán", "Kwame", "Yuki", "François", "Ana", "Mateus",
		"Fatima", "Håkon", "Nuño", "Ilse", "Renée", "Thabo", "Weronika", "Emre", "Leilani", "Oluwaseun"}
	lastNames = []string{"Ó Briain", "García", "Müller", "Nowak", "Østergaard", "Okafor", "李", "Иванов", "Dubois", "Yılmaz",
		"Sharma", "Lindqvist", "Lefèvre", "Schröder", "Ní Bhriain", "Mensah", "佐藤", "Le Guen", "Silva", "Souza",
		"Haddad", "Sæther", "Peña", "de Vries", "Côté", "Dlamini", "Wiśniewska", "Şahin", "Kahale", "Adeyemi"}
	orgWords = []string{"Acme", "Nordlicht", "Café", "Zürich", "Ōkami", "Brightwater", "Kite", "Fjord", "Maple", "Orbit",
		"Saffron", "Pixel", "Harbour", "Quartz", "Lumière"}
	orgKinds = []string{"Labs", "GmbH", "Studio", "Partners", "Health", "Logistics", "Bank", "Retail", "AB", "Co"}
	domains  = []string{"example.com", "example.org", "example.net", "exemple.fr", "beispiel.de"}
	roles    = []string{"admin", "billing", "viewer", "editor", "owner"}
)

// Generate builds a deterministic tenant of users and orgs from seed, with
// realistic variety: unicode names, about one user in ten suspended, one in
// six never signed in, provided_id on about a third, social identities on
// some, a default organization most users belong to, and roles on some
// memberships.
func Generate(seed int64, users, orgs int) *Tenant {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	t := NewTenant()
	hex := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte("0123456789abcdef"[r.IntN(16)])
		}
		return b.String()
	}
	ids := make([]string, 0, users)
	for i := range users {
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		local := strings.ToLower(asciiFold(first)) + "." + strings.ToLower(asciiFold(strings.ReplaceAll(last, " ", ""))) + fmt.Sprint(i)
		email := local + "@" + domains[r.IntN(len(domains))]
		created := Epoch.Add(-time.Duration(r.Int64N(int64(3 * 365 * 24 * time.Hour)))).Truncate(time.Microsecond)
		u := User{
			ID:         "kp_" + hex(32),
			Email:      email,
			FirstName:  first,
			LastName:   last,
			CreatedOn:  created,
			Suspended:  r.IntN(10) == 0,
			Identities: []Identity{{Type: "email", Identity: email}},
		}
		if r.IntN(3) == 0 {
			u.ProvidedID = fmt.Sprintf("emp-%06d", r.IntN(1_000_000))
		}
		if r.IntN(4) == 0 {
			u.Username = local
			u.Identities = append(u.Identities, Identity{Type: "username", Identity: local})
		}
		if r.IntN(5) == 0 {
			u.Identities = append(u.Identities, Identity{Type: "oauth2:google", Identity: email, ConnectionID: "conn_" + hex(32)})
			u.Picture = "https://lh3.googleusercontent.com/a/" + hex(20)
		}
		if r.IntN(8) == 0 {
			u.Phone = fmt.Sprintf("+4420%08d", r.IntN(100_000_000))
		}
		if r.IntN(6) == 0 {
			u.BillingCustomerID = "customer_" + hex(20)
		}
		if r.IntN(6) != 0 { // one in six never signed in
			since := Epoch.Sub(created)
			u.LastSignedIn = created.Add(time.Duration(r.Int64N(int64(since)))).Truncate(time.Microsecond)
			u.TotalSignIns = 1 + r.IntN(400)
			u.FailedSignIns = r.IntN(3)
		}
		t.AddUser(u)
		ids = append(ids, u.ID)
	}
	codes := make([]string, 0, orgs)
	for i := range orgs {
		name := orgWords[r.IntN(len(orgWords))] + " " + orgKinds[r.IntN(len(orgKinds))]
		o := Org{Code: "org_" + hex(11), Name: name, IsDefault: i == 0, AutoMembership: r.IntN(4) == 0}
		if i == 0 {
			o.Name = "Default Organization"
		}
		if r.IntN(2) == 0 {
			o.Handle = strings.ToLower(asciiFold(strings.ReplaceAll(name, " ", "_"))) + fmt.Sprint(i)
		}
		if r.IntN(3) == 0 {
			o.ExternalID = fmt.Sprintf("crm-%05d", r.IntN(100_000))
		}
		t.AddOrg(o)
		codes = append(codes, o.Code)
	}
	if orgs == 0 {
		return t
	}
	for _, id := range ids {
		u, _ := t.User(id)
		join := func(code string) {
			var rs []string
			if r.IntN(4) == 0 {
				rs = append(rs, roles[r.IntN(len(roles))])
				if r.IntN(4) == 0 {
					rs = append(rs, roles[r.IntN(len(roles))])
				}
			}
			joined := u.CreatedOn.Add(time.Duration(r.Int64N(int64(24 * time.Hour)))).Truncate(time.Microsecond)
			t.addMember(code, id, joined, rs)
		}
		if r.IntN(10) < 6 {
			join(codes[0])
		}
		if len(codes) > 1 {
			for range r.IntN(3) {
				join(codes[1+r.IntN(len(codes)-1)])
			}
		}
	}
	return t
}

// asciiFold keeps generated emails and handles ASCII.
func asciiFold(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c < 128:
			b.WriteRune(c)
		case strings.ContainsRune("áàâäãåā", c):
			b.WriteByte('a')
		case strings.ContainsRune("éèêëē", c):
			b.WriteByte('e')
		case strings.ContainsRune("íìîï", c):
			b.WriteByte('i')
		case strings.ContainsRune("óòôöõøō", c), c == 'Ó', c == 'Ø', c == 'Ö', c == 'Ō':
			b.WriteByte('o')
		case strings.ContainsRune("úùûü", c):
			b.WriteByte('u')
		case c == 'ç':
			b.WriteByte('c')
		case c == 'ñ':
			b.WriteByte('n')
		case c == 'ł', c == 'Ł':
			b.WriteByte('l')
		case c == 'ß':
			b.WriteString("ss")
		case c == 'æ':
			b.WriteString("ae")
		case c == 'ś', c == 'ş', c == 'Ş':
			b.WriteByte('s')
		case c == 'ı':
			b.WriteByte('i')
		case c == 'å':
			b.WriteByte('a')
		default:
			b.WriteByte('x')
		}
	}
	return b.String()
}
