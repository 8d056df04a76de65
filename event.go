package idsnap

import (
	"encoding/json"
	"time"
)

// Event is one verified webhook a provider sent between pulls: a change
// as it happened. Events never change a snapshot; reports show them beside
// the snapshots' changes to say when, and to catch what came and went
// between two pulls.
type Event struct {
	Source     string    `json:"source"`
	ID         string    `json:"event_id"` // the provider's id, unique per source
	Type       string    `json:"type"`     // the provider's event type, such as user.updated
	OccurredAt time.Time `json:"occurred_at"`
	ReceivedAt time.Time `json:"received_at"`
	// UserID is the user the event is about, "" for none. Orgs are the
	// resources it names: an organization event's code, or a user event's
	// organization memberships.
	UserID string   `json:"user_id,omitempty"`
	Orgs   []string `json:"orgs,omitempty"`
	// Entitlements are those the event shows the user holding, as the
	// provider's snapshots name them (Kinde: org_x:member, org_x:role:admin);
	// nil when the event does not say (user.deleted).
	Entitlements []string `json:"entitlements"`
	// Payload is the verified payload as canonical JSON.
	Payload json.RawMessage `json:"payload"`
}
