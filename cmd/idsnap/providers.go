package main

import (
	"errors"
	"slices"
	"strings"

	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/kinde"
	"github.com/idsnap/idsnap/fetch/ory"
	"github.com/idsnap/idsnap/fetch/zitadel"
)

// providers is the one table of identity providers: a provider plugs in with
// one package under fetch/, which describes its settings, and one line here.
// Env-only mode reads them in this order.
var providers = []fetch.Provider{
	kinde.Provider,
	ory.Provider,
	zitadel.Provider,
}

// providerNamed finds a provider by the value of a source's provider setting.
func providerNamed(name string) (fetch.Provider, bool) {
	i := slices.IndexFunc(providers, func(p fetch.Provider) bool { return p.Name == name })
	if i < 0 {
		return fetch.Provider{}, false
	}
	return providers[i], true
}

func providerNames() []string {
	names := make([]string, len(providers))
	for i, p := range providers {
		names[i] = p.Name
	}
	slices.Sort(names)
	return names
}

// settingKeys lists the keys of p's settings.
func settingKeys(p fetch.Provider) []string {
	keys := make([]string, len(p.Settings))
	for i, s := range p.Settings {
		keys[i] = s.Key
	}
	return keys
}

// anyProviderTakes reports whether key is a setting of some provider: in a
// source of another provider it is a mistake worth naming.
func anyProviderTakes(key string) bool {
	for _, p := range providers {
		if _, ok := p.Setting(key); ok {
			return true
		}
	}
	return false
}

// errNoSources tells a newcomer how to configure a source: an idsnap.toml,
// or each provider's URL and secret variables, as in
// IDSNAP_KINDE_BASE_URL/_CLIENT_ID/_CLIENT_SECRET.
var errNoSources = func() error {
	var vars []string
	for _, p := range providers {
		prefix := "IDSNAP_" + strings.ToUpper(p.Name)
		var names []string
		for _, s := range p.Settings {
			if s.Env == "" || !(s.URL || s.Secret || s.Required) {
				continue
			}
			if len(names) > 0 {
				names = append(names, strings.TrimPrefix(s.Env, prefix))
			} else {
				names = append(names, s.Env)
			}
		}
		vars = append(vars, strings.Join(names, "/"))
	}
	last := len(vars) - 1
	return errors.New("no source configured: write an idsnap.toml (see idsnap.example.toml) or set " +
		strings.Join(vars[:last], ", ") + " or " + vars[last])
}()
