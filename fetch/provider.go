package fetch

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/idsnap/idsnap"
)

// Provider describes one identity provider to the configuration: the
// settings a source of it takes, how its URL is checked and how its
// fetcher is built. Each provider package exports one; the command's table
// of providers lists them.
type Provider struct {
	Name string // "kinde", the value of a source's provider setting
	// Settings are the provider's own settings in the order errors name
	// them; exactly one has URL set.
	Settings []Setting
	// Tenant is the key of the setting naming the tenant a snapshot reads
	// (ZITADEL's org_id, Ory's project_slug); "" when there is none.
	Tenant string
	// CheckURL validates the URL setting and returns it normalised; its
	// errors leave out the key, which the caller names.
	CheckURL func(raw string) (string, error)
	// New builds the source's fetcher, checking its settings again: tests
	// and the bench build sources without the configuration.
	New func(idsnap.Source, *Client) (Fetcher, error)
}

// Setting is one setting of a provider's sources.
type Setting struct {
	Key      string // as the provider names it: "client_id"
	Env      string // the variable standing for it in env-only mode
	URL      bool   // the API's address; its value is Source.BaseURL
	Secret   bool   // a credential: literal, env:NAME or file:PATH; kept in Source.Secrets
	Required bool
	Help     string // what to set it to: "the client ID of the Kinde M2M application"
}

// URLSetting is the setting holding the API's address.
func (p Provider) URLSetting() Setting {
	for _, s := range p.Settings {
		if s.URL {
			return s
		}
	}
	return Setting{}
}

// Setting returns the setting named key.
func (p Provider) Setting(key string) (Setting, bool) {
	for _, s := range p.Settings {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// Require checks that src holds each required setting, in order: a
// provider's New calls it with its settings.
func Require(src idsnap.Source, settings []Setting) error {
	for _, s := range settings {
		if s.Required && strings.TrimSpace(s.value(src)) == "" {
			return fmt.Errorf("%s is required: %s", s.Key, s.Help)
		}
	}
	return nil
}

func (s Setting) value(src idsnap.Source) string {
	switch {
	case s.URL:
		return src.BaseURL
	case s.Secret:
		return src.Secrets[s.Key].Reveal()
	}
	return src.Settings[s.Key]
}

// ParseURL is the check every provider's URL setting starts with: an
// absolute http(s) URL without credentials, query or fragment. eg is an
// example of a good value and secrets the settings credentials go in, for
// the errors.
func ParseURL(raw, eg, secrets string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("not an absolute http(s) URL: write it as %s", eg)
	case u.User != nil:
		return nil, fmt.Errorf("must not hold credentials: put them in %s", secrets)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(raw, "#"):
		return nil, fmt.Errorf("must not hold a query or fragment: write it as %s", eg)
	}
	return u, nil
}
