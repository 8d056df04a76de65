// Package fetch holds what every provider shares: the Fetcher interface, one
// HTTP client (rate limits, retries, 429 reset headers, timeouts, size caps),
// the typed HTTP error and the pagination guard. It knows HTTP and the
// providers' conventions, nothing of SQL: records leave through Emit.
package fetch

import (
	"context"

	"github.com/idsnap/idsnap"
)

// Emit receives one record. It must be safe for concurrent use: a fetcher
// lists users and organizations in parallel. store's Stage.Put has this shape.
type Emit func(ctx context.Context, r idsnap.Record) error

// Fetcher pulls one source, read-only, streaming every record to emit. It
// never holds a whole tenant in memory. An error means the pull is
// incomplete and must not be committed.
type Fetcher interface {
	Fetch(ctx context.Context, emit Emit) error
}

// Check is one line of `idsnap doctor`: a permission or setting idsnap
// needs, whether the source has it, and how to grant it when it does not.
type Check struct {
	Name   string // "read:users scope", "base URL", "iam.read (optional)"
	OK     bool
	Detail string // what the cheap request showed
	Fix    string // how to grant it; empty when OK

	// Why a failed check failed, for its label: Rejected when the source
	// refused the credential itself (a wrong secret or token), Missing when
	// a permission or setting idsnap needs is absent. Neither: it failed
	// otherwise (unreachable, 5xx, a wrong URL).
	Rejected, Missing bool
}

// Doctor is implemented by fetchers that can check their source's URL,
// credentials and every permission idsnap needs, with one cheap request
// each, without pulling anything.
type Doctor interface {
	Doctor(ctx context.Context) []Check
}

// Tenanted is implemented by fetchers that learn which tenant they pulled
// while pulling (ZITADEL's org, detected when org_id is not set), so the
// snapshot and the evidence built on it can name it.
type Tenanted interface {
	Tenant() string
}
