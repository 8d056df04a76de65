package idsnap

import (
	"fmt"
	"strings"
)

// Secret holds a credential: a client secret, an API token, a PAT. It prints,
// formats and marshals as [redacted], so a secret that reaches a log line, an
// error or a JSON export by mistake leaks nothing. Reveal is the one way out,
// used only where the secret goes on the wire.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return s.String() }

// Format covers every verb, including %q, %x and %v of structs holding a Secret.
func (s Secret) Format(f fmt.State, verb rune) { fmt.Fprint(f, s.String()) }

// MarshalText implements encoding.TextMarshaler (JSON, TOML, slog).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Source is one configured identity-provider tenant. Its provider's own
// settings are kept by key, as the provider names them (client_id, org_id,
// pat): only the provider's package reads them, through the settings its
// descriptor (fetch.Provider) declares.
type Source struct {
	Name     string // configured name: "kinde-prod"; "kinde" in env-only mode
	Provider string // kinde | ory | zitadel

	BaseURL string // the API's address: Kinde and Ory base_url, ZITADEL instance_url

	// Tenant names the tenant the settings select (ZITADEL org_id, Ory
	// project_slug), kept with each snapshot; empty when they name none.
	Tenant string

	Settings map[string]string // the provider's plain settings by key
	Secrets  map[string]Secret // its secret settings, resolved

	// RequestsPerSecond caps the request rate to this source; 0 takes the
	// provider's default.
	RequestsPerSecond float64
	// Concurrency bounds parallel requests inside this source (per-org
	// fan-out); 0 takes the provider's default.
	Concurrency int
}

// Setting is the provider setting key, trimmed; "" when not set.
func (s Source) Setting(key string) string { return strings.TrimSpace(s.Settings[key]) }

// Secret is the secret setting key; "" when not set.
func (s Source) Secret(key string) Secret { return s.Secrets[key] }
