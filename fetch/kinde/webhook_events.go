package kinde

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/idsnap/idsnap"
)

// EventTypes are the webhook event types Kinde publishes, with the object
// each one's data holds (@kinde/webhook lib/types.ts, WebhookEventType).
// The Management API's spec has no per-type schema (GET /api/v1/event_types
// returns them at run time), so these shapes are the SDK's.
var EventTypes = map[string]string{
	"user.created":               "user",
	"user.updated":               "user",
	"user.deleted":               "user",
	"user.authenticated":         "user",
	"user.authentication_failed": "user",
	"organization.created":       "organization",
	"organization.updated":       "organization",
	"organization.deleted":       "organization",
	"role.created":               "role",
	"role.updated":               "role",
	"role.deleted":               "role",
	"permission.created":         "permission",
	"permission.updated":         "permission",
	"permission.deleted":         "permission",
	"subscriber.created":         "subscriber",
	"access_request.created":     "access_request",
}

// webhookPayload is the envelope every Kinde webhook shares.
type webhookPayload struct {
	EventID   string                     `json:"event_id"`
	Type      string                     `json:"type"`
	Timestamp string                     `json:"timestamp"`
	Data      map[string]json.RawMessage `json:"data"`
}

// webhookObject holds the ids an event's object may carry.
type webhookObject struct {
	ID            *string `json:"id"`
	Code          *string `json:"code"`
	UserID        *string `json:"user_id"`
	Organizations []struct {
		Code  string   `json:"code"`
		Roles []string `json:"roles"` // role keys; null for none
	} `json:"organizations"`
}

// parseEvent checks a verified payload's shape and reads its ids.
func parseEvent(payload []byte) (idsnap.Event, error) {
	var p webhookPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return idsnap.Event{}, reject(http.StatusBadRequest, "malformed event: %v", err)
	}
	if !plainID(p.EventID) {
		return idsnap.Event{}, reject(http.StatusBadRequest, "malformed event: event_id %q", p.EventID)
	}
	object, known := EventTypes[p.Type]
	if !known {
		return idsnap.Event{}, reject(http.StatusUnprocessableEntity, "unknown event type %q", p.Type)
	}
	at, err := time.Parse(time.RFC3339Nano, p.Timestamp)
	if err != nil {
		return idsnap.Event{}, reject(http.StatusBadRequest, "malformed event %s: timestamp %q is not RFC 3339", p.EventID, p.Timestamp)
	}
	raw, ok := p.Data[object]
	var o webhookObject
	if !ok || json.Unmarshal(raw, &o) != nil {
		return idsnap.Event{}, reject(http.StatusBadRequest, "malformed event %s: %s needs data.%s as an object", p.EventID, p.Type, object)
	}
	ev := idsnap.Event{ID: p.EventID, Type: p.Type, OccurredAt: at.UTC(), Payload: payload}
	switch object {
	case "user":
		ev.UserID = deref(o.ID)
		// The entitlements a pull would record for these memberships
		// (members.go), so a report matches them to grants exactly.
		for _, org := range o.Organizations {
			if org.Code == "" || slices.Contains(ev.Orgs, org.Code) {
				continue
			}
			ev.Orgs = append(ev.Orgs, org.Code)
			ev.Entitlements = append(ev.Entitlements, idsnap.EntitlementID(org.Code, memberKey))
			for _, key := range org.Roles {
				ev.Entitlements = append(ev.Entitlements, idsnap.EntitlementID(org.Code, rolePrefix+key))
			}
		}
		slices.Sort(ev.Orgs)
		slices.Sort(ev.Entitlements)
		if o.Organizations != nil && ev.Entitlements == nil {
			ev.Entitlements = []string{} // says: in no organization
		}
		if !plainID(ev.UserID) {
			return idsnap.Event{}, reject(http.StatusBadRequest, "malformed event %s: %s needs data.user.id", p.EventID, p.Type)
		}
	case "organization":
		code := deref(o.Code)
		if !plainID(code) {
			return idsnap.Event{}, reject(http.StatusBadRequest, "malformed event %s: %s needs data.organization.code", p.EventID, p.Type)
		}
		ev.Orgs = []string{code}
	case "subscriber", "access_request":
		ev.UserID = deref(o.UserID)
	}
	return ev, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// plainID says whether s is a plausible id: non-empty, short, printable,
// no space. It keeps control characters out of logs and reports.
func plainID(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) })
}
