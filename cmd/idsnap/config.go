package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap"
)

// defaultConfig is read when --config is not given and the file exists.
const defaultConfig = "idsnap.toml"

// config is the parsed configuration: named sources, plus the [findings]
// and [people] tables that their commands decode with section.
//
// Secrets stay unresolved (a literal, env:NAME or file:PATH) until a
// command selects its sources, so a missing secret of one source never
// stops a pull of another.
type config struct {
	// Path is the file read; "" in env-only mode.
	Path    string
	sources []sourceSpec // sorted by name
	md      toml.MetaData
	tables  map[string]toml.Primitive
}

// sourceSpec is one configured source before its secrets are resolved.
type sourceSpec struct {
	src     idsnap.Source // every setting but the secrets
	secrets []secretSpec
	// origin names where the settings came from in errors: "source
	// kinde-prod" for a file, "IDSNAP_KINDE_*" for the environment.
	origin string
}

// secretSpec is one secret setting as written: its key (for errors), its
// value (a literal, env:NAME or file:PATH) and where to store it.
type secretSpec struct {
	key   string
	value string
	set   func(*idsnap.Source, idsnap.Secret)
}

// fileConfig is the TOML document. Keys follow the providers' own names.
type fileConfig struct {
	Sources  map[string]fileSource `toml:"sources"`
	Findings toml.Primitive        `toml:"findings"`
	People   toml.Primitive        `toml:"people"`
	Roster   toml.Primitive        `toml:"roster"`
}

type fileSource struct {
	Provider          string  `toml:"provider"`
	BaseURL           string  `toml:"base_url"`
	InstanceURL       string  `toml:"instance_url"`
	ClientID          string  `toml:"client_id"`
	ClientSecret      string  `toml:"client_secret"`
	APIToken          string  `toml:"api_token"`
	ProjectSlug       string  `toml:"project_slug"`
	PAT               string  `toml:"pat"`
	OrgID             string  `toml:"org_id"`
	RequestsPerSecond float64 `toml:"requests_per_second"`
	Concurrency       int     `toml:"concurrency"`
}

// providerKeys lists, per provider, the settings it takes: a key that
// belongs to another provider is an error, not silently ignored.
var providerKeys = map[string][]string{
	"kinde":   {"base_url", "client_id", "client_secret"},
	"ory":     {"base_url", "api_token", "project_slug"},
	"zitadel": {"instance_url", "pat", "org_id"},
}

// commonKeys are valid for every provider.
var commonKeys = []string{"provider", "requests_per_second", "concurrency"}

// requiredKeys are the settings without which a source cannot be pulled.
// Ory's api_token is optional: self-hosted Kratos' admin port takes none.
var requiredKeys = map[string][]string{
	"kinde":   {"base_url", "client_id", "client_secret"},
	"ory":     {"base_url"},
	"zitadel": {"instance_url", "pat"},
}

func providerNames() []string {
	names := make([]string, 0, len(providerKeys))
	for p := range providerKeys {
		names = append(names, p)
	}
	sort.Strings(names)
	return names
}

