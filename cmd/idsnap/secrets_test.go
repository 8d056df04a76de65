package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
	"github.com/idsnap/idsnap/fetch/ory/orytest"
	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
	"github.com/idsnap/idsnap/store"
)

// Canary secrets: distinctive strings that must appear nowhere idsnap
// writes. The Kinde fake issues access tokens starting kinde_fake_.
const (
	canaryKinde   = "CANARY-kinde-secret-7f3a9c1e"
	canaryOry     = "ory_apikey_CANARY9b2e44d0"
	canaryPAT     = "CANARY-zitadel-pat-41d8aa"
	canaryToken   = "kinde_fake_"
	canaryWrongK  = "CANARY-wrong-kinde-secret-55"
	canaryWrongO  = "ory_apikey_CANARYwrong66"
	canaryWrongPT = "CANARY-wrong-pat-77"
)

// secretWorld is the three fakes with canary credentials and a config
// naming them: the Kinde secret as a literal, the Ory key from the
// environment, the PAT from a file.
func secretWorld(t *testing.T, kindeSecret, oryToken, pat string) (dir, cfg string, env map[string]string) {
	t.Helper()
	k := kindetest.NewServer(kindetest.Generate(51, 60, 3), kindetest.Config{ClientSecret: canaryKinde})
	o := orytest.NewServer(orytest.Generate(52, 40), orytest.Config{APIToken: canaryOry})
	z := zitadeltest.NewServer(zitadeltest.Generate(53, 30, 2), zitadeltest.Config{PAT: canaryPAT})
	t.Cleanup(k.Close)
	t.Cleanup(o.Close)
	t.Cleanup(z.Close)
	dir = t.TempDir()
	cfg = filepath.Join(dir, "idsnap.toml")
	text := fmt.Sprintf(`
[sources.kinde]
provider = "kinde"
base_url = %q
client_id = %q
client_secret = %q
requests_per_second = 1000

[sources.ory]
provider = "ory"
base_url = %q
api_token = "env:ORY_KEY"

[sources.zitadel]
provider = "zitadel"
instance_url = %q
pat = "file:pat.txt"
`, k.URL, kindetest.DemoClientID, kindeSecret, o.URL, z.URL)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pat.txt"), []byte(pat), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, cfg, map[string]string{"ORY_KEY": oryToken}
}

// runIn runs idsnap in-process with the config, at --log-level debug.
func runIn(env map[string]string, dir, cfg string, args ...string) result {
	var stdout, stderr bytes.Buffer
	all := append([]string{"idsnap", "--db", filepath.Join(dir, "idsnap.db"), "--config", cfg, "--log-level", "debug"}, args...)
	code := run(context.Background(), all, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	return result{code, stdout.String(), stderr.String()}
}

// leaks names every canary found in b.
func leaks(b []byte, canaries ...string) []string {
	var found []string
	for _, c := range canaries {
		if bytes.Contains(b, []byte(c)) {
			found = append(found, c)
		}
	}
	return found
}

func TestSecretsAppearNowhere(t *testing.T) {
	dir, cfg, env := secretWorld(t, canaryKinde, canaryOry, canaryPAT)
	canaries := []string{canaryKinde, canaryOry, canaryPAT, canaryToken}
	var outputs []string
	steps := [][]string{
		{"pull"},
		{"pull"},
		{"snapshots", "--format", "json"},
		{"diff", "--format", "json", "latest~1", "latest"},
		{"diff", "--format", "csv", "latest~1", "latest"},
		{"findings", "--format", "json"},
		{"export", "access-review", "--at", "latest", "--out", filepath.Join(dir, "review")},
		{"export", "changes", "--since", "7d", "--out", filepath.Join(dir, "changes")},
		{"doctor"},
	}
	for _, args := range steps {
		r := runIn(env, dir, cfg, args...)
		if r.code != 0 && r.code != 3 {
			t.Fatalf("idsnap %v: exit %d: %s", args, r.code, r.stderr)
		}
		outputs = append(outputs, r.stdout, r.stderr)
		if l := leaks([]byte(r.stdout+r.stderr), canaries...); len(l) > 0 {
			t.Errorf("idsnap %v --log-level debug prints %v", args, l)
		}
	}
	if !strings.Contains(strings.Join(outputs, ""), "level=DEBUG") {
		t.Error("no debug log line at --log-level debug: the test checks nothing")
	}
	// Every file idsnap wrote: the database and its -wal/-shm, exports.
	files := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(path) == "idsnap.toml" || filepath.Base(path) == "pat.txt" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Error(err)
			return nil
		}
		files++
		if l := leaks(b, canaries...); len(l) > 0 {
			t.Errorf("%s holds %v", strings.TrimPrefix(path, dir), l)
		}
		return nil
	})
	if files < 4 {
		t.Errorf("scanned %d files; want the database and two exports at least", files)
	}
}

