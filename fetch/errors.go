package fetch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// HTTPError is a response the provider answered with a status idsnap does not
// accept. Providers turn it into hints (a missing scope, a wrong key) with
// errors.As.
type HTTPError struct {
	Method string
	Path   string // URL path only: queries may carry tokens
	Status int
	// Code and Message come from the provider's error body when it has one
	// of the known shapes (Kinde errors[], Ory error{}, ZITADEL gateway).
	Code    string
	Message string
	// Body is the start of the response body, for providers that look deeper.
	Body        []byte
	ContentType string
	Location    string        // for 3xx: where the server wanted to send us
	RetryAfter  time.Duration // from the reset headers on 429, when given
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d from %s %s", e.Status, e.Method, e.Path)
	switch {
	case e.Code != "" && e.Message != "":
		fmt.Fprintf(&b, ": %s: %s", e.Code, e.Message)
	case e.Message != "":
		fmt.Fprintf(&b, ": %s", e.Message)
	case e.Code != "":
		fmt.Fprintf(&b, ": %s", e.Code)
	case e.Location != "":
		fmt.Fprintf(&b, ": redirected to %s", e.Location)
	case looksHTML(e.ContentType, e.Body):
		b.WriteString(": the server answered with an HTML page, not the API")
	}
	return b.String()
}

// maxErrorBody bounds what an error keeps of a body.
const maxErrorBody = 8 << 10

// parseErrorBody reads the error shapes of the three providers:
//
//	Kinde:   {"errors":[{"code":"SCOPE_MISSING","message":"..."}]} (an object for ROUTE_NOT_FOUND)
//	Ory:     {"error":{"code":404,"status":"Not Found","reason":"...","message":"..."}}
//	ZITADEL: {"code":16,"message":"Token is invalid (AUTH-7fs1e)","details":[...]}
//	OAuth2:  {"error":"invalid_client","error_description":"..."}
func parseErrorBody(body []byte) (code, message string) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		if len(body) > 0 && !looksHTML("", body) {
			return "", oneLine(string(body), 200)
		}
		return "", ""
	}
	var v struct {
		Errors      json.RawMessage `json:"errors"`
		Error       json.RawMessage `json:"error"`
		Description string          `json:"error_description"`
		Code        json.RawMessage `json:"code"`
		Message     string          `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", ""
	}
	type item struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if len(v.Errors) > 0 {
		var list []item
		if json.Unmarshal(v.Errors, &list) == nil && len(list) > 0 {
			return list[0].Code, oneLine(list[0].Message, 300)
		}
		var one item
		if json.Unmarshal(v.Errors, &one) == nil {
			return one.Code, oneLine(one.Message, 300)
		}
	}
	if len(v.Error) > 0 {
		var s string
		if json.Unmarshal(v.Error, &s) == nil {
			return s, oneLine(v.Description, 300)
		}
		var o struct {
			Status  string `json:"status"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		}
		if json.Unmarshal(v.Error, &o) == nil {
			msg := o.Message
			if o.Reason != "" {
				msg = o.Reason
			}
			return o.Status, oneLine(msg, 300)
		}
	}
	if v.Message != "" {
		return strings.Trim(string(v.Code), `"`), oneLine(v.Message, 300)
	}
	return "", ""
}

func looksHTML(contentType string, body []byte) bool {
	if strings.Contains(contentType, "html") {
		return true
	}
	b := bytes.ToLower(bytes.TrimSpace(body[:min(len(body), 64)]))
	return bytes.HasPrefix(b, []byte("<!doctype html")) || bytes.HasPrefix(b, []byte("<html"))
}

// oneLine keeps provider text from breaking idsnap's one-line errors.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// DecodeError is a 2xx response whose body is not the JSON the API documents.
type DecodeError struct {
	Method, Path string
	ContentType  string
	Err          error
}

func (e *DecodeError) Error() string {
	what := "malformed JSON"
	if e.ContentType != "" && !strings.Contains(e.ContentType, "json") {
		what = fmt.Sprintf("expected JSON, got %s", e.ContentType)
	}
	return fmt.Sprintf("%s %s: %s: %v", e.Method, e.Path, what, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }
