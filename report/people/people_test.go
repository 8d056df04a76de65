package people

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/internal/golden"
	"github.com/idsnap/idsnap/report"
)

func TestNormalizeEmail(t *testing.T) {
	aliases := map[string]string{"acme.io": "acme.com"}
	tests := []struct {
		in      string
		want    string
		wantBy  []string
		comment string
	}{
		{"alice@acme.com", "alice@acme.com", nil, "already normal"},
		{"Alice@ACME.com", "alice@acme.com", []string{MatchLowercase}, "uppercase local part and domain"},
		{"alice@EXAMPLE.ORG", "alice@example.org", []string{MatchLowercase}, "uppercase domain"},
		{"alice+billing@acme.com", "alice@acme.com", []string{MatchPlusTag}, "plus tag"},
		{"alice+a+b@acme.com", "alice@acme.com", []string{MatchPlusTag}, "two plus signs: cut at the first"},
		{"+tag@acme.com", "+tag@acme.com", nil, "nothing before the plus: kept"},
		{"alice@acme.io", "alice@acme.com", []string{MatchDomainAlias}, "domain alias"},
		{"Alice+x@Acme.IO", "alice@acme.com", []string{MatchLowercase, MatchPlusTag, MatchDomainAlias}, "alias matched whatever the case"},
		{"alice@Acme.IO", "alice@acme.com", []string{MatchDomainAlias}, "the alias lower-cases the domain itself"},
		{"ÉLODIE@Exämple.com", "élodie@exämple.com", []string{MatchLowercase}, "unicode lower-cased"},
		{"e\u0301lodie@acme.com", "\u00e9lodie@acme.com", nil, "decomposed accent composed (NFC)"},
		{"  bob@acme.com ", "bob@acme.com", nil, "surrounding space"},
		{"weird@name@acme.com", "weird@name@acme.com", nil, "the last @ splits"},
		{"no-at-sign", "", nil, "not an address"},
		{"@acme.com", "", nil, "no local part"},
		{"bob@", "", nil, "no domain"},
		{"", "", nil, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.comment, func(t *testing.T) {
			got, by := NormalizeEmail(tt.in, aliases)
			if got != tt.want || !slices.Equal(by, tt.wantBy) {
				t.Errorf("NormalizeEmail(%q) = %q, %v, want %q, %v", tt.in, got, by, tt.want, tt.wantBy)
			}
		})
	}
}

// at is the time of every snapshot in these tests.
var at = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func stateOf(source string, id int64, at time.Time, recs ...idsnap.Record) report.State {
	return report.StateOf(idsnap.Snapshot{ID: id, Source: source, TakenAt: at}, recs...)
}

func grant(principal, ent string, st idsnap.Status) idsnap.Record {
	res, _, _ := strings.Cut(ent, ":")
	return idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(principal, ent), PrincipalID: principal, EntitlementID: ent, ResourceID: res, Status: st}
}

func user(id, email, ext string, st idsnap.Status) idsnap.Record {
	return idsnap.Record{Kind: idsnap.KindUser, ID: id, Email: email, ExternalID: ext, Status: st}
}

// fixture is three sources whose accounts link by every step.
func fixture() []report.State {
	return []report.State{
		stateOf("kinde", 1, at,
			user("kp_1", "Alice@Acme.com", "", idsnap.StatusActive),
			user("kp_2", "bob+kinde@acme.com", "emp-2", idsnap.StatusSuspended),
			user("kp_3", "carol@acme.io", "", idsnap.StatusActive),
			user("kp_4", "", "", idsnap.StatusActive),
			grant("kp_1", "o:member", ""), // not a user: ignored
		),
		stateOf("ory", 2, at,
			user("o-1", "alice@acme.com", "", idsnap.StatusActive),
			user("o-2", "robert@acme.com", "emp-2", idsnap.StatusActive), // external id equals kinde's
			user("o-3", "dave@acme.com", "z-9", idsnap.StatusInactive),   // external id is zitadel's user id
		),
		stateOf("zitadel", 3, at,
			user("z-3", "carol@acme.com", "", idsnap.StatusActive),
			user("z-9", "d.smith@contractor.net", "", idsnap.StatusActive),
		),
	}
}

// peopleOf maps "source:id" to the person id and matched_by of its person.
func peopleOf(t *testing.T, cfg Config, linkedOnly bool) (map[string]string, *Result) {
	t.Helper()
	res, err := Run(t.Context(), fixture(), cfg, linkedOnly)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, p := range res.People {
		for _, a := range p.Accounts {
			m[a.Source+":"+a.ID] = p.ID + " " + strings.Join(p.MatchedBy, ",")
		}
	}
	return m, res
}

