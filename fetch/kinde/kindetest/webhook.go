package kindetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Webhooks signs webhooks as a Kinde business does: a compact JWS, RS256,
// header {"alg","kid","typ":"JWT"} with a colon-separated fingerprint as
// kid, and the payload Kinde sends (event_id, type, source, timestamp,
// data), no iss, aud or exp (kinde-oss/webhook lib/main.test.ts). The
// server publishes its keys at /.well-known/jwks.
type Webhooks struct {
	mu   sync.Mutex
	keys []*rsa.PrivateKey // published; the last one signs
	n    int               // events made, for unique ids
	// Now dates events; nil: time.Now.
	Now func() time.Time
}

// NewWebhooks returns a signer with one fresh key.
func NewWebhooks() *Webhooks {
	w := &Webhooks{}
	w.Rotate(false)
	return w
}

// Rotate makes a new key the signing key. With keepOld the old keys stay
// published (Kinde's overlap during a rotation); without, only the new one.
func (w *Webhooks) Rotate(keepOld bool) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !keepOld {
		w.keys = nil
	}
	w.keys = append(w.keys, k)
}

// kid is Kinde's style of key id: a colon-separated fingerprint.
func kid(k *rsa.PrivateKey) string {
	sum := sha256.Sum256(k.N.Bytes())
	h := hex.EncodeToString(sum[:16])
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// JWKS is the published key set.
func (w *Webhooks) JWKS() jose.JSONWebKeySet {
	w.mu.Lock()
	defer w.mu.Unlock()
	var set jose.JSONWebKeySet
	for _, k := range w.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid(k), Algorithm: string(jose.RS256), Use: "sig"})
	}
	return set
}

func (w *Webhooks) serveJWKS(rw http.ResponseWriter, r *http.Request) {
	writeJSON(rw, http.StatusOK, w.JWKS())
}

// Sign signs payload (any JSON value) with the current key.
func (w *Webhooks) Sign(payload any) (string, error) {
	w.mu.Lock()
	k := w.keys[len(w.keys)-1]
	w.mu.Unlock()
	return SignWith(k, kid(k), payload)
}

// SignWith signs payload with any key, to forge tokens in tests.
func SignWith(k *rsa.PrivateKey, keyID string, payload any) (string, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), keyID)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, opts)
	if err != nil {
		return "", err
	}
	jws, err := s.Sign(b)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// Event builds a payload of type typ with data, a fresh event id and the
// current time, as Kinde would send it.
func (w *Webhooks) Event(typ string, data map[string]any) map[string]any {
	w.mu.Lock()
	w.n++
	n := w.n
	w.mu.Unlock()
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	var id [16]byte
	rand.Read(id[:])
	id[0], id[1] = byte(n>>8), byte(n)
	return map[string]any{
		"event_id":  "event_" + hex.EncodeToString(id[:]),
		"type":      typ,
		"source":    "admin",
		"timestamp": now().Format("2006-01-02T15:04:05.000000-07:00"),
		"data":      data,
	}
}

// UserData is the data of a user.* event about user id, with the
// organizations the tenant holds the user in now.
func (t *Tenant) UserData(id string) map[string]any {
	t.mu.RLock()
	defer t.mu.RUnlock()
	u, ok := t.users[id]
	if !ok {
		return map[string]any{"user": map[string]any{"id": id}}
	}
	orgs := []map[string]any{}
	for _, code := range t.codes.sorted() {
		m, ok := t.orgs[code].members[id]
		if !ok {
			continue
		}
		var roles any
		if len(m.Roles) > 0 {
			roles = m.Roles
		}
		orgs = append(orgs, map[string]any{"code": code, "roles": roles, "permissions": nil})
	}
	return map[string]any{"user": map[string]any{
		"id": u.ID, "email": nullable(u.Email), "first_name": u.FirstName, "last_name": u.LastName,
		"username": nullable(u.Username), "phone": nullable(u.Phone), "is_suspended": u.Suspended,
		"is_password_reset_requested": false, "organizations": orgs,
	}}
}

// Send POSTs a signed token to url as Kinde does (Content-Type
// application/jwt) and returns the status and body of the answer.
func Send(ctx context.Context, url, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(token)))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/jwt")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return 0, "", fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, string(b), nil
}

// SendEvent signs an event of type typ with data and sends it to url; it
// returns the answer's status and the event id.
func (w *Webhooks) SendEvent(ctx context.Context, url, typ string, data map[string]any) (int, string, error) {
	ev := w.Event(typ, data)
	tok, err := w.Sign(ev)
	if err != nil {
		return 0, "", err
	}
	status, _, err := Send(ctx, url, tok)
	return status, ev["event_id"].(string), err
}
