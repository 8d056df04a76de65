package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/kinde"
)

type sink struct {
	mu     sync.Mutex
	events []idsnap.Event
}

func (s *sink) AddEvent(_ context.Context, e idsnap.Event) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
	return true, nil
}

// checkWebhook: idsim signs webhooks a listener verifies against the
// simulated Kinde's JWKS, over real HTTP.
func checkWebhook(t *testing.T, ep endpoints) {
	t.Helper()
	v, err := kinde.NewVerifier("kinde", ep.Kinde, fetch.NewClient(fetch.Options{MaxAttempts: 1}), kinde.VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	l := httptest.NewServer(kinde.NewWebhookHandler(map[string]*kinde.Verifier{"kinde": v}, s, nil, nil))
	defer l.Close()
	for _, typ := range []string{"user.updated", "user.deleted", "organization.updated", "role.created"} {
		q := url.Values{"url": {l.URL + kinde.WebhookPathPrefix + "kinde"}, "type": {typ}}
		resp, err := http.Post(ep.Control+"/_idsim/webhook?"+q.Encode(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Status  int    `json:"status"`
			EventID string `json:"event_id"`
		}
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != 200 || got.Status != 200 || got.EventID == "" {
			t.Errorf("webhook %s: control %d, listener %d", typ, resp.StatusCode, got.Status)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.events) != 4 {
		t.Errorf("listener stored %d events, want 4", len(s.events))
	}
}
