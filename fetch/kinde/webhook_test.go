package kinde_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/kinde"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
)

// memSink stores events in memory, refusing repeated ids as the event log
// does.
type memSink struct {
	mu     sync.Mutex
	events []idsnap.Event
	fail   error
}

func (s *memSink) AddEvent(_ context.Context, e idsnap.Event) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return false, s.fail
	}
	for _, old := range s.events {
		if old.Source == e.Source && old.ID == e.ID {
			return false, nil
		}
	}
	s.events = append(s.events, e)
	return true, nil
}

func (s *memSink) list() []idsnap.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]idsnap.Event(nil), s.events...)
}

func (s *memSink) failWith(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// clock is a settable time for the verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type listener struct {
	fake  *kindetest.Server
	sink  *memSink
	clock *clock
	url   string // the source's webhook URL
	base  string // the listener's root
	log   *bytes.Buffer
}

func newListener(t *testing.T) *listener {
	t.Helper()
	fake := newServer(t, kindetest.Generate(3, 5, 2), kindetest.Config{})
	clk := &clock{t: time.Now()}
	fake.Webhooks.Now = clk.now
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logBuf}, nil))
	cl := fetch.NewClient(fetch.Options{MaxAttempts: 1, Logger: log})
	v, err := kinde.NewVerifier("kinde-prod", fake.URL, cl, kinde.VerifierOptions{MaxSkew: time.Hour, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	srv := httptest.NewServer(kinde.NewWebhookHandler(map[string]*kinde.Verifier{"kinde-prod": v}, sink, log, clk.now))
	t.Cleanup(srv.Close)
	return &listener{fake: fake, sink: sink, clock: clk, url: srv.URL + kinde.WebhookPathPrefix + "kinde-prod", base: srv.URL, log: &logBuf}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (l *listener) send(t *testing.T, token string) (int, string) {
	t.Helper()
	status, body, err := kindetest.Send(context.Background(), l.url, token)
	if err != nil {
		t.Fatal(err)
	}
	return status, body
}

func (l *listener) sign(t *testing.T, payload any) string {
	t.Helper()
	tok, err := l.fake.Webhooks.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (l *listener) userEvent(typ string) map[string]any {
	return l.fake.Webhooks.Event(typ, l.fake.Tenant.UserData(l.fake.Tenant.UserIDs()[0]))
}

func TestWebhookStoresVerifiedEvent(t *testing.T) {
	l := newListener(t)
	uid := l.fake.Tenant.UserIDs()[0]
	ev := l.userEvent("user.updated")
	if status, body := l.send(t, l.sign(t, ev)); status != http.StatusOK {
		t.Fatalf("status %d %s, want 200", status, body)
	}
	if len(l.sink.list()) != 1 {
		t.Fatalf("stored %d events, want 1", len(l.sink.list()))
	}
	got := l.sink.list()[0]
	if got.Source != "kinde-prod" || got.ID != ev["event_id"] || got.Type != "user.updated" || got.UserID != uid {
		t.Errorf("stored %+v", got)
	}
	// The entitlements are named as a pull names them.
	var want []string
	for _, org := range ev["data"].(map[string]any)["user"].(map[string]any)["organizations"].([]map[string]any) {
		want = append(want, org["code"].(string)+":member")
		if roles, ok := org["roles"].([]string); ok {
			for _, r := range roles {
				want = append(want, org["code"].(string)+":role:"+r)
			}
		}
	}
	slices.Sort(want)
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got.Entitlements, want) || got.Entitlements == nil {
		t.Errorf("entitlements %#v, want %#v", got.Entitlements, want)
	}
	if d := got.OccurredAt.Sub(l.clock.now()); d > time.Millisecond || d < -time.Millisecond {
		t.Errorf("occurred_at %s, want the event's timestamp %s", got.OccurredAt, l.clock.now())
	}
	// Replays (or Kinde's retries) are acknowledged and stored once.
	if status, _ := l.send(t, l.sign(t, ev)); status != http.StatusOK || len(l.sink.list()) != 1 {
		t.Errorf("replay: status %d, %d events stored; want 200 and 1", status, len(l.sink.list()))
	}
	if !strings.Contains(l.log.String(), "webhook replay ignored") {
		t.Errorf("no replay log line:\n%s", l.log.String())
	}
}

// TestWebhookEveryEventType: every type Kinde publishes is accepted, with
// the ids its object names.
func TestWebhookEveryEventType(t *testing.T) {
	l := newListener(t)
	data := map[string]map[string]any{
		"user":           l.fake.Tenant.UserData(l.fake.Tenant.UserIDs()[0]),
		"organization":   {"organization": map[string]any{"code": "org_0123456789a", "name": "Acme", "handle": nil}},
		"role":           {"role": map[string]any{"id": "rol_1", "key": "admin", "name": "Admin"}},
		"permission":     {"permission": map[string]any{"id": "perm_1", "key": "read", "name": "Read"}},
		"subscriber":     {"subscriber": map[string]any{"id": "sub_1", "user_id": "kp_1", "email": "a@example.com"}},
		"access_request": {"access_request": map[string]any{"user_id": "kp_2", "email": "b@example.com"}},
	}
	for typ, object := range kinde.EventTypes {
		if status, body := l.send(t, l.sign(t, l.fake.Webhooks.Event(typ, data[object]))); status != http.StatusOK {
			t.Errorf("%s: status %d %s, want 200", typ, status, body)
		}
	}
	if len(l.sink.list()) != len(kinde.EventTypes) {
		t.Fatalf("stored %d events, want %d", len(l.sink.list()), len(kinde.EventTypes))
	}
	for _, e := range l.sink.list() {
		switch {
		case strings.HasPrefix(e.Type, "organization.") && (len(e.Orgs) != 1 || e.Orgs[0] != "org_0123456789a"),
			strings.HasPrefix(e.Type, "user.") && e.UserID == "",
			e.Type == "access_request.created" && e.UserID != "kp_2":
			t.Errorf("%s: ids %q %v", e.Type, e.UserID, e.Orgs)
		}
	}
}

// TestWebhookRefusals: each bad request gets its 4xx, one log line, and
// nothing stored.
func TestWebhookRefusals(t *testing.T) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		req    func(l *listener) (*http.Request, error)
		status int
		reason string
	}{
		{"unknown source path", func(l *listener) (*http.Request, error) {
			return post(l.base+kinde.WebhookPathPrefix+"kinde-staging", l.sign(t, l.userEvent("user.updated")))
		}, 404, "no Kinde source"},
		{"GET", func(l *listener) (*http.Request, error) {
			return http.NewRequest(http.MethodGet, l.url, nil)
		}, 405, "not allowed"},
		{"not a JWS", func(l *listener) (*http.Request, error) {
			return post(l.url, `{"type":"user.updated"}`)
		}, 400, "not a compact RS256 JWS"},
		{"unsigned (alg none)", func(l *listener) (*http.Request, error) {
			return post(l.url, "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ0eXBlIjoidXNlci51cGRhdGVkIn0.")
		}, 400, "not a compact RS256 JWS"},
		{"tampered payload", func(l *listener) (*http.Request, error) {
			tok := l.sign(t, l.userEvent("user.updated"))
			forged := l.sign(t, l.userEvent("user.deleted"))
			p := strings.Split(tok, ".")
			p[1] = strings.Split(forged, ".")[1]
			return post(l.url, strings.Join(p, "."))
		}, 401, "bad signature"},
		{"another key under the business's kid", func(l *listener) (*http.Request, error) {
			tok, err := kindetest.SignWith(other, l.fake.Webhooks.JWKS().Keys[0].KeyID, l.userEvent("user.updated"))
			if err != nil {
				return nil, err
			}
			return post(l.url, tok)
		}, 401, "bad signature"},
		{"another business's key", func(l *listener) (*http.Request, error) {
			tok, err := kindetest.SignWith(other, "aa:bb", l.userEvent("user.updated"))
			if err != nil {
				return nil, err
			}
			return post(l.url, tok)
		}, 401, "unknown signing key"},
		{"wrong issuer", func(l *listener) (*http.Request, error) {
			ev := l.userEvent("user.updated")
			ev["iss"] = "https://other.kinde.com"
			return post(l.url, l.sign(t, ev))
		}, 401, "wrong issuer"},
		{"an access token, not a webhook", func(l *listener) (*http.Request, error) {
			ev := l.userEvent("user.updated")
			ev["iss"], ev["aud"] = l.fake.URL, []string{"https://api.example.com"}
			return post(l.url, l.sign(t, ev))
		}, 401, "audience"},
		{"expired token", func(l *listener) (*http.Request, error) {
			ev := l.userEvent("user.updated")
			ev["exp"] = l.clock.now().Add(-time.Hour).Unix()
			return post(l.url, l.sign(t, ev))
		}, 401, "not valid now"},
		{"timestamp too old", func(l *listener) (*http.Request, error) {
			ev := l.userEvent("user.updated")
			ev["timestamp"] = l.clock.now().Add(-2 * time.Hour).Format(time.RFC3339)
			return post(l.url, l.sign(t, ev))
		}, 401, "more than the allowed 1h0m0s"},
		{"timestamp in the future", func(l *listener) (*http.Request, error) {
			ev := l.userEvent("user.updated")
			ev["timestamp"] = l.clock.now().Add(2 * time.Hour).Format(time.RFC3339)
			return post(l.url, l.sign(t, ev))
		}, 401, "more than the allowed"},
		{"oversized body", func(l *listener) (*http.Request, error) {
			return post(l.url, strings.Repeat("a", kinde.MaxWebhookBody+1))
		}, 413, "cap"},
		{"payload not a JSON object", func(l *listener) (*http.Request, error) {
			return post(l.url, l.sign(t, []string{"user.updated"}))
		}, 400, "not a JSON object"},
		{"no event id", func(l *listener) (*http.Request, error) {
			ev := l.userEvent("user.updated")
			delete(ev, "event_id")
			return post(l.url, l.sign(t, ev))
		}, 400, "event_id"},
		{"user event without user id", func(l *listener) (*http.Request, error) {
			return post(l.url, l.sign(t, l.fake.Webhooks.Event("user.deleted", map[string]any{"user": map[string]any{}})))
		}, 400, "needs data.user.id"},
		{"bad timestamp", func(l *listener) (*http.Request, error) {
			ev := l.userEvent("user.updated")
			ev["timestamp"] = "yesterday"
			return post(l.url, l.sign(t, ev))
		}, 400, "not RFC 3339"},
		{"unknown event type", func(l *listener) (*http.Request, error) {
			return post(l.url, l.sign(t, l.fake.Webhooks.Event("user.teleported", l.fake.Tenant.UserData(l.fake.Tenant.UserIDs()[0]))))
		}, 422, "unknown event type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newListener(t)
			req, err := tt.req(l)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.reason) {
				t.Errorf("answer %d %q, want %d containing %q", resp.StatusCode, body, tt.status, tt.reason)
			}
			if len(l.sink.list()) != 0 {
				t.Errorf("stored %d events, want none", len(l.sink.list()))
			}
			if n := strings.Count(l.log.String(), "webhook refused"); n != 1 {
				t.Errorf("%d log lines, want 1:\n%s", n, l.log.String())
			}
		})
	}
}

