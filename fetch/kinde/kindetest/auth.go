package kindetest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
)

// tokenEndpoint is POST /oauth2/token: client credentials in the form
// (client_secret_post) or in Basic auth, and the audience
// <base URL>/api, as Kinde's docs describe. Errors are OAuth2 bodies.
func (h *handler) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request is missing a required parameter or is otherwise malformed.")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != h.cfg.ClientID || secret != h.cfg.ClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method).")
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	want := scheme + "://" + r.Host + "/api"
	if aud := r.PostForm.Get("audience"); aud != want || h.cfg.NotAuthorized {
		oauthError(w, http.StatusForbidden, "invalid_request", "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed. Requested audience '"+aud+"' has not been whitelisted by the OAuth 2.0 Client.")
		return
	}
	granted := map[string]bool{}
	for _, s := range h.cfg.Scopes {
		granted[s] = true
	}
	scopes := granted
	if req := strings.Fields(r.PostForm.Get("scope")); len(req) > 0 {
		scopes = map[string]bool{}
		for _, s := range req {
			if !granted[s] {
				oauthError(w, http.StatusForbidden, "invalid_scope", "The requested scope is invalid, unknown, or malformed. The OAuth 2.0 Client is not allowed to request scope '"+s+"'.")
				return
			}
			scopes[s] = true
		}
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := "kinde_fake_" + hex.EncodeToString(b)
	h.mu.Lock()
	h.tokens[tok] = token{expires: h.cfg.Now().Add(h.cfg.TokenTTL), scopes: scopes}
	h.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_in":   int(h.cfg.TokenTTL.Seconds()),
		"scope":        r.PostForm.Get("scope"),
		"token_type":   "Bearer",
	})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// api checks the bearer token and its scope before serving next. A
// missing, unknown or expired token gets 403 "invalid credentials", the
// only auth failure the spec documents; a token without the endpoint's
// scope gets 403 SCOPE_MISSING, the body Kinde's troubleshooting docs show.
func (h *handler) api(scope string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		h.mu.Lock()
		tok, known := h.tokens[raw]
		if known && !h.cfg.Now().Before(tok.expires) {
			delete(h.tokens, raw)
			known = false
		}
		h.mu.Unlock()
		switch {
		case !ok || !known:
			apiError(w, http.StatusForbidden, "TOKEN_INVALID", "Invalid credentials used to access API")
		case !tok.scopes[scope]:
			apiError(w, http.StatusForbidden, "SCOPE_MISSING", "Scope is missing: "+scope)
		default:
			next(w, r)
		}
	}
}
