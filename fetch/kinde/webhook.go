package kinde

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
)

// JWKSPath is where a Kinde business publishes the keys its webhooks are
// signed with (docs.kinde.com/integrate/webhooks/about-webhooks).
const JWKSPath = "/.well-known/jwks"

// DefaultMaxSkew is how far a webhook's timestamp may be from the
// listener's clock. Kinde retries an unanswered webhook with back-off, and
// a retry may carry the first try's timestamp, so the window is wide; event
// ids, kept forever, are what stops a replay inside it.
const DefaultMaxSkew = 24 * time.Hour

// minRefetch spaces JWKS fetches caused by unknown kids, so a stream of
// forged tokens with random kids cannot make the listener hammer Kinde.
const minRefetch = 10 * time.Second

// RejectError is why a webhook was refused, with the HTTP status the
// listener answers.
type RejectError struct {
	Status int
	Reason string
}

func (e *RejectError) Error() string { return e.Reason }

func reject(status int, format string, args ...any) error {
	return &RejectError{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// Verifier checks the webhooks of one Kinde business.
type Verifier struct {
	source  string
	base    string
	c       *fetch.Client
	maxSkew time.Duration
	now     func() time.Time

	mu        sync.Mutex
	keys      *jose.JSONWebKeySet // nil until first fetched
	fetchedAt time.Time
}

// VerifierOptions tune a Verifier; zero values take the defaults.
type VerifierOptions struct {
	MaxSkew time.Duration    // 0: DefaultMaxSkew
	Now     func() time.Time // nil: time.Now
}

// NewVerifier returns the verifier of the webhooks of source, whose Kinde
// domain is rawBase. c fetches the JWKS.
func NewVerifier(source, rawBase string, c *fetch.Client, opts VerifierOptions) (*Verifier, error) {
	if err := fetch.Require(idsnap.Source{BaseURL: rawBase}, []fetch.Setting{Provider.URLSetting()}); err != nil {
		return nil, err
	}
	base, err := checkBase(rawBase)
	if err != nil {
		return nil, fmt.Errorf("base_url: %w", err)
	}
	if opts.MaxSkew <= 0 {
		opts.MaxSkew = DefaultMaxSkew
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Verifier{source: source, base: base, c: c, maxSkew: opts.MaxSkew, now: opts.Now}, nil
}

// JWKSURL is where the verifier reads the business's keys.
func (v *Verifier) JWKSURL() string { return v.base + JWKSPath }

// Verify checks a webhook body and returns its event. The body must be a
// compact JWS signed RS256 by a key of the business's JWKS; a kid the
// cached set lacks refetches it once (keys rotate). Kinde's webhook tokens
// carry no iss, aud or exp (docs/providers.md, Kinde: webhooks):
// the business's signature is what proves them, and the payload's
// timestamp dates them. A token that has an iss must name this business;
// one with an aud is an access or ID token of the business, not a webhook.
// A *RejectError says what to answer.
func (v *Verifier) Verify(ctx context.Context, body []byte, received time.Time) (idsnap.Event, error) {
	tok := strings.TrimSpace(string(body))
	sig, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return idsnap.Event{}, reject(http.StatusBadRequest, "body is not a compact RS256 JWS: %v", err)
	}
	if len(sig.Signatures) != 1 {
		return idsnap.Event{}, reject(http.StatusBadRequest, "body has %d signatures, want 1", len(sig.Signatures))
	}
	kid := sig.Signatures[0].Header.KeyID
	key, err := v.key(ctx, kid)
	if err != nil {
		return idsnap.Event{}, err
	}
	payload, err := sig.Verify(key)
	if err != nil {
		return idsnap.Event{}, reject(http.StatusUnauthorized, "bad signature (kid %q)", kid)
	}
	var claims jwt.Claims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return idsnap.Event{}, reject(http.StatusBadRequest, "payload is not a JSON object: %v", err)
	}
	if claims.Issuer != "" && strings.TrimRight(claims.Issuer, "/") != v.base {
		return idsnap.Event{}, reject(http.StatusUnauthorized, "wrong issuer %q: this source's tokens come from %s", claims.Issuer, v.base)
	}
	if len(claims.Audience) > 0 {
		return idsnap.Event{}, reject(http.StatusUnauthorized, "token has an audience %q: an access or ID token, not a webhook", strings.Join(claims.Audience, " "))
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Time: v.now()}, time.Minute); err != nil {
		return idsnap.Event{}, reject(http.StatusUnauthorized, "token not valid now: %v", err)
	}
	ev, err := parseEvent(payload)
	if err != nil {
		return idsnap.Event{}, err
	}
	if d := v.now().Sub(ev.OccurredAt); d > v.maxSkew || d < -v.maxSkew {
		return idsnap.Event{}, reject(http.StatusUnauthorized, "timestamp %s is %s from now, more than the allowed %s (--max-skew)",
			ev.OccurredAt.Format(time.RFC3339), d.Round(time.Second), v.maxSkew)
	}
	ev.Source = v.source
	ev.ReceivedAt = received
	return ev, nil
}