func TestPeopleLinking(t *testing.T) {
	aliases := Config{DomainAliases: map[string]string{"ACME.io": "acme.com"}}
	tests := []struct {
		name string
		cfg  Config
		want map[string]string
	}{
		{"automatic", aliases, map[string]string{
			"kinde:kp_1": "alice@acme.com email:lowercase", "ory:o-1": "alice@acme.com email:lowercase",
			"kinde:kp_2": "bob@acme.com external_id", "ory:o-2": "bob@acme.com external_id",
			"kinde:kp_3": "carol@acme.com email:domain-alias", "zitadel:z-3": "carol@acme.com email:domain-alias",
			"kinde:kp_4": "kinde:kp_4 ",
			"ory:o-3":    "d.smith@contractor.net external_id", "zitadel:z-9": "d.smith@contractor.net external_id",
		}},
		{"no alias", Config{}, map[string]string{
			"kinde:kp_1": "alice@acme.com email:lowercase", "ory:o-1": "alice@acme.com email:lowercase",
			"kinde:kp_2": "bob@acme.com external_id", "ory:o-2": "bob@acme.com external_id",
			"kinde:kp_3": "carol@acme.io ", "zitadel:z-3": "carol@acme.com ",
			"kinde:kp_4": "kinde:kp_4 ",
			"ory:o-3":    "d.smith@contractor.net external_id", "zitadel:z-9": "d.smith@contractor.net external_id",
		}},
		{"manual link and unlink", Config{
			DomainAliases: map[string]string{"acme.io": "acme.com"},
			Links:         [][]string{{"kinde:kp_4", "zitadel:z-3"}, {"kinde:gone", "ory:o-1"}},
			Unlinks:       [][]string{{"ory:o-3", "zitadel:z-9"}},
		}, map[string]string{
			"kinde:kp_1": "alice@acme.com email:lowercase", "ory:o-1": "alice@acme.com email:lowercase",
			"kinde:kp_2": "bob@acme.com external_id", "ory:o-2": "bob@acme.com external_id",
			"kinde:kp_3": "carol@acme.com email:domain-alias,manual", "zitadel:z-3": "carol@acme.com email:domain-alias,manual",
			"kinde:kp_4": "carol@acme.com email:domain-alias,manual",
			"ory:o-3":    "dave@acme.com ", "zitadel:z-9": "d.smith@contractor.net ",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := peopleOf(t, tt.cfg, false)
			for k, w := range tt.want {
				if got[k] != w {
					t.Errorf("person of %s = %q, want %q", k, got[k], w)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("%d accounts, want %d: %v", len(got), len(tt.want), got)
			}
		})
	}
}

// TestUnlinkBlocksBridge: an unlink holds even when a third account would
// join the two sides transitively.
func TestUnlinkBlocksBridge(t *testing.T) {
	in := []report.State{
		stateOf("a", 1, at, user("1", "shared@acme.com", "", idsnap.StatusActive)),
		stateOf("b", 2, at, user("2", "shared@acme.com", "", idsnap.StatusActive)),
		stateOf("c", 3, at, user("3", "SHARED@acme.com", "", idsnap.StatusActive)),
	}
	res, err := Run(t.Context(), in, Config{Unlinks: [][]string{{"a:1", "c:3"}}}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.People {
		var refs []string
		for _, a := range p.Accounts {
			refs = append(refs, a.Source+":"+a.ID)
		}
		if slices.Contains(refs, "a:1") && slices.Contains(refs, "c:3") {
			t.Errorf("person %s holds a:1 and c:3, which are unlinked", p.ID)
		}
	}
	if len(res.People) != 2 {
		t.Errorf("%d people, want 2", len(res.People))
	}
	// Both persons share the email: their ids must still differ.
	if res.People[0].ID == res.People[1].ID {
		t.Errorf("two people share id %s", res.People[0].ID)
	}
}

func TestPeopleConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"link not a pair", Config{Links: [][]string{{"a:1"}}}, "give exactly two accounts"},
		{"ref without source", Config{Links: [][]string{{"a:1", "2"}}}, `account "2": write it as source:id`},
		{"linked and unlinked", Config{Links: [][]string{{"a:1", "b:2"}}, Unlinks: [][]string{{"b:2", "a:1"}}}, "both linked and unlinked"},
		{"alias to itself", Config{DomainAliases: map[string]string{"Acme.com": "acme.com"}}, "give two different domains"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	// Links joining the two sides of an unlink through a third account.
	cfg := Config{
		Links:   [][]string{{"kinde:kp_4", "ory:o-1"}, {"ory:o-1", "zitadel:z-9"}},
		Unlinks: [][]string{{"kinde:kp_4", "zitadel:z-9"}},
	}
	if _, err := Run(t.Context(), fixture(), cfg, false); err == nil || !strings.Contains(err.Error(), "which unlinks keeps apart") {
		t.Errorf("People(links bridging an unlink) = %v, want an error", err)
	}
}

func TestPeopleGolden(t *testing.T) {
	_, res := peopleOf(t, Config{DomainAliases: map[string]string{"acme.io": "acme.com"}}, false)
	for _, f := range []report.Format{report.FormatJSON, report.FormatTable} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, f, res); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "people."+string(f)+".golden"), buf.Bytes())
			if f != report.FormatJSON {
				return
			}
			var doc struct {
				People []struct {
					ID       string `json:"id"`
					Accounts []struct {
						Source, ID, Email, Status string
					} `json:"accounts"`
					MatchedBy []string `json:"matched_by"`
				} `json:"people"`
			}
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.People) != 5 || doc.People[0].ID == "" || doc.People[0].Accounts[0].Status == "" || doc.People[0].MatchedBy == nil {
				t.Errorf("people JSON misses documented fields: %+v", doc.People)
			}
		})
	}
	_, linked := peopleOf(t, Config{}, true)
	for _, p := range linked.People {
		if len(p.Accounts) < 2 {
			t.Errorf("linkedOnly kept person %s with one account", p.ID)
		}
	}
}
