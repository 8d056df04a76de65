package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/idsnap/idsnap"
)

const fullConfig = `
[sources.kinde-prod]
provider = "kinde"
base_url = "https://acme.kinde.com/"
client_id = "abc"
client_secret = "env:KINDE_SECRET"
requests_per_second = 5
concurrency = 4

[sources.ory]
provider = "ory"
base_url = "https://acme.projects.oryapis.com"
api_token = "ory_pat_literal"
project_slug = "acme"

[sources.zitadel-eu]
provider = "zitadel"
instance_url = "https://acme.zitadel.cloud"
pat = "file:pat.txt"
org_id = "123"

[findings]
dormant_days = 90
`

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfig(t *testing.T) {
	c, err := parseConfig([]byte(fullConfig))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(c.Names(), ","), "kinde-prod,ory,zitadel-eu"; got != want {
		t.Fatalf("Names() = %s, want %s", got, want)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pat.txt"), []byte("zpat\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// loadConfig makes file: paths relative to the config; do it by hand.
	c.sources[2].secrets[0].value = "file:" + filepath.Join(dir, "pat.txt")
	srcs, err := c.Sources(nil, env(map[string]string{"KINDE_SECRET": "ksecret"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []idsnap.Source{
		{Name: "kinde-prod", Provider: "kinde", BaseURL: "https://acme.kinde.com", Settings: map[string]string{"client_id": "abc"}, Secrets: map[string]idsnap.Secret{"client_secret": "ksecret"}, RequestsPerSecond: 5, Concurrency: 4},
		{Name: "ory", Provider: "ory", BaseURL: "https://acme.projects.oryapis.com", Tenant: "acme", Settings: map[string]string{"project_slug": "acme"}, Secrets: map[string]idsnap.Secret{"api_token": "ory_pat_literal"}},
		{Name: "zitadel-eu", Provider: "zitadel", BaseURL: "https://acme.zitadel.cloud", Tenant: "123", Settings: map[string]string{"org_id": "123"}, Secrets: map[string]idsnap.Secret{"pat": "zpat"}},
	}
	for i := range want {
		// DeepEqual compares the secrets themselves, not their [redacted]
		// print.
		if !reflect.DeepEqual(srcs[i], want[i]) {
			t.Errorf("source %d = %+v, want %+v", i, srcs[i], want[i])
		}
	}
	var f struct {
		DormantDays int `toml:"dormant_days"`
	}
	if err := c.section("findings", &f); err != nil || f.DormantDays != 90 {
		t.Errorf("section(findings) = %d, %v; want 90, nil", f.DormantDays, err)
	}
	var wrong struct {
		Other int `toml:"other"`
	}
	c, err = parseConfig([]byte(fullConfig)) // a fresh parse: decoding marks keys as used
	if err != nil {
		t.Fatal(err)
	}
	if err := c.section("findings", &wrong); err == nil || !strings.Contains(err.Error(), "unknown key dormant_days") {
		t.Errorf("section(findings) into a struct without dormant_days = %v, want unknown key", err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, toml, want string
	}{
		{"unknown key", "[sources.k]\nprovider='kinde'\nbase_url='https://a.kinde.com'\nclient_id='x'\nclient_secret='y'\nclient_secrt='z'\n", "source k: unknown key client_secrt"},
		{"other provider's key", "[sources.k]\nprovider='kinde'\nbase_url='https://a.kinde.com'\nclient_id='x'\nclient_secret='y'\npat='z'\n", "source k: pat is not a kinde setting"},
		{"missing provider", "[sources.k]\nbase_url='https://a'\n", "source k: missing provider"},
		{"unknown provider", "[sources.k]\nprovider='okta'\n", `source k: unknown provider "okta"`},
		{"missing secret", "[sources.k]\nprovider='kinde'\nbase_url='https://a.kinde.com'\nclient_id='x'\n", "source k: missing client_secret"},
		{"missing pat", "[sources.z]\nprovider='zitadel'\ninstance_url='https://z'\n", "source z: missing pat"},
		{"missing url", "[sources.o]\nprovider='ory'\n", "source o: missing base_url"},
		{"bad url", "[sources.o]\nprovider='ory'\nbase_url='acme.oryapis.com'\n", "source o: base_url: not an absolute http(s) URL"},
		{"url with credentials", "[sources.o]\nprovider='ory'\nbase_url='https://u:p@acme.oryapis.com'\n", "source o: base_url: must not hold credentials"},
		{"negative rate", "[sources.o]\nprovider='ory'\nbase_url='https://a'\nrequests_per_second=-1\n", "source o: requests_per_second must not be negative"},
		{"bad name", "[sources.'a b']\nprovider='ory'\nbase_url='https://a'\n", `source "a b": source name may hold only`},
		{"unknown table", "[source.k]\nprovider='ory'\n", "unknown key source"},
		{"syntax", "[sources.k\n", "line 2:"},
		{"wrong type", "[sources.o]\nprovider='ory'\nbase_url='https://a'\nconcurrency='many'\n", "concurrency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig([]byte(tc.toml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseConfig() = %v, want error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestResolveSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s")
	if err := os.WriteFile(file, []byte("hunter2\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := env(map[string]string{"S": "from-env"})
	for _, tc := range []struct {
		in, want, wantErr string
		absent            bool // doctor's MISSING rather than a reference to fix
	}{
		{"literal", "literal", "", false},
		{"env:S", "from-env", "", false},
		{"env:NOPE", "", "environment variable NOPE is not set", true},
		{"env:", "", "env: needs a variable name", false},
		{"file:" + file, "hunter2", "", false},
		{"file:" + filepath.Join(dir, "missing"), "", "read " + filepath.Join(dir, "missing") + ": no such file", true},
		{"file:" + empty, "", "is empty", true},
		{"file:" + dir, "", "is a directory", false},
		{"file:", "", "file: needs a path", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := resolveSecret(tc.in, getenv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("resolveSecret(%q) = %v, want error %q", tc.in, err, tc.wantErr)
				}
				if absent := errors.As(err, new(absentSecret)); absent != tc.absent {
					t.Errorf("resolveSecret(%q): absent = %v, want %v", tc.in, absent, tc.absent)
				}
				return
			}
			if err != nil || got.Reveal() != tc.want {
				t.Fatalf("resolveSecret(%q) = %q, %v; want %q", tc.in, got.Reveal(), err, tc.want)
			}
		})
	}
}

func TestSecretErrorsNameSourceNotValue(t *testing.T) {
	c, err := parseConfig([]byte("[sources.k]\nprovider='kinde'\nbase_url='https://a.kinde.com'\nclient_id='x'\nclient_secret='env:KS'\n[sources.o]\nprovider='ory'\nbase_url='https://o'\napi_token='topsecret-literal'\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Sources(nil, env(nil))
	if err == nil || err.Error() != "k: client_secret: environment variable KS is not set" {
		t.Fatalf("Sources() = %v, want k: client_secret: environment variable KS is not set", err)
	}
	// Only the failing source is affected: ory resolves alone.
	srcs, err := c.Sources([]string{"o"}, env(nil))
	if err != nil || len(srcs) != 1 || srcs[0].Secret("api_token").Reveal() != "topsecret-literal" {
		t.Fatalf("Sources(o) = %v, %v", srcs, err)
	}
	if s := fmt.Sprintf("%v %+v", srcs[0], srcs[0]); strings.Contains(s, "topsecret") {
		t.Errorf("source prints its secret: %s", s)
	}
	if _, err := c.Sources([]string{"nope"}, env(nil)); err == nil || err.Error() != `unknown source "nope": configured sources are k, o` {
		t.Errorf("Sources(nope) = %v", err)
	}
}

func TestEnvConfig(t *testing.T) {
	c, err := envConfig(env(map[string]string{
		"IDSNAP_KINDE_BASE_URL": "https://a.kinde.com", "IDSNAP_KINDE_CLIENT_ID": "id", "IDSNAP_KINDE_CLIENT_SECRET": "sec",
		"IDSNAP_ZITADEL_INSTANCE_URL": "http://127.0.0.1:8080", "IDSNAP_ZITADEL_PAT": "pat",
	}))
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := c.Sources(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 2 || srcs[0].Name != "kinde" || srcs[0].Secret("client_secret").Reveal() != "sec" || srcs[1].Name != "zitadel" || srcs[1].Secret("pat").Reveal() != "pat" || srcs[1].BaseURL != "http://127.0.0.1:8080" {
		t.Fatalf("env sources = %+v", srcs)
	}

	_, err = envConfig(env(map[string]string{"IDSNAP_ORY_API_TOKEN": "x"}))
	if err == nil || err.Error() != "source ory: missing IDSNAP_ORY_BASE_URL" {
		t.Errorf("envConfig(no base url) = %v, want source ory: missing IDSNAP_ORY_BASE_URL", err)
	}

	c, err = envConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sources(nil, env(nil)); err != errNoSources {
		t.Errorf("Sources() without configuration = %v, want errNoSources", err)
	}
}

// FuzzConfig: parsing any bytes must return a config or an error, never
// panic, and errors stay on one line.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(fullConfig))
	f.Add([]byte("[sources.k]\nprovider='kinde'\n"))
	f.Add([]byte("[sources]\nk = 1\n"))
	f.Add([]byte("sources = []\n"))
	f.Add([]byte("[findings]\n[people]\nx=1\n"))
	f.Add([]byte("[sources.'']\nprovider='ory'\nbase_url='http://[::1'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseConfig(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		for _, s := range c.sources {
			if s.src.Provider == "" || s.src.BaseURL == "" {
				t.Errorf("accepted source without provider or URL: %+v", s.src)
			}
		}
	})
}

// TestErrNoSources: the hint is built from the providers' settings and
// names each provider's URL and secret variables.
func TestErrNoSources(t *testing.T) {
	want := "no source configured: write an idsnap.toml (see idsnap.example.toml) " +
		"or set IDSNAP_KINDE_BASE_URL/_CLIENT_ID/_CLIENT_SECRET, IDSNAP_ORY_BASE_URL/_API_TOKEN or IDSNAP_ZITADEL_INSTANCE_URL/_PAT"
	if got := errNoSources.Error(); got != want {
		t.Errorf("errNoSources = %q, want %q", got, want)
	}
}

// TestProvidersDescribeThemselves: every provider in the table has one URL
// setting, a URL check and a constructor, and its env variables are its own.
func TestProvidersDescribeThemselves(t *testing.T) {
	seen := map[string]string{}
	for _, p := range providers {
		if p.New == nil || p.CheckURL == nil || p.URLSetting().Key == "" {
			t.Errorf("provider %s: incomplete descriptor", p.Name)
		}
		for _, s := range p.Settings {
			if !strings.HasPrefix(s.Env, "IDSNAP_"+strings.ToUpper(p.Name)+"_") {
				t.Errorf("provider %s: setting %s has variable %q", p.Name, s.Key, s.Env)
			}
			if other, dup := seen[s.Env]; dup {
				t.Errorf("variable %s belongs to %s and %s", s.Env, other, p.Name)
			}
			seen[s.Env] = p.Name
		}
		if _, ok := p.Setting(p.Tenant); p.Tenant != "" && !ok {
			t.Errorf("provider %s: tenant setting %s is not one of its settings", p.Name, p.Tenant)
		}
	}
}

// TestParseConfigGeneric: the checks that come from the providers'
// descriptors rather than from config.go.
func TestParseConfigGeneric(t *testing.T) {
	for _, tc := range []struct{ name, toml, want string }{
		{"typo without provider", "[sources.k]\nbase_url='https://a'\nclient_secrt='z'\n", "source k: unknown key client_secrt"},
		{"nested table", "[sources.k]\nprovider='kinde'\n[sources.k.extra]\nx=1\n", "source k: unknown key extra"},
		{"setting not a string", "[sources.k]\nprovider='kinde'\nbase_url=1\n", "source k: base_url:"},
		{"not a table", "[sources]\nk = 1\n", "source k: write it as a table [sources.k]"},
		{"missing provider", "[sources.k]\nbase_url='https://a'\n", `source k: missing provider: set provider to "kinde", "ory" or "zitadel"`},
		{"provider's URL rule", "[sources.z]\nprovider='zitadel'\ninstance_url='https://z/management/v1'\npat='p'\n", "source z: instance_url: must have no path"},
		{"provider case", "[sources.k]\nprovider='Kinde'\nbase_url='https://a.kinde.com/api'\nclient_id='x'\nclient_secret='y'\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig([]byte(tc.toml))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("parseConfig() = %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("parseConfig() = %v, want error containing %q", err, tc.want)
			}
		})
	}
	// Env-only mode names the variable, not the key.
	_, err := envConfig(env(map[string]string{"IDSNAP_ZITADEL_INSTANCE_URL": "zitadel.example", "IDSNAP_ZITADEL_PAT": "p"}))
	if err == nil || !strings.HasPrefix(err.Error(), "source zitadel: IDSNAP_ZITADEL_INSTANCE_URL: not an absolute http(s) URL") {
		t.Errorf("envConfig(bad URL) = %v", err)
	}
}