// key returns the public key named kid, fetching the JWKS when it is not
// cached or lacks kid (once, and not more often than minRefetch).
func (v *Verifier) key(ctx context.Context, kid string) (any, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys != nil {
		if k := findKey(v.keys, kid); k != nil {
			return k, nil
		}
		if v.now().Sub(v.fetchedAt) < minRefetch {
			return nil, reject(http.StatusUnauthorized, "unknown signing key %q: not in %s", kid, v.JWKSURL())
		}
	}
	keys, err := v.fetchKeys(ctx)
	if err != nil {
		// Kinde retries a webhook it could not deliver: 503 asks for that.
		return nil, reject(http.StatusServiceUnavailable, "%v", err)
	}
	v.keys, v.fetchedAt = keys, v.now()
	if k := findKey(keys, kid); k != nil {
		return k, nil
	}
	return nil, reject(http.StatusUnauthorized, "unknown signing key %q: not in %s", kid, v.JWKSURL())
}

// fetchKeys reads the JWKS.
func (v *Verifier) fetchKeys(ctx context.Context) (*jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if _, err := v.c.Do(ctx, fetch.Request{Method: http.MethodGet, URL: v.JWKSURL()}, &set); err != nil {
		return nil, fmt.Errorf("read the webhook signing keys: %w", err)
	}
	return &set, nil
}

// CheckJWKS fetches the JWKS and says how many RS256 signing keys it has.
func (v *Verifier) CheckJWKS(ctx context.Context) (int, error) {
	set, err := v.fetchKeys(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range set.Keys {
		if usable(k) {
			n++
		}
	}
	if n == 0 {
		return 0, errors.New("GET " + JWKSPath + ": no RSA signing key in the set")
	}
	return n, nil
}

// findKey returns the public key kid names, or nil. A token without a kid
// matches only a set of one key.
func findKey(set *jose.JSONWebKeySet, kid string) any {
	var found []jose.JSONWebKey
	if kid == "" {
		found = set.Keys
	} else {
		found = set.Key(kid)
	}
	var match any
	n := 0
	for _, k := range found {
		if usable(k) {
			match = k.Key
			n++
		}
	}
	if n != 1 {
		return nil
	}
	return match
}

// usable says whether k can check an RS256 signature: a public key (a
// private one in a published set is a publisher's mistake, not a key to
// trust more), meant for signatures.
func usable(k jose.JSONWebKey) bool {
	if _, rsa := k.Key.(*rsa.PublicKey); !rsa || !k.Valid() || (k.Use != "" && k.Use != "sig") {
		return false
	}
	if k.Algorithm != "" && k.Algorithm != string(jose.RS256) {
		return false
	}
	return true
}