// loadConfig reads --config, else ./idsnap.toml when present, else the
// IDSNAP_* environment.
func (a *app) loadConfig(cmd *cli.Command) (*config, error) {
	path := cmd.String("config")
	if path == "" {
		if _, err := os.Stat(defaultConfig); err == nil {
			path = defaultConfig
		} else {
			return envConfig(a.getenv)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read config: %s does not exist", path)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := parseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.Path = path
	// file:PATH secrets are relative to the config file, so a cron job
	// started from another directory reads the same files.
	dir := filepath.Dir(path)
	for i := range c.sources {
		for j, s := range c.sources[i].secrets {
			if p, ok := strings.CutPrefix(s.value, "file:"); ok && p != "" && !filepath.IsAbs(p) {
				c.sources[i].secrets[j].value = "file:" + filepath.Join(dir, p)
			}
		}
	}
	return c, nil
}

// controlEscaper writes line breaks and tabs in a message as Go escapes.
var controlEscaper = strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`)

// parseConfig parses and checks a config file. It reads no files and no
// environment: secrets are resolved later.
func parseConfig(data []byte) (*config, error) {
	var fc fileConfig
	md, err := toml.Decode(string(data), &fc)
	if err != nil {
		// The parser quotes the text it choked on, newlines and all; an
		// error stays on one line.
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("line %d: %s", pe.Position.Line, controlEscaper.Replace(pe.Message))
		}
		return nil, errors.New(controlEscaper.Replace(err.Error()))
	}
	c := &config{md: md, tables: map[string]toml.Primitive{}}
	if md.IsDefined("findings") {
		c.tables["findings"] = fc.Findings
	}
	if md.IsDefined("people") {
		c.tables["people"] = fc.People
	}
	if md.IsDefined("roster") {
		c.tables["roster"] = fc.Roster
	}
	// Keys nobody decoded are typos or settings from another tool. The
	// [findings], [people] and [roster] tables are checked by their own decoders.
	for _, k := range md.Undecoded() {
		if k[0] == "findings" || k[0] == "people" || k[0] == "roster" {
			continue
		}
		if len(k) >= 3 && k[0] == "sources" {
			return nil, fmt.Errorf("source %s: unknown key %s", k[1], strings.Join(k[2:], "."))
		}
		return nil, fmt.Errorf("unknown key %s: the config takes [sources.NAME], [findings] and [people]", k)
	}
	names := make([]string, 0, len(fc.Sources))
	for name := range fc.Sources {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		spec, err := fileSourceSpec(name, fc.Sources[name], func(key string) bool {
			return md.IsDefined("sources", name, key)
		})
		if err != nil {
			return nil, err
		}
		c.sources = append(c.sources, spec)
	}
	return c, nil
}

// fileSourceSpec checks one [sources.NAME] table.
func fileSourceSpec(name string, f fileSource, defined func(string) bool) (sourceSpec, error) {
	origin := "source " + name
	if err := checkName(name); err != nil {
		return sourceSpec{}, fmt.Errorf("source %q: %w", name, err)
	}
	p := strings.ToLower(strings.TrimSpace(f.Provider))
	keys, ok := providerKeys[p]
	if !ok {
		if f.Provider == "" {
			return sourceSpec{}, fmt.Errorf("%s: missing provider: set provider = %q", origin, strings.Join(providerNames(), `", "`))
		}
		return sourceSpec{}, fmt.Errorf("%s: unknown provider %q: use %s", origin, f.Provider, strings.Join(providerNames(), ", "))
	}
	for key := range providerKeysAll() {
		if defined(key) && !slices.Contains(keys, key) && !slices.Contains(commonKeys, key) {
			return sourceSpec{}, fmt.Errorf("%s: %s is not a %s setting (%s takes %s)", origin, key, p, p, strings.Join(keys, ", "))
		}
	}
	values := map[string]string{
		"base_url": f.BaseURL, "instance_url": f.InstanceURL, "client_id": f.ClientID,
		"client_secret": f.ClientSecret, "api_token": f.APIToken, "project_slug": f.ProjectSlug,
		"pat": f.PAT, "org_id": f.OrgID,
	}
	return newSpec(name, p, origin, func(key string) string { return values[key] }, f.RequestsPerSecond, f.Concurrency)
}

func providerKeysAll() map[string]bool {
	all := map[string]bool{}
	for _, keys := range providerKeys {
		for _, k := range keys {
			all[k] = true
		}
	}
	return all
}

// newSpec builds a source from its settings, read by key through get
// (the TOML table or the environment); origin and keyName name them in
// errors.
func newSpec(name, provider, origin string, get func(key string) string, rps float64, conc int) (sourceSpec, error) {
	return newSpecNamed(name, provider, origin, get, func(k string) string { return k }, rps, conc)
}

func newSpecNamed(name, provider, origin string, get, keyName func(string) string, rps float64, conc int) (sourceSpec, error) {
	for _, key := range requiredKeys[provider] {
		if strings.TrimSpace(get(key)) == "" {
			return sourceSpec{}, fmt.Errorf("%s: missing %s", origin, keyName(key))
		}
	}
	if rps < 0 {
		return sourceSpec{}, fmt.Errorf("%s: %s must not be negative", origin, keyName("requests_per_second"))
	}
	if conc < 0 {
		return sourceSpec{}, fmt.Errorf("%s: %s must not be negative", origin, keyName("concurrency"))
	}
	spec := sourceSpec{origin: origin, src: idsnap.Source{
		Name: name, Provider: provider, RequestsPerSecond: rps, Concurrency: conc,
	}}
	urlKey := "base_url"
	if provider == "zitadel" {
		urlKey = "instance_url"
	}
	u, err := checkURL(get(urlKey))
	if err != nil {
		return sourceSpec{}, fmt.Errorf("%s: %s: %w", origin, keyName(urlKey), err)
	}
	spec.src.BaseURL = u
	secret := func(key string, set func(*idsnap.Source, idsnap.Secret)) {
		if v := get(key); v != "" {
			spec.secrets = append(spec.secrets, secretSpec{key: keyName(key), value: v, set: set})
		}
	}
	switch provider {
	case "kinde":
		spec.src.ClientID = strings.TrimSpace(get("client_id"))
		secret("client_secret", func(s *idsnap.Source, v idsnap.Secret) { s.ClientSecret = v })
	case "ory":
		spec.src.ProjectSlug = strings.TrimSpace(get("project_slug"))
		secret("api_token", func(s *idsnap.Source, v idsnap.Secret) { s.APIToken = v })
	case "zitadel":
		spec.src.OrgID = strings.TrimSpace(get("org_id"))
		secret("pat", func(s *idsnap.Source, v idsnap.Secret) { s.PAT = v })
	}
	return spec, nil
}

// checkName keeps source names printable and usable as file and column
// values: they appear in every error, table and evidence file.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty source name")
	}
	if len(name) > 64 {
		return errors.New("source name longer than 64 characters")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return errors.New("source name may hold only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}

// checkURL accepts an absolute http(s) URL without query or credentials and
// returns it without a trailing slash.
func checkURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a URL: write it as https://host")
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return "", errors.New("not an absolute http(s) URL: write it as https://host")
	}
	if u.User != nil {
		return "", errors.New("must not hold credentials: put them in the secret settings")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("must not hold a query or fragment")
	}
	return strings.TrimRight(s, "/"), nil
}

// envProviders names the IDSNAP_* variables of each provider in env-only
// mode, keyed by the setting they stand for.
var envProviders = []struct {
	provider string
	vars     map[string]string
}{
	{"kinde", map[string]string{"base_url": "IDSNAP_KINDE_BASE_URL", "client_id": "IDSNAP_KINDE_CLIENT_ID", "client_secret": "IDSNAP_KINDE_CLIENT_SECRET"}},
	{"ory", map[string]string{"base_url": "IDSNAP_ORY_BASE_URL", "api_token": "IDSNAP_ORY_API_TOKEN", "project_slug": "IDSNAP_ORY_PROJECT_SLUG"}},
	{"zitadel", map[string]string{"instance_url": "IDSNAP_ZITADEL_INSTANCE_URL", "pat": "IDSNAP_ZITADEL_PAT", "org_id": "IDSNAP_ZITADEL_ORG_ID"}},
}

// envConfig builds one source per provider that has any IDSNAP_<PROVIDER>_*
// variable set, named after the provider.
func envConfig(getenv func(string) string) (*config, error) {
	c := &config{tables: map[string]toml.Primitive{}}
	for _, ep := range envProviders {
		set := false
		for _, v := range ep.vars {
			if getenv(v) != "" {
				set = true
			}
		}
		if !set {
			continue
		}
		get := func(key string) string { return getenv(ep.vars[key]) }
		keyName := func(key string) string {
			if v, ok := ep.vars[key]; ok {
				return v
			}
			return key
		}
		spec, err := newSpecNamed(ep.provider, ep.provider, "source "+ep.provider, get, keyName, 0, 0)
		if err != nil {
			return nil, err
		}
		c.sources = append(c.sources, spec)
	}
	return c, nil
}

// Names lists the configured sources.
func (c *config) Names() []string {
	names := make([]string, len(c.sources))
	for i, s := range c.sources {
		names[i] = s.src.Name
	}
	return names
}

// Select returns the named sources (every source when names is empty), in
// configured order, secrets still unresolved.
func (c *config) Select(names []string) ([]sourceSpec, error) {
	if len(c.sources) == 0 {
		return nil, errNoSources
	}
	if len(names) == 0 {
		return c.sources, nil
	}
	var specs []sourceSpec
	for _, s := range c.sources {
		if slices.Contains(names, s.src.Name) {
			specs = append(specs, s)
		}
	}
	for _, n := range names {
		if !slices.Contains(c.Names(), n) {
			return nil, fmt.Errorf("unknown source %q: configured sources are %s", n, strings.Join(c.Names(), ", "))
		}
	}
	return specs, nil
}

// Sources returns the named sources with their secrets resolved.
func (c *config) Sources(names []string, getenv func(string) string) ([]idsnap.Source, error) {
	specs, err := c.Select(names)
	if err != nil {
		return nil, err
	}
	out := make([]idsnap.Source, 0, len(specs))
	for _, spec := range specs {
		src, err := spec.Resolve(getenv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.Name(), err)
		}
		out = append(out, src)
	}
	return out, nil
}

// Name is the source's configured name.
func (s sourceSpec) Name() string { return s.src.Name }

// Resolve reads the source's secrets. The error names the source and the
// setting, never the value.
func (s sourceSpec) Resolve(getenv func(string) string) (idsnap.Source, error) {
	src := s.src
	for _, sec := range s.secrets {
		v, err := resolveSecret(sec.value, getenv)
		if err != nil {
			return idsnap.Source{}, fmt.Errorf("%s: %w", sec.key, err)
		}
		sec.set(&src, v)
	}
	return src, nil
}

// errNoSources tells a newcomer how to configure a source.
var errNoSources = errors.New("no source configured: write an idsnap.toml (see idsnap.example.toml) " +
	"or set IDSNAP_KINDE_BASE_URL/_CLIENT_ID/_CLIENT_SECRET, IDSNAP_ORY_BASE_URL/_API_TOKEN or IDSNAP_ZITADEL_INSTANCE_URL/_PAT")

// resolveSecret turns a secret setting into the secret: env:NAME reads an
// environment variable, file:PATH a file (trailing newline trimmed),
// anything else is the literal. Errors never hold the value.
func resolveSecret(v string, getenv func(string) string) (idsnap.Secret, error) {
	switch {
	case strings.HasPrefix(v, "env:"):
		name := strings.TrimPrefix(v, "env:")
		if name == "" {
			return "", errors.New("env: needs a variable name, as in env:KINDE_CLIENT_SECRET")
		}
		s := getenv(name)
		if s == "" {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		return idsnap.Secret(s), nil
	case strings.HasPrefix(v, "file:"):
		path := strings.TrimPrefix(v, "file:")
		if path == "" {
			return "", errors.New("file: needs a path, as in file:/run/secrets/kinde")
		}
		data, err := os.ReadFile(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is named once, below
			}
			return "", fmt.Errorf("read %s: %w", path, err)
		}
		s := strings.TrimRight(string(data), "\r\n")
		if s == "" {
			return "", fmt.Errorf("%s is empty", path)
		}
		return idsnap.Secret(s), nil
	}
	return idsnap.Secret(v), nil
}

// section decodes the [name] table (findings, people) into v and rejects
// keys v does not take. An absent table leaves v as it is.
func (c *config) section(name string, v any) error {
	p, ok := c.tables[name]
	if !ok {
		return nil
	}
	if err := c.md.PrimitiveDecode(p, v); err != nil {
		return fmt.Errorf("%s: [%s]: %w", c.Path, name, err)
	}
	for _, k := range c.md.Undecoded() {
		if k[0] == name {
			return fmt.Errorf("%s: [%s]: unknown key %s", c.Path, name, strings.Join(k[1:], "."))
		}
	}
	return nil
}
