package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
)

var evT0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// ev is an event; ents are the entitlements a user.created or
// user.updated shows (other user events do not say), or an organization
// event's codes.
func ev(n int, typ, user string, hours int, ents ...string) idsnap.Event {
	at := evT0.Add(time.Duration(hours) * time.Hour)
	e := idsnap.Event{Source: "kinde-prod", ID: fmt.Sprintf("event_%02d", n), Type: typ, UserID: user,
		OccurredAt: at, ReceivedAt: at.Add(2 * time.Second), Payload: json.RawMessage(`{"type":"` + typ + `"}`)}
	if !strings.HasPrefix(typ, "user.") {
		e.Orgs = ents
		return e
	}
	if typ == "user.created" || typ == "user.updated" {
		e.Entitlements = append([]string{}, ents...)
	}
	for _, ent := range ents {
		org, _, _ := strings.Cut(ent, ":")
		if !slices.Contains(e.Orgs, org) {
			e.Orgs = append(e.Orgs, org)
		}
	}
	return e
}

func memberChange(typ idsnap.ChangeType, user, ent string) idsnap.Change {
	org, _, _ := strings.Cut(ent, ":")
	r := &idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(user, ent), PrincipalID: user, ResourceID: org, EntitlementID: ent}
	c := idsnap.Change{Source: "kinde-prod", Type: typ, Kind: idsnap.KindGrant, ID: r.ID}
	if typ == idsnap.Revoked {
		c.Before = r
	} else {
		c.After = r
	}
	return c
}

// noteFixture: between two pulls a day apart, alice is added to org_a
// (the pull sees it), bob is deleted (seen), carol is created in org_b and
// deleted (never seen), dave, a member of org_c, is made its admin and
// demoted again (never seen), and erin's first event in the window shows
// org_d, which she may have held before: losing it then is no transient
// access (the pull saw the revoke).
func noteFixture() ([]Window, []idsnap.Event) {
	events := []idsnap.Event{
		ev(1, "user.updated", "kp_alice", 1, "org_a:member"),
		ev(2, "user.deleted", "kp_bob", 2),
		ev(3, "user.created", "kp_carol", 3, "org_b:member"),
		ev(4, "user.authenticated", "kp_carol", 4),
		ev(5, "user.deleted", "kp_carol", 5),
		ev(6, "user.updated", "kp_dave", 6, "org_c:member"),
		ev(7, "user.updated", "kp_dave", 7, "org_c:member", "org_c:role:admin"),
		ev(8, "user.updated", "kp_dave", 8, "org_c:member"),
		ev(9, "user.updated", "kp_erin", 9, "org_d:member"),
		ev(10, "user.updated", "kp_erin", 10),
		ev(11, "organization.updated", "", 11, "org_a"),
		ev(12, "user.updated", "kp_alice", 30, "org_x:member"), // after the window
	}
	w := Window{Source: "kinde-prod", From: evT0, To: evT0.Add(24 * time.Hour), Changes: []idsnap.Change{
		memberChange(idsnap.Granted, "kp_alice", "org_a:member"),
		{Source: "kinde-prod", Type: idsnap.Left, Kind: idsnap.KindUser, ID: "kp_bob"},
		{Source: "kinde-prod", Type: idsnap.Changed, Kind: idsnap.KindResource, ID: "org_a"},
		memberChange(idsnap.Revoked, "kp_erin", "org_d:member"),
	}}
	return []Window{w}, events
}

func TestNoteEvents(t *testing.T) {
	n := NoteEvents(noteFixture())
	var explained []string
	for _, x := range n.Explained {
		var ids []string
		for _, e := range x.Events {
			ids = append(ids, e.ID)
		}
		explained = append(explained, fmt.Sprint(x.Change.Type, " ", x.Change.ID, " ", ids))
	}
	want := []string{
		"granted kp_alice|org_a:member [event_01]",
		"left kp_bob [event_02]",
		"changed org_a [event_11]",
		"revoked kp_erin|org_d:member [event_10]",
	}
	if fmt.Sprint(explained) != fmt.Sprint(want) {
		t.Errorf("explained:\n%q\nwant\n%q", explained, want)
	}
	var transient []string
	for _, x := range n.Transient {
		transient = append(transient, fmt.Sprint(x.Kind, " ", x.UserID, " ", x.Entitlement, " ", x.Appeared.ID, "-", x.Vanished.ID))
	}
	wantT := []string{
		"grant kp_carol org_b:member event_03-event_05",
		"user kp_carol  event_03-event_05",
		"grant kp_dave org_c:role:admin event_07-event_08",
	}
	if fmt.Sprint(transient) != fmt.Sprint(wantT) {
		t.Errorf("transient:\n%q\nwant\n%q", transient, wantT)
	}
}

func TestRenderEventNotesGolden(t *testing.T) {
	n := NoteEvents(noteFixture())
	for _, f := range []Format{FormatTable, FormatMarkdown} {
		var b bytes.Buffer
		if err := RenderEventNotes(&b, f, n); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "event-notes."+string(f)+".golden", b.Bytes())
	}
	var b bytes.Buffer
	RenderEventNotes(&b, FormatJSON, n)
	RenderEventNotes(&b, FormatCSV, n)
	RenderEventNotes(&b, FormatTable, &EventNotes{})
	if b.Len() != 0 {
		t.Errorf("JSON, CSV or empty notes wrote %q; diff and history output must stay as it was", b.String())
	}
}

func TestRenderEventsGolden(t *testing.T) {
	_, events := noteFixture()
	events[0].Orgs = []string{"=cmd()", "org_b"} // a hostile cell for CSV
	for _, f := range []Format{FormatTable, FormatCSV, FormatMarkdown, FormatJSON} {
		var b bytes.Buffer
		if err := RenderEvents(&b, f, events[:3], nil); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "events."+string(f)+".golden", b.Bytes())
	}
}
