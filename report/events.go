package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
)

// RenderEvents writes webhook events (idsnap events) in format f, times in
// loc (nil: UTC). JSON keeps each verified payload.
func RenderEvents(w io.Writer, f Format, events []idsnap.Event, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	if f == FormatJSON {
		if events == nil {
			events = []idsnap.Event{}
		}
		return renderSafeJSON(w, events)
	}
	t := Table{Header: []string{"occurred_at", "source", "type", "user", "organizations", "event_id", "received_at"}}
	if f == FormatTable || f == FormatMarkdown || f == "" {
		t.Header = []string{"OCCURRED AT", "SOURCE", "TYPE", "USER", "ORGANIZATIONS", "EVENT ID", "RECEIVED AT"}
	}
	for _, e := range events {
		row := []string{e.OccurredAt.In(loc).Format(time.RFC3339), e.Source, e.Type, e.UserID,
			strings.Join(e.Orgs, " "), e.ID, e.ReceivedAt.In(loc).Format(time.RFC3339)}
		if f == FormatCSV {
			for i := range row {
				row[i] = Escape(row[i])
			}
		}
		t.Rows = append(t.Rows, row)
	}
	if len(events) == 0 && f != FormatCSV {
		_, err := fmt.Fprintln(w, "no webhook events")
		return err
	}
	return RenderTable(w, f, t)
}

// Window is one source's stretch between two snapshots (From, To], with
// the changes the later snapshot showed.
type Window struct {
	Source   string
	From, To time.Time
	Changes  []idsnap.Change
}

// Explained is a change with the webhook events that explain it.
type Explained struct {
	Change idsnap.Change
	Events []idsnap.Event
}

// Transient is a user, or a grant of an entitlement to a user, that events
// show appearing and vanishing between two snapshots: access neither
// snapshot saw.
type Transient struct {
	Source      string
	Kind        idsnap.Kind // user or grant
	UserID      string
	Entitlement string // for a grant
	Appeared    idsnap.Event
	Vanished    idsnap.Event
}

// EventNotes is what webhook events add to a diff or a history.
type EventNotes struct {
	Explained []Explained
	Transient []Transient
	// Location is the zone times are shown in; nil is UTC.
	Location *time.Location
}

// Empty says whether there is nothing to show, so output without events
// stays as it was.
func (n *EventNotes) Empty() bool { return len(n.Explained) == 0 && len(n.Transient) == 0 }

// NoteEvents matches events (in occurrence order) to the windows' changes
// and finds the transients in each window. An event explains a change of
// its source and window about the same user (a user's change), the same
// organization (a resource's) or the same grant (the event shows the user
// holding the entitlement, or, for a revoke, no longer).
func NoteEvents(windows []Window, events []idsnap.Event) *EventNotes {
	n := &EventNotes{}
	for _, w := range windows {
		var in []idsnap.Event
		for _, e := range events {
			if e.Source == w.Source && e.OccurredAt.After(w.From) && !e.OccurredAt.After(w.To) {
				in = append(in, e)
			}
		}
		if len(in) == 0 {
			continue
		}
		for _, c := range w.Changes {
			var why []idsnap.Event
			for _, e := range in {
				if explains(e, c) {
					why = append(why, e)
				}
			}
			if len(why) > 0 {
				n.Explained = append(n.Explained, Explained{Change: c, Events: why})
			}
		}
		n.Transient = append(n.Transient, transients(w, in)...)
	}
	return n
}

// subject is the user, organization and entitlement a change is about.
func subject(c idsnap.Change) (user, org, ent string) {
	r := c.After
	if r == nil {
		r = c.Before
	}
	switch {
	case c.Kind == idsnap.KindUser:
		return c.ID, "", ""
	case c.Kind == idsnap.KindResource:
		return "", c.ID, ""
	case r != nil:
		return r.PrincipalID, r.ResourceID, r.EntitlementID
	}
	return "", "", ""
}

func explains(e idsnap.Event, c idsnap.Change) bool {
	user, org, ent := subject(c)
	switch c.Kind {
	case idsnap.KindUser:
		return e.UserID != "" && e.UserID == user && strings.HasPrefix(e.Type, "user.")
	case idsnap.KindResource:
		return strings.HasPrefix(e.Type, "organization.") && slices.Contains(e.Orgs, org)
	case idsnap.KindGrant:
		if e.UserID == "" || e.UserID != user {
			return false
		}
		if e.Type == "user.deleted" {
			return c.Type == idsnap.Revoked
		}
		// An event that lists what the user holds explains a grant it
		// shows (granted, changed) or no longer shows (revoked).
		return e.Entitlements != nil && slices.Contains(e.Entitlements, ent) == (c.Type != idsnap.Revoked)
	}
	return false
}

