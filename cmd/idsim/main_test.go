package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var epoch = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// snapshot lists what the world's tenants hold, for comparisons.
func (w *world) snapshot() []string {
	var out []string
	for _, id := range w.kinde.UserIDs() {
		u, _ := w.kinde.User(id)
		out = append(out, "kinde "+id+" "+u.Email+" "+u.LastName)
	}
	for _, id := range w.ory.IDs() {
		i, _ := w.ory.Identity(id)
		out = append(out, "ory "+id+" "+i.State+" "+string(i.Traits))
	}
	for _, u := range w.zitadel.Users() {
		out = append(out, "zitadel "+u.ID+" "+u.Email+" "+u.State)
	}
	for _, g := range w.zitadel.Grants() {
		out = append(out, "grant "+g.ID+" "+strings.Join(g.RoleKeys, ","))
	}
	return out
}

func TestWorldDeterministic(t *testing.T) {
	a, b := newWorld(7, 120, epoch), newWorld(7, 120, epoch)
	if !slices.Equal(a.snapshot(), b.snapshot()) {
		t.Fatal("two worlds of seed 7 differ on day 0")
	}
	evA, evB := a.Advance(), b.Advance()
	if !slices.Equal(evA, evB) || !slices.Equal(a.snapshot(), b.snapshot()) {
		t.Fatalf("two worlds of seed 7 differ on day 1:\n%v\n%v", evA, evB)
	}
	if slices.Equal(a.snapshot(), newWorld(8, 120, epoch).snapshot()) {
		t.Error("seeds 7 and 8 give the same world")
	}
}

func TestWorldShape(t *testing.T) {
	w := newWorld(1, 300, epoch)
	// normalize undoes what the generator does to an address per provider.
	normalize := func(e string) string {
		e = strings.ToLower(e)
		if at := strings.Index(e, "@"); at > 0 {
			local, _, _ := strings.Cut(e[:at], "+")
			e = local + e[at:]
		}
		return e
	}
	providers := map[string]map[string]bool{}
	add := func(email, p string) {
		n := normalize(email)
		if providers[n] == nil {
			providers[n] = map[string]bool{}
		}
		providers[n][p] = true
	}
	var never, dormant, suspended, unicode, cased, tagged int
	now := w.now()
	for _, id := range w.kinde.UserIDs() {
		u, _ := w.kinde.User(id)
		add(u.Email, "kinde")
		switch {
		case u.LastSignedIn.IsZero():
			never++
		case now.Sub(u.LastSignedIn) > 90*24*time.Hour:
			dormant++
		}
		if u.Suspended {
			suspended++
		}
		if utf8.RuneCountInString(u.FirstName+u.LastName) != len(u.FirstName+u.LastName) {
			unicode++
		}
	}
	for _, id := range w.ory.IDs() {
		i, _ := w.ory.Identity(id)
		email := i.VerifiableAddresses[0].Value
		add(email, "ory")
		if email != strings.ToLower(email) {
			cased++
		}
	}
	machines := 0
	for _, u := range w.zitadel.Users() {
		if u.Machine {
			machines++
			continue
		}
		add(u.Email, "zitadel")
		if strings.Contains(u.Email, "+") {
			tagged++
		}
	}
	multi, all3 := 0, 0
	for _, ps := range providers {
		if len(ps) >= 2 {
			multi++
		}
		if len(ps) == 3 {
			all3++
		}
	}
	for _, c := range []struct {
		what     string
		got, min int
	}{
		{"people in two or more providers", multi, 60},
		{"people in all three", all3, 15},
		{"never signed in (kinde)", never, 10},
		{"dormant (kinde)", dormant, 10},
		{"suspended (kinde)", suspended, 3},
		{"unicode names (kinde)", unicode, 30},
		{"capitalised emails (ory)", cased, 10},
		{"plus-tagged emails (zitadel)", tagged, 10},
		{"machine users (zitadel)", machines, 5},
		{"zitadel grants", len(w.zitadel.Grants()), 100},
	} {
		if c.got < c.min {
			t.Errorf("%s = %d, want at least %d", c.what, c.got, c.min)
		}
	}
}

func TestServeAndAdvance(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan endpoints, 1)
	done := make(chan error, 1)
	var out, log bytes.Buffer
	cfg, env := filepath.Join(dir, "idsnap.toml"), filepath.Join(dir, "idsim.env")
	go func() {
		done <- serve(ctx, []string{"--seed", "3", "--people", "50", "--epoch", "2026-03-01", "--write-config", cfg, "--write-env", env}, &out, &log, func(e endpoints) { ready <- e })
	}()
	var ep endpoints
	select {
	case ep = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	for _, f := range []string{cfg, env} {
		data, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(data), ep.Kinde) || !strings.Contains(string(data), ep.Zitadel) {
			t.Errorf("%s does not name the servers: %v\n%s", f, err, data)
		}
	}
	// The fakes answer: an unauthenticated request is refused, not lost.
	resp, err := http.Get(ep.Ory + "/admin/identities")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET ory /admin/identities without a token = %d, want 401", resp.StatusCode)
	}

	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"advance", "--days", "2"}, &stdout, &stderr, func(k string) string {
		return map[string]string{"IDSIM_CONTROL": ep.Control}[k]
	}); code != 0 {
		t.Fatalf("advance: exit %d: %s", code, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "idsim: day 2: ") || !strings.Contains(stdout.String(), "kinde: ") {
		t.Errorf("advance printed %q", stdout.String())
	}
	checkWebhook(t, ep)
	if code := run(ctx, []string{"advance"}, &stdout, &stderr, func(string) string { return "" }); code != 1 || !strings.Contains(stderr.String(), "no control URL") {
		t.Errorf("advance without a control URL: exit %d, %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run(ctx, []string{"revoke", "--control", ep.Control, "--org", "org_nope", "--user", "kp_nope"}, &stdout, &stderr, func(string) string { return "" }); code != 1 || !strings.Contains(stderr.String(), "no organization org_nope") {
		t.Errorf("revoke in an unknown organization: exit %d, %q", code, stderr.String())
	}
	if code := run(ctx, []string{"revoke", "--control", ep.Control}, &stdout, &stderr, func(string) string { return "" }); code != 1 || !strings.Contains(stderr.String(), "--org CODE") {
		t.Errorf("revoke without --org: exit %d, %q", code, stderr.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after cancel: %v", err)
	}
}
