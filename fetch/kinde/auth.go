package kinde

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
)

// tokenSource holds the M2M access token. Kinde meters M2M tokens (the free
// plan includes a monthly quota), so one token serves every request until
// it expires or the API refuses it, across Fetch and Doctor alike.
type tokenSource struct {
	cfg clientcredentials.Config
	hc  *http.Client

	mu  sync.Mutex // held while fetching, so concurrent callers share one request
	tok *oauth2.Token
}

func newTokenSource(base string, src idsnap.Source, c *fetch.Client) *tokenSource {
	return &tokenSource{
		hc: c.HTTPClient(),
		cfg: clientcredentials.Config{
			ClientID:     src.Setting("client_id"),
			ClientSecret: src.Secret("client_secret").Reveal(),
			TokenURL:     base + "/oauth2/token",
			// The audience is the Management API, <domain>/api: not /api/v1,
			// whatever one docs page says (docs/providers.md, Kinde: base URL
			// and token).
			EndpointParams: url.Values{"audience": {base + "/api"}},
			// Kinde's docs send the credentials in the form (client_secret_post).
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// token returns a valid access token, fetching one when there is none or it
// is about to expire.
func (s *tokenSource) token(ctx context.Context) (idsnap.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok.Valid() {
		return idsnap.Secret(s.tok.AccessToken), nil
	}
	tok, err := s.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, s.hc))
	if err != nil {
		return "", tokenError(ctx, err)
	}
	s.tok = tok
	return idsnap.Secret(tok.AccessToken), nil
}

// invalidate drops tok when the API refused it (expired early, revoked), so
// the next call fetches a fresh one.
func (s *tokenSource) invalidate(tok idsnap.Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken == tok.Reveal() {
		s.tok = nil
	}
}

const tokenPath = "POST /oauth2/token"

// errInvalidClient is Kinde refusing the M2M app's client_id or secret.
var errInvalidClient = errors.New("invalid_client")

// tokenError turns a failed token request into one line saying what to fix.
// The bodies are those of Kinde's API troubleshooting docs.
func tokenError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		// A transport error: oauth2's text names the URL, never the secret,
		// which travels in the form body.
		msg, _ := strings.CutPrefix(err.Error(), "oauth2: cannot fetch token: ")
		return fmt.Errorf("get token: %s", oneLine(msg))
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	desc := oneLine(re.ErrorDescription)
	switch {
	case re.ErrorCode == "invalid_client":
		return fmt.Errorf("get token: %d from %s: %w: check client_id and client_secret of the M2M application", status, tokenPath, errInvalidClient)
	case strings.Contains(strings.ToLower(re.ErrorDescription), "audience"):
		return fmt.Errorf("get token: %d from %s: the audience was refused: authorize the M2M application for the Kinde Management API "+
			"(Settings > Applications > your M2M app > APIs), and use the https://<subdomain>.kinde.com domain as base_url, not a custom domain", status, tokenPath)
	case re.ErrorCode == "invalid_scope":
		return fmt.Errorf("get token: %d from %s: invalid_scope: %s", status, tokenPath, desc)
	case status == http.StatusNotFound:
		return fmt.Errorf("get token: 404 from %s: check base_url is your Kinde domain (https://<subdomain>.kinde.com) and client_id is the M2M application's", tokenPath)
	case re.ErrorCode != "":
		return fmt.Errorf("get token: %d from %s: %s: %s", status, tokenPath, re.ErrorCode, desc)
	case status == http.StatusTooManyRequests || status >= 500:
		return fmt.Errorf("get token: %d from %s: Kinde's token endpoint is unavailable or rate limited; pull again later", status, tokenPath)
	case status >= 300 && status < 400:
		return fmt.Errorf("get token: %d from %s: redirected; check base_url is your Kinde domain (https://<subdomain>.kinde.com)", status, tokenPath)
	case status != 0:
		return fmt.Errorf("get token: %d from %s: check base_url is your Kinde domain (https://<subdomain>.kinde.com)", status, tokenPath)
	}
	return fmt.Errorf("get token: %s", oneLine(strings.TrimPrefix(err.Error(), "oauth2: ")))
}

func oneLine(s string) string { return fetch.OneLine(s, 300) }

// get sends GET base+path?q with the access token and decodes the answer
// into out. When the API refuses a token it still holds (Kinde may expire
// a token before expires_in says, or the app's secret was rotated), it
// fetches a new token and tries once more.
func (f *Fetcher) get(ctx context.Context, path string, q url.Values, scope string, out any) error {
	u := f.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	for attempt := 0; ; attempt++ {
		tok, err := f.auth.token(ctx)
		if err != nil {
			return err
		}
		_, err = f.c.Do(ctx, fetch.Request{Method: http.MethodGet, URL: u, Token: tok}, out)
		var he *fetch.HTTPError
		if attempt == 0 && errors.As(err, &he) && isTokenRefused(he) {
			f.auth.invalidate(tok)
			continue
		}
		return explain(err, scope)
	}
}
