package main

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
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

// secretSpec is one secret setting as written: its key, its name in
// errors (the key, or its variable in env-only mode) and its value (a
// literal, env:NAME or file:PATH).
type secretSpec struct {
	key, name, value string
}

// sections are the config's tables besides [sources.NAME]; each command
// decodes its own with section.
var sections = []string{"findings", "people", "roster", "retention"}

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
	var doc map[string]toml.Primitive
	md, err := toml.Decode(string(data), &doc)
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
	var tables map[string]map[string]toml.Primitive
	for _, key := range slices.Sorted(maps.Keys(doc)) {
		switch {
		case key == "sources":
			if err := md.PrimitiveDecode(doc[key], &tables); err != nil {
				return nil, fmt.Errorf("sources: write each source as a table [sources.NAME]: %s", controlEscaper.Replace(err.Error()))
			}
		case slices.Contains(sections, key):
			// Checked by the decoder of the command that reads it.
			c.tables[key] = doc[key]
		default:
			last := len(sections) - 1
			return nil, fmt.Errorf("unknown key %s: the config takes [sources.NAME], [%s] and [%s]", key, strings.Join(sections[:last], "], ["), sections[last])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(tables)) {
		spec, err := fileSourceSpec(md, name, tables[name])
		if err != nil {
			return nil, err
		}
		c.sources = append(c.sources, spec)
	}
	return c, nil
}

// fileSourceSpec checks one [sources.NAME] table.
func fileSourceSpec(md toml.MetaData, name string, table map[string]toml.Primitive) (sourceSpec, error) {
	origin := "source " + name
	if err := checkName(name); err != nil {
		return sourceSpec{}, fmt.Errorf("source %q: %w", name, err)
	}
	if md.Type("sources", name) != "Hash" {
		return sourceSpec{}, fmt.Errorf("%s: write it as a table [sources.%s]", origin, name)
	}
	var provider string
	if v, ok := table["provider"]; ok {
		if err := md.PrimitiveDecode(v, &provider); err != nil {
			return sourceSpec{}, fmt.Errorf("%s: provider: %s", origin, controlEscaper.Replace(err.Error()))
		}
	}
	p, ok := providerNamed(strings.ToLower(strings.TrimSpace(provider)))
	var rps float64
	var conc int
	values := map[string]string{}
	// Keys are checked before the provider is: a typo is named even in a
	// source whose provider is missing.
	for _, key := range slices.Sorted(maps.Keys(table)) {
		var err error
		_, takes := p.Setting(key)
		switch {
		case key == "provider":
		case key == "requests_per_second":
			err = md.PrimitiveDecode(table[key], &rps)
		case key == "concurrency":
			err = md.PrimitiveDecode(table[key], &conc)
		case takes:
			var v string
			err = md.PrimitiveDecode(table[key], &v)
			values[key] = v
		case ok && anyProviderTakes(key):
			return sourceSpec{}, fmt.Errorf("%s: %s is not a %s setting (%s takes %s)", origin, key, p.Name, p.Name, strings.Join(settingKeys(p), ", "))
		case !anyProviderTakes(key):
			return sourceSpec{}, fmt.Errorf("%s: unknown key %s", origin, key)
		}
		if err != nil {
			return sourceSpec{}, fmt.Errorf("%s: %s: %s", origin, key, controlEscaper.Replace(err.Error()))
		}
	}
	if !ok {
		if provider == "" {
			names := providerNames()
			last := len(names) - 1
			return sourceSpec{}, fmt.Errorf("%s: missing provider: set provider to \"%s\" or \"%s\"", origin, strings.Join(names[:last], `", "`), names[last])
		}
		return sourceSpec{}, fmt.Errorf("%s: unknown provider %q: use %s", origin, provider, strings.Join(providerNames(), ", "))
	}
	return newSpec(name, p, origin, func(s fetch.Setting) string { return values[s.Key] },
		func(s fetch.Setting) string { return s.Key }, rps, conc)
}

// newSpec builds a source of provider p from its settings, read through
// get (the TOML table or the environment); origin and keyName name them in
// errors.
func newSpec(name string, p fetch.Provider, origin string, get, keyName func(fetch.Setting) string, rps float64, conc int) (sourceSpec, error) {
	for _, s := range p.Settings {
		if s.Required && strings.TrimSpace(get(s)) == "" {
			return sourceSpec{}, fmt.Errorf("%s: missing %s", origin, keyName(s))
		}
	}
	if rps < 0 {
		return sourceSpec{}, fmt.Errorf("%s: requests_per_second must not be negative", origin)
	}
	if conc < 0 {
		return sourceSpec{}, fmt.Errorf("%s: concurrency must not be negative", origin)
	}
	spec := sourceSpec{origin: origin, src: idsnap.Source{
		Name: name, Provider: p.Name, RequestsPerSecond: rps, Concurrency: conc,
	}}
	for _, s := range p.Settings {
		v := get(s)
		switch {
		case s.URL:
			if _, err := p.CheckURL(v); err != nil {
				return sourceSpec{}, fmt.Errorf("%s: %s: %w", origin, keyName(s), err)
			}
			// Kept as written, less a trailing slash: snapshots show it,
			// and the fetcher normalises it for the API.
			spec.src.BaseURL = strings.TrimRight(strings.TrimSpace(v), "/")
		case s.Secret:
			if v != "" {
				spec.secrets = append(spec.secrets, secretSpec{key: s.Key, name: keyName(s), value: v})
			}
		case strings.TrimSpace(v) != "":
			if spec.src.Settings == nil {
				spec.src.Settings = map[string]string{}
			}
			spec.src.Settings[s.Key] = strings.TrimSpace(v)
		}
	}
	if p.Tenant != "" {
		spec.src.Tenant = spec.src.Settings[p.Tenant]
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

// envConfig builds one source per provider that has any of its IDSNAP_*
// variables set, named after the provider.
func envConfig(getenv func(string) string) (*config, error) {
	c := &config{tables: map[string]toml.Primitive{}}
	for _, p := range providers {
		set := false
		for _, s := range p.Settings {
			if s.Env != "" && getenv(s.Env) != "" {
				set = true
			}
		}
		if !set {
			continue
		}
		get := func(s fetch.Setting) string {
			if s.Env == "" {
				return ""
			}
			return getenv(s.Env)
		}
		keyName := func(s fetch.Setting) string { return cmp.Or(s.Env, s.Key) }
		spec, err := newSpec(p.Name, p, "source "+p.Name, get, keyName, 0, 0)
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
			return idsnap.Source{}, fmt.Errorf("%s: %w", sec.name, err)
		}
		if src.Secrets == nil {
			src.Secrets = map[string]idsnap.Secret{}
		}
		src.Secrets[sec.key] = v
	}
	return src, nil
}

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
			return "", absentSecret{fmt.Errorf("environment variable %s is not set", name)}
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
			err = fmt.Errorf("read %s: %w", path, err)
			if errors.Is(err, fs.ErrNotExist) {
				err = absentSecret{err}
			}
			return "", err
		}
		s := strings.TrimRight(string(data), "\r\n")
		if s == "" {
			return "", absentSecret{fmt.Errorf("%s is empty", path)}
		}
		return idsnap.Secret(s), nil
	}
	return idsnap.Secret(v), nil
}

// absentSecret is a secret whose reference is right but whose variable or
// file is not there (or empty): doctor calls it MISSING, and a malformed
// reference or an unreadable file a failure to fix in the config.
type absentSecret struct{ error }

func (e absentSecret) Unwrap() error { return e.error }

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
