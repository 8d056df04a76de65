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
	// Code and Message come from the error body, read by the provider's
	// BodyParser.
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
	b.WriteString(e.head())
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

// head is what every API error starts with: "403 from GET /api/v1/users".
func (e *HTTPError) head() string {
	return fmt.Sprintf("%d from %s %s", e.Status, e.Method, e.Path)
}

// maxErrorBody bounds what an error keeps of a body.
const maxErrorBody = 8 << 10

// BodyParser reads the code and message of a provider's error body into
// an HTTPError. Each provider knows its own shape and sets its parser with
// Client.SetBodyParser, falling back on ParseBody for the rest.
type BodyParser func(body []byte) (code, message string)

// ParseBody reads the error bodies no provider owns: OAuth2's
// {"error":"invalid_client","error_description":"..."} (RFC 6749 §5.2), a
// bare {"code":...,"message":"..."}, and a short plain-text body, as a
// proxy sends. An HTML page is no message: HTTPError says what it is.
func ParseBody(body []byte) (code, message string) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		if len(body) > 0 && !looksHTML("", body) {
			return "", OneLine(string(body), 200)
		}
		return "", ""
	}
	var v struct {
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
		Code        json.RawMessage `json:"code"`
		Message     string          `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", ""
	}
	if v.Error != "" {
		return v.Error, OneLine(v.Description, 300)
	}
	if v.Message != "" {
		return strings.Trim(string(v.Code), `"`), OneLine(v.Message, 300)
	}
	return "", ""
}

// Hint is an API error explained: what went wrong and what the user should
// change, on one line. It unwraps to the error it explains, so callers
// still reach the *HTTPError and its status with errors.As.
type Hint struct {
	Err error
	// What, when set, replaces the provider's own words after the head of
	// an *HTTPError: "403 from GET /api/v1/users: <What>".
	What string
	// Fix is what to change, after "; ". Empty when there is nothing to say.
	Fix string
}

func (h *Hint) Error() string {
	s := h.Err.Error()
	if he, ok := h.Err.(*HTTPError); ok && h.What != "" {
		s = he.head() + ": " + h.What
	}
	if h.Fix != "" {
		s += "; " + h.Fix
	}
	return s
}

// Unwrap returns the explained error.
func (h *Hint) Unwrap() error { return h.Err }

func looksHTML(contentType string, body []byte) bool {
	if strings.Contains(contentType, "html") {
		return true
	}
	b := bytes.ToLower(bytes.TrimSpace(body[:min(len(body), 64)]))
	return bytes.HasPrefix(b, []byte("<!doctype html")) || bytes.HasPrefix(b, []byte("<html"))
}

// OneLine keeps provider text from breaking idsnap's one-line errors: it
// folds white space and cuts s at max bytes.
func OneLine(s string, max int) string {
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
