package idsnap

import "time"

// PullInfo is how a pull ran, kept with its snapshot for the evidence's
// IPE block (information produced by the entity): an auditor testing
// completeness asks which endpoints were read with which parameters, when
// the pull ended, and whether the provider's own totals were met.
type PullInfo struct {
	EndedAt   time.Time  `json:"ended_at"` // when the last record arrived, before the commit
	Endpoints []Endpoint `json:"endpoints"`
	// Totals are the counts the provider itself reported (ZITADEL's
	// totalResult), each matched by the rows read: a mismatch fails the
	// pull, so a stored total always matched.
	Totals []ProviderTotal `json:"provider_totals,omitempty"`
}

// Endpoint is one API endpoint a pull read, with the parameters that
// select rows (paging cursors and offsets left out: they differ per page).
type Endpoint struct {
	Method   string `json:"method"`
	Path     string `json:"path"`
	Params   string `json:"params,omitempty"`
	Requests int    `json:"requests"`
}

// ProviderTotal is what the provider reported as the total of the
// listings at one endpoint (summed over them: each project's roles), and
// the distinct rows read.
type ProviderTotal struct {
	Endpoint string `json:"endpoint"`
	Listings int    `json:"listings"`
	Total    uint64 `json:"total"`
	Read     uint64 `json:"read"`
}