// The -wal file is checked while it still exists: a second connection
// keeps the database open, so the pull's last connection does not
// checkpoint and delete it.
func TestSecretsNotInWAL(t *testing.T) {
	dir, cfg, env := secretWorld(t, canaryKinde, canaryOry, canaryPAT)
	hold, err := store.Open(context.Background(), filepath.Join(dir, "idsnap.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if _, err := hold.Snapshots(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if r := runIn(env, dir, cfg, "pull"); r.code != 0 {
		t.Fatalf("pull: %s", r.stderr)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(filepath.Join(dir, "idsnap.db"+suffix))
		if err != nil {
			t.Errorf("idsnap.db%s: %v", suffix, err)
			continue
		}
		if l := leaks(b, canaryKinde, canaryOry, canaryPAT, canaryToken); len(l) > 0 {
			t.Errorf("idsnap.db%s holds %v", suffix, l)
		}
	}
}

// Failed authentication: the errors say what is wrong without echoing the
// credential that was refused.
func TestSecretsNotInAuthErrors(t *testing.T) {
	dir, cfg, env := secretWorld(t, canaryWrongK, canaryWrongO, canaryWrongPT)
	r := runIn(env, dir, cfg, "pull")
	if r.code != 1 {
		t.Fatalf("pull with wrong credentials: exit %d, want 1", r.code)
	}
	for _, src := range []string{"kinde", "ory", "zitadel"} {
		if !strings.Contains(r.stderr, "idsnap: "+src+": ") {
			t.Errorf("no error line for %s in:\n%s", src, r.stderr)
		}
	}
	if l := leaks([]byte(r.stdout+r.stderr), canaryWrongK, canaryWrongO, canaryWrongPT, canaryKinde, canaryOry, canaryPAT); len(l) > 0 {
		t.Errorf("errors of a failed auth show %v:\n%s", l, r.stderr)
	}
	r = runIn(env, dir, cfg, "doctor")
	if l := leaks([]byte(r.stdout+r.stderr), canaryWrongK, canaryWrongO, canaryWrongPT); len(l) > 0 {
		t.Errorf("doctor with wrong credentials shows %v:\n%s%s", l, r.stdout, r.stderr)
	}
}

// TestDoctorRejected: a wrong secret is labelled REJECTED, not MISSING,
// which doctor keeps for a permission or setting that is absent.
func TestDoctorRejected(t *testing.T) {
	dir, cfg, env := secretWorld(t, canaryWrongK, canaryWrongO, canaryWrongPT)
	r := runIn(env, dir, cfg, "doctor")
	if r.code != 1 {
		t.Fatalf("doctor with wrong credentials: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	rejected := map[string]bool{}
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.Contains(l, "MISSING") {
			t.Errorf("a refused credential reads as missing: %s", l)
		}
		for _, check := range []string{"M2M token", "api_token", "instance_url, pat and org"} {
			if strings.Contains(l, check) && strings.Contains(l, "REJECTED") {
				rejected[check] = true
			}
		}
	}
	if len(rejected) != 3 {
		t.Errorf("doctor marked %v REJECTED, want the three credential checks:\n%s", rejected, r.stdout)
	}

	delete(env, "ORY_KEY")
	r = runIn(env, dir, cfg, "doctor", "--source", "ory")
	if r.code != 1 || !strings.Contains(r.stdout, "MISSING") || !strings.Contains(r.stdout, "ORY_KEY is not set") {
		t.Errorf("doctor with the key's variable unset: exit %d, want it MISSING:\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A reference without a name is a config to fix, not a secret to set.
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, bytes.Replace(text, []byte(`"env:ORY_KEY"`), []byte(`"env:"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runIn(env, dir, cfg, "doctor", "--source", "ory")
	if r.code != 1 || strings.Contains(r.stdout, "MISSING") || !strings.Contains(r.stdout, "FAIL") || !strings.Contains(r.stdout, "env: needs a variable name") {
		t.Errorf("doctor with api_token = \"env:\": exit %d, want FAIL, not MISSING:\n%s%s", r.code, r.stdout, r.stderr)
	}
}
