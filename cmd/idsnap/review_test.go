package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
	"github.com/idsnap/idsnap/report/evidence"
	"github.com/idsnap/idsnap/store"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

func readCSVString(t *testing.T, s string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	return recs
}

func writeCSV(t *testing.T, path string, recs [][]string) {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(recs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReviewCampaignEndToEnd runs a campaign against the fakes: start,
// decide (revoke some grants, keep the rest, leave some undecided, one
// self-review, one tampered row, one unknown word, one row decided twice,
// one row not in the campaign), carry out some revocations in the fake
// Kinde, pull, and check status counts, close, verify and tampering.
func TestReviewCampaignEndToEnd(t *testing.T) {
	f := startFakes(t, kindetest.Config{}, zitadeltest.Config{})
	dir := t.TempDir()
	cfg := f.writeConfig(t, dir)
	db := filepath.Join(dir, "idsnap.db")
	env := testEnv()
	idsnapOK := func(args ...string) result {
		t.Helper()
		r := runIDSnap(t, env, append([]string{"--config", cfg, "--db", db}, args...)...)
		if r.code != 0 {
			t.Fatalf("idsnap %s: exit %d: %s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r
	}
	idsnapOK("pull")
	key := filepath.Join(dir, "auditor")
	idsnapOK("keygen", "--out", key)

	camp := filepath.Join(dir, "campaign")
	r := idsnapOK("review", "start", "--at", "latest", "--out", camp, "--xlsx", "--sign", key+".key")
	if !strings.Contains(r.stdout, "rows to review") {
		t.Errorf("start prints no population: %s", r.stdout)
	}
	idsnapOK("verify", camp, "--pubkey", key+".pub")
	for _, name := range []string{evidence.CampaignReviewCSV, evidence.CampaignReviewXLSX, evidence.CampaignFile, evidence.ManifestFile, evidence.SignatureFile, evidence.SumsFile} {
		if _, err := os.Stat(filepath.Join(camp, name)); err != nil {
			t.Errorf("campaign lacks %s: %v", name, err)
		}
	}
	recs := readCSV(t, filepath.Join(camp, evidence.CampaignReviewCSV))
	if !slices.Equal(recs[0], evidence.CampaignHeader) {
		t.Fatalf("review.csv header: %v", recs[0])
	}
	col := func(name string) int { return slices.Index(recs[0], name) }
	cID, cSrc, cPrin, cRes, cEnt, cEmail, cStatus := col("row_id"), col("source"), col("principal_id"), col("resource_id"), col("entitlement_id"), col("email"), col("status")
	cDec, cRev, cAt := col("decision"), col("reviewer"), col("decided_at")
	rows := recs[1:]
	var campJSON evidence.Campaign
	b, _ := os.ReadFile(filepath.Join(camp, evidence.CampaignFile))
	if err := json.Unmarshal(b, &campJSON); err != nil {
		t.Fatal(err)
	}
	if campJSON.Population.Rows != len(rows) || len(campJSON.Snapshots) != 3 {
		t.Fatalf("campaign.json population %+v, %d snapshots; review.csv has %d rows", campJSON.Population, len(campJSON.Snapshots), len(rows))
	}
	ids := map[string]bool{}
	for _, row := range rows {
		if ids[row[cID]] {
			t.Fatalf("row_id %s twice", row[cID])
		}
		ids[row[cID]] = true
		if row[cEnt] == "" && row[cStatus] != "active" {
			t.Errorf("a %s account without grants has a row: %v", row[cStatus], row)
		}
	}
	// The same population reviewed again gets the same row ids.
	again := filepath.Join(dir, "campaign-again")
	idsnapOK("review", "start", "--at", "latest", "--out", again)
	if got := readCSV(t, filepath.Join(again, evidence.CampaignReviewCSV)); len(got) != len(recs) || got[1][cID] != recs[1][cID] {
		t.Errorf("row ids are not stable across campaigns")
	}

	// Pick Kinde grant rows of distinct principals and organizations: two
	// revoked and carried out, one revoked and left pending.
	var revoke []int
	used := map[string]bool{}
	for i, row := range rows {
		if row[cSrc] != "kinde-test" || row[cEnt] == "" || used[row[cPrin]] || used[row[cRes]] || row[cEmail] == "" {
			continue
		}
		used[row[cPrin]], used[row[cRes]] = true, true
		revoke = append(revoke, i)
		if len(revoke) == 3 {
			break
		}
	}
	if len(revoke) != 3 {
		t.Fatalf("fewer than 3 suitable Kinde grant rows")
	}
	special := map[int]string{}
	for i := range rows {
		if slices.Contains(revoke, i) || len(special) == 8 {
			continue
		}
		// undecided x3, self-review, tampered, unknown word, twice
		kinds := []string{"undecided", "undecided", "undecided", "self", "tamper", "unknown", "twice"}
		if n := len(special); n < len(kinds) && rows[i][cEmail] != "" {
			special[i] = kinds[n]
		}
	}
	out := [][]string{append(recs[0], "extra column")}
	for i, row := range rows {
		row = slices.Clone(row)
		row[cRev], row[cAt] = "alice.reviewer@corp.test", "2026-12-01"
		row[cDec] = "Approve"
		if slices.Contains(revoke, i) {
			row[cDec], row[cRev] = "revoke", "bob.reviewer@corp.test"
		}
		switch special[i] {
		case "undecided":
			row[cDec], row[cRev], row[cAt] = "", "", ""
		case "self":
			row[cRev] = strings.ToUpper(row[cEmail])
		case "tamper":
			row[cEmail] = "someone.else@corp.test"
		case "unknown":
			row[cDec] = "maybe"
		case "twice":
			out = append(out, append(slices.Clone(row), ""))
			row[cDec] = "no"
		}
		out = append(out, append(row, "ignored"))
	}
	foreign := slices.Clone(rows[0])
	foreign[cID], foreign[cDec], foreign[cRev] = "r00000000000000000000", "keep", "alice.reviewer@corp.test"
	out = append(out, append(foreign, ""))
	decisions := filepath.Join(dir, "decisions.csv")
	writeCSV(t, decisions, out)

	// Carry out two revocations in the fake, then pull.
	for _, i := range revoke[:2] {
		if err := f.kinde.Tenant.RemoveMember(rows[i][cRes], rows[i][cPrin]); err != nil {
			t.Fatal(err)
		}
	}
	idsnapOK("pull")

	r = runIDSnap(t, env, "--config", cfg, "--db", db, "review", "status", camp, "--decisions", decisions, "--format", "json", "--exit-code")
	if r.code != 3 {
		t.Fatalf("status --exit-code with pending rows: exit %d, want 3: %s", r.code, r.stderr)
	}
	var st evidence.ReviewStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status json: %v\n%s", err, r.stdout)
	}
	want := evidence.StatusTotals{Rows: len(rows), Kept: len(rows) - 3 - 7, RevokedDone: 2, RevokedPending: 1, Undecided: 7, Problems: 5}
	if st.Totals != want {
		t.Errorf("totals %+v, want %+v", st.Totals, want)
	}
	wantKinds := []string{evidence.ProblemSelfReview, evidence.ProblemChangedField, evidence.ProblemUnknownDecision, evidence.ProblemDecidedTwice, evidence.ProblemNotInCampaign}
	var gotKinds []string
	for _, p := range st.Problems {
		gotKinds = append(gotKinds, p.Kind)
	}
	slices.Sort(gotKinds)
	slices.Sort(wantKinds)
	if !slices.Equal(gotKinds, wantKinds) {
		t.Errorf("problems %v, want %v", st.Problems, wantKinds)
	}
	wantRev := []evidence.ReviewerCounts{{Reviewer: "alice.reviewer@corp.test", Kept: want.Kept}, {Reviewer: "bob.reviewer@corp.test", RevokedDone: 2, RevokedPending: 1}}
	if !slices.Equal(st.Reviewers, wantRev) {
		t.Errorf("reviewers %+v, want %+v", st.Reviewers, wantRev)
	}
	for _, rs := range st.Rows {
		if rs.Status == evidence.StatusRevokedDone && (rs.ProofSnapshot == 0 || !strings.Contains(rs.Evidence, "grant absent")) {
			t.Errorf("revoked-done row without proof: %+v", rs)
		}
	}
	// The table names each problem on a line of its own.
	r = idsnapOK("review", "status", camp, "--decisions", decisions)
	if got := strings.Count(r.stdout, "problem: "); got != 5 || !strings.Contains(r.stdout, "2 revoked-done, 1 revoked-pending, 7 undecided") {
		t.Errorf("status table:\n%s", r.stdout)
	}

	// CSV lists every row's status; another database proves nothing.
	r = idsnapOK("review", "status", camp, "--decisions", decisions, "--format", "csv")
	if got := readCSVString(t, r.stdout); len(got) != len(recs) || !slices.Equal(got[0], evidence.StatusHeader) {
		t.Errorf("status --format csv: %d rows, header %v", len(got), got[0])
	}
	other := filepath.Join(dir, "other.db")
	if odb, err := store.Open(context.Background(), other); err != nil {
		t.Fatal(err)
	} else {
		odb.Close()
	}
	r = runIDSnap(t, env, "--db", other, "review", "status", camp, "--decisions", decisions)
	if r.code != 1 || !strings.Contains(r.stderr, "does not hold snapshot") {
		t.Errorf("status against another database: exit %d: %s", r.code, r.stderr)
	}

	closed := filepath.Join(dir, "closed")
	idsnapOK("review", "close", camp, "--decisions", decisions, "--out", closed, "--sign", key+".key")
	idsnapOK("verify", closed, "--pubkey", key+".pub")
	idsnapOK("verify", closed, "--pubkey", key+".pub", "--db", db)
	// The IPE block: each snapshot's pull with its end, endpoints, counts;
	// ZITADEL's totalResult met; README.txt saying so for people.
	var m evidence.Manifest
	mb, _ := os.ReadFile(filepath.Join(closed, evidence.ManifestFile))
	if err := json.Unmarshal(mb, &m); err != nil || m.IPE == nil {
		t.Fatalf("closed manifest: %v, ipe %v", err, m.IPE)
	}
	if len(m.IPE.Sources) != 6 || m.IPE.Filter != evidence.ClosedFilter {
		t.Errorf("closed IPE: %d snapshots (want 3 reviewed + 3 proving), filter %q", len(m.IPE.Sources), m.IPE.Filter)
	}
	for _, s := range m.IPE.Sources {
		if s.PullEnd == nil || s.PullEnd.Before(s.PullStart) || len(s.Endpoints) == 0 || s.RecordsPerKind["user"] == 0 {
			t.Errorf("IPE of %s #%d incomplete: %+v", s.Source, s.SnapshotID, s)
		}
		if s.Provider == "zitadel" && (len(s.ProviderTotals) == 0 || s.ProviderTotals[0].Total != s.ProviderTotals[0].Read) {
			t.Errorf("ZITADEL's totalResult not recorded as met: %+v", s.ProviderTotals)
		}
		for _, e := range s.Endpoints {
			if strings.Contains(e.Params, "token") || strings.Contains(e.Params, testPAT) {
				t.Errorf("endpoint parameters hold a paging token or secret: %+v", e)
			}
		}
	}
	readme, _ := os.ReadFile(filepath.Join(closed, evidence.ReadmeFile))
	for _, want := range []string{"Information produced by the entity", "Endpoints read:", "reported,", evidence.ClosedFilter} {
		if !bytes.Contains(readme, []byte(want)) {
			t.Errorf("README.txt lacks %q:\n%s", want, readme)
		}
	}
	var cm evidence.Manifest
	cmb, _ := os.ReadFile(filepath.Join(camp, evidence.ManifestFile))
	if err := json.Unmarshal(cmb, &cm); err != nil || cm.IPE == nil || cm.IPE.Filter != evidence.CampaignFilter {
		t.Errorf("campaign IPE filter: %v", cm.IPE)
	}

	statusRows := readCSV(t, filepath.Join(closed, evidence.ClosedStatusCSV))
	if len(statusRows) != len(recs) {
		t.Errorf("review-status.csv has %d rows, want %d", len(statusRows)-1, len(rows))
	}
	got, _ := os.ReadFile(filepath.Join(closed, "decisions-received.csv"))
	if sent, _ := os.ReadFile(decisions); !bytes.Equal(got, sent) {
		t.Errorf("decisions were not kept as received")
	}

	// Any byte changed anywhere in the closed folder fails verify.
	entries, _ := os.ReadDir(closed)
	for _, e := range entries {
		path := filepath.Join(closed, e.Name())
		orig, _ := os.ReadFile(path)
		for _, at := range []int{0, len(orig) / 2, len(orig) - 1} {
			mod := slices.Clone(orig)
			mod[at] ^= 0x01
			if err := os.WriteFile(path, mod, 0o600); err != nil {
				t.Fatal(err)
			}
			if r := runIDSnap(t, nil, "verify", closed, "--pubkey", key+".pub"); r.code == 0 {
				t.Errorf("verify passed with byte %d of %s changed", at, e.Name())
			}
		}
		if err := os.WriteFile(path, orig, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	idsnapOK("verify", closed, "--pubkey", key+".pub")

	// A campaign changed after it was started is refused.
	reviewCSV := filepath.Join(camp, evidence.CampaignReviewCSV)
	orig, _ := os.ReadFile(reviewCSV)
	if err := os.WriteFile(reviewCSV, bytes.Replace(orig, []byte("kinde-test"), []byte("kinde-tesT"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runIDSnap(t, env, "--config", cfg, "--db", db, "review", "status", camp, "--decisions", decisions)
	if r.code != 1 || !strings.Contains(r.stderr, "not intact") {
		t.Errorf("status of a changed campaign: exit %d: %s", r.code, r.stderr)
	}
}