func post(url, body string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/jwt")
	}
	return req, err
}

// TestWebhookKeyRotation: a kid the cached JWKS lacks refetches it once;
// a kid still unknown is refused without another fetch.
func TestWebhookKeyRotation(t *testing.T) {
	l := newListener(t)
	if status, _ := l.send(t, l.sign(t, l.userEvent("user.updated"))); status != 200 {
		t.Fatalf("first webhook status %d", status)
	}
	fetches := func() int { return l.fake.Faults.Count(kinde.JWKSPath) }
	if fetches() != 1 {
		t.Fatalf("JWKS fetched %d times for the first webhook, want 1", fetches())
	}
	if status, _ := l.send(t, l.sign(t, l.userEvent("user.updated"))); status != 200 || fetches() != 1 {
		t.Fatalf("second webhook: status %d, %d fetches; want 200 from the cache", status, fetches())
	}
	l.fake.Webhooks.Rotate(false)
	l.clock.add(time.Minute)
	if status, body := l.send(t, l.sign(t, l.userEvent("user.updated"))); status != 200 || fetches() != 2 {
		t.Fatalf("after rotation: status %d %s, %d fetches; want 200 after one refetch", status, body, fetches())
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for range 3 {
		tok, _ := kindetest.SignWith(other, "de:ad", l.userEvent("user.updated"))
		if status, _ := l.send(t, tok); status != 401 {
			t.Errorf("unknown kid: status %d, want 401", status)
		}
	}
	if fetches() != 2 {
		t.Errorf("unknown kids right after a fetch refetched: %d fetches, want 2", fetches())
	}
	if len(l.sink.list()) != 3 {
		t.Errorf("stored %d events, want 3", len(l.sink.list()))
	}
}

// TestWebhookUnavailable: when the JWKS cannot be read or the event cannot
// be stored, the answer is 503, so Kinde delivers the webhook again.
func TestWebhookUnavailable(t *testing.T) {
	l := newListener(t)
	l.fake.Faults.FailNext(kinde.JWKSPath, 1, 500, nil, "")
	if status, _ := l.send(t, l.sign(t, l.userEvent("user.updated"))); status != 503 {
		t.Errorf("JWKS down: status %d, want 503", status)
	}
	l.sink.failWith(errors.New("disk full"))
	if status, _ := l.send(t, l.sign(t, l.userEvent("user.updated"))); status != 503 {
		t.Errorf("store failing: status %d, want 503", status)
	}
	if len(l.sink.list()) != 0 {
		t.Errorf("stored %d events", len(l.sink.list()))
	}
}

func TestVerifierCheckJWKS(t *testing.T) {
	l := newListener(t)
	v, err := kinde.NewVerifier("k", l.fake.URL+"/api/v1", fetch.NewClient(fetch.Options{MaxAttempts: 1}), kinde.VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.JWKSURL() != l.fake.URL+"/.well-known/jwks" {
		t.Errorf("JWKS URL %s", v.JWKSURL())
	}
	if n, err := v.CheckJWKS(context.Background()); n != 1 || err != nil {
		t.Errorf("CheckJWKS = %d, %v", n, err)
	}
}

// BenchmarkVerify: parsing and checking one webhook with the JWKS cached.
func BenchmarkVerify(b *testing.B) {
	fake := kindetest.NewServer(kindetest.Generate(3, 5, 2), kindetest.Config{})
	defer fake.Close()
	v, err := kinde.NewVerifier("k", fake.URL, fetch.NewClient(fetch.Options{MaxAttempts: 1}), kinde.VerifierOptions{})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := fake.Webhooks.Sign(fake.Webhooks.Event("user.updated", fake.Tenant.UserData(fake.Tenant.UserIDs()[0])))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := v.Verify(ctx, []byte(tok), time.Now()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := v.Verify(ctx, []byte(tok), time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
