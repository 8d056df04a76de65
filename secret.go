package idsnap

import "fmt"

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

// Source is one configured identity-provider tenant. The names of its
// settings follow the providers' own (base_url, client_id, pat, ...).
type Source struct {
	Name     string // configured name: "kinde-prod"; "kinde" in env-only mode
	Provider string // kinde | ory | zitadel

	BaseURL string // Kinde base_url, Ory base_url, ZITADEL instance_url

	ClientID     string // Kinde M2M application
	ClientSecret Secret

	APIToken    Secret // Ory project API key; optional for self-hosted Kratos
	ProjectSlug string // Ory, for display only

	PAT   Secret // ZITADEL personal access token
	OrgID string // ZITADEL org; detected when empty and the instance has one

	// RequestsPerSecond caps the request rate to this source; 0 takes the
	// provider's default.
	RequestsPerSecond float64
	// Concurrency bounds parallel requests inside this source (per-org
	// fan-out); 0 takes the provider's default.
	Concurrency int
}