// holdings is what user events say of one user: which entitlements it
// holds after each event, and the event that first showed each.
type holdings struct {
	known   bool // an event has said what it holds
	ents    []string
	created *idsnap.Event            // the user.created that made it appear, in this window
	shown   map[string]*idsnap.Event // entitlement: the event that showed it appear
}

// transients replays a window's user events. A user created and deleted in
// it, or a grant shown appearing and then gone, with no change in the
// window about it (a change would mean a snapshot saw it), came and went
// unseen.
func transients(w Window, in []idsnap.Event) []Transient {
	seen := map[string]bool{} // users and user|entitlement grants a change is about
	for _, c := range w.Changes {
		user, _, ent := subject(c)
		seen[user] = true
		seen[user+"|"+ent] = true
	}
	var out []Transient
	gone := func(h *holdings, e *idsnap.Event, ent string) {
		first := h.shown[ent]
		delete(h.shown, ent)
		if first != nil && !seen[e.UserID+"|"+ent] {
			out = append(out, Transient{Source: w.Source, Kind: idsnap.KindGrant, UserID: e.UserID, Entitlement: ent, Appeared: *first, Vanished: *e})
		}
	}
	state := map[string]*holdings{}
	for i := range in {
		e := &in[i]
		if e.UserID == "" || !strings.HasPrefix(e.Type, "user.") {
			continue
		}
		h := state[e.UserID]
		if h == nil {
			h = &holdings{shown: map[string]*idsnap.Event{}}
			state[e.UserID] = h
		}
		switch {
		case e.Type == "user.deleted":
			for _, ent := range h.ents {
				gone(h, e, ent)
			}
			if h.created != nil && !seen[e.UserID] {
				out = append(out, Transient{Source: w.Source, Kind: idsnap.KindUser, UserID: e.UserID, Appeared: *h.created, Vanished: *e})
			}
			delete(state, e.UserID)
		case e.Entitlements != nil:
			if e.Type == "user.created" {
				h.created = e
			}
			for _, ent := range h.ents {
				if !slices.Contains(e.Entitlements, ent) {
					gone(h, e, ent)
				}
			}
			// A grant appears when an event shows it after one that did
			// not: the first event seen of a user is only a baseline.
			for _, ent := range e.Entitlements {
				if h.shown[ent] == nil && (e.Type == "user.created" || h.known && !slices.Contains(h.ents, ent)) {
					h.shown[ent] = e
				}
			}
			h.known, h.ents = true, e.Entitlements
		}
	}
	return out
}

// RenderEventNotes writes the notes after a diff or history in table or
// markdown: the events beside each change, then the transients. JSON and
// CSV output of diff and history is left as it is, one document a parser
// reads whole; idsnap events has the events in those formats.
func RenderEventNotes(w io.Writer, f Format, n *EventNotes) error {
	if n.Empty() || f == FormatJSON || f == FormatCSV {
		return nil
	}
	loc := n.Location
	if loc == nil {
		loc = time.UTC
	}
	ref := func(e idsnap.Event) string { return e.Type + " " + e.OccurredAt.In(loc).Format(time.RFC3339) }
	if len(n.Explained) > 0 {
		if _, err := fmt.Fprintln(w, "\nwebhook events beside the changes:"); err != nil {
			return err
		}
		t := Table{Header: []string{"SOURCE", "CHANGE", "KIND", "ID", "EVENTS"}}
		for _, x := range n.Explained {
			var refs []string
			for _, e := range x.Events {
				refs = append(refs, ref(e))
			}
			c := x.Change
			t.Rows = append(t.Rows, []string{c.Source, string(c.Type), string(c.Kind), c.ID, strings.Join(refs, "; ")})
		}
		if err := RenderTable(w, f, t); err != nil {
			return err
		}
	}
	if len(n.Transient) > 0 {
		if _, err := fmt.Fprintln(w, "\ntransient: appeared and vanished between the snapshots (seen only in webhook events):"); err != nil {
			return err
		}
		t := Table{Header: []string{"SOURCE", "KIND", "USER", "ENTITLEMENT", "APPEARED", "VANISHED"}}
		for _, x := range n.Transient {
			t.Rows = append(t.Rows, []string{x.Source, "transient " + string(x.Kind), x.UserID, x.Entitlement, ref(x.Appeared), ref(x.Vanished)})
		}
		return RenderTable(w, f, t)
	}
	return nil
}
