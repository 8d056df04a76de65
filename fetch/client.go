package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/internal/jsonbytes"
)

// Options configure a Client. The zero value of every field takes a default.
type Options struct {
	// RequestsPerSecond caps the request rate; 0 leaves it to the provider
	// (SetDefaultRate) or unlimited.
	RequestsPerSecond float64
	// Timeout bounds one request, body included. Default 60s.
	Timeout time.Duration
	// MaxBody caps a response body. Default 64 MiB.
	MaxBody int64
	// MaxAttempts bounds tries of one request (429, 5xx, network). Default 6.
	MaxAttempts int
	// MaxWait bounds the total time one request may spend waiting to retry.
	// Default 3 minutes.
	MaxWait time.Duration
	// HTTPClient is the transport; nil takes a client with sane timeouts.
	HTTPClient *http.Client
	// Logger receives a debug line per request, never a header or a body.
	Logger *slog.Logger
	// Sleep waits between tries; tests replace it. It returns ctx.Err() when
	// ctx ends first.
	Sleep func(ctx context.Context, d time.Duration) error
	// Observer, when set, hears about each request and wait (progress).
	Observer func(Event)
}

// Event is what a Client tells its Observer.
type Event struct {
	Kind   string // "request", "retry", "ratelimited"
	Path   string
	Status int
	Wait   time.Duration
}

// Stats count a client's traffic.
type Stats struct {
	Requests    int64
	Retries     int64
	RateLimited int64
	Bytes       int64
}

// Client is the HTTP layer every provider uses. One Client serves one source;
// it is safe for concurrent use.
type Client struct {
	hc      *http.Client
	opts    Options
	limiter *rate.Limiter
	log     *slog.Logger
	body    BodyParser

	requests, retries, limited, bytes atomic.Int64
	ep                                endpointLog
}

// NewClient returns a client configured by opts.
func NewClient(opts Options) *Client {
	if opts.Timeout == 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = 64 << 20
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 6
	}
	if opts.MaxWait == 0 {
		opts.MaxWait = 3 * time.Minute
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	hc := opts.HTTPClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// The default keeps two idle connections a host: at concurrency 8
		// six of every eight requests closed theirs and dialed (and, over
		// TLS, shook hands) again.
		t.MaxIdleConnsPerHost = maxIdlePerHost
		hc = &http.Client{Transport: t}
	}
	// Never follow redirects: a redirect from an admin API means a wrong
	// base URL (Kratos' public port answers 307), and following one would
	// send the bearer token to wherever it points.
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cl := &Client{hc: &c, opts: opts, log: log, limiter: rate.NewLimiter(rate.Inf, 1), body: ParseBody}
	if opts.RequestsPerSecond > 0 {
		cl.limiter = rate.NewLimiter(rate.Limit(opts.RequestsPerSecond), max(1, int(opts.RequestsPerSecond)))
	}
	return cl
}

// SetDefaultRate applies a provider's default request rate when the source
// configured none. It is called while the fetcher is built, before any
// request. The bucket starts full: a limiter retuned with SetBurst keeps
// the one token it had, so a pull's first burst would be spaced out at
// the sustained rate.
func (c *Client) SetDefaultRate(rps float64, burst int) {
	if c.opts.RequestsPerSecond > 0 || rps <= 0 {
		return
	}
	c.limiter = rate.NewLimiter(rate.Limit(rps), max(1, burst))
}

// SetBodyParser sets how the provider's error bodies are read. Like
// SetDefaultRate, it is called before the first request.
func (c *Client) SetBodyParser(p BodyParser) { c.body = p }

// HTTPClient returns the underlying client, for libraries that need one
// (the OAuth2 token endpoint). It does not retry or rate-limit.
func (c *Client) HTTPClient() *http.Client { return c.hc }

// Logger returns the client's logger.
func (c *Client) Logger() *slog.Logger { return c.log }

// Stats returns the traffic so far.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Retries: c.retries.Load(), RateLimited: c.limited.Load(), Bytes: c.bytes.Load()}
}

// Request is one API call.
type Request struct {
	Method string
	URL    string
	Header http.Header
	// Body, when not nil, is sent as JSON.
	Body any
	// Token, when not empty, is sent as a bearer token.
	Token idsnap.Secret
	// GotHeader, when set, gets the headers of each 2xx answer as soon as
	// they arrive, before the body is read: a listing whose next page is
	// named in a header (Link) can ask for it meanwhile. A try whose body
	// then fails is retried, so it may be called more than once; the
	// response Do returns has the headers that count.
	GotHeader func(http.Header)
}

// Do sends r, retrying on 429 (after the provider's reset header), 5xx and
// network errors, and decodes a 2xx JSON body into out (unless out is nil).
// It returns the response, whose body is already consumed and closed, so
// the caller can read headers (Link). A non-2xx answer is an *HTTPError.
func (c *Client) Do(ctx context.Context, r Request, out any) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = json.Marshal(r.Body); err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("bad URL %q: %w", r.URL, err)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	c.ep.note(r.Method, u, body)
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		resp, data, err := c.once(ctx, r, body)
		retry, wait := c.shouldRetry(resp, err, attempt)
		if !retry || attempt >= c.opts.MaxAttempts || waited+wait > c.opts.MaxWait {
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, fmt.Errorf("%s %s: %w", r.Method, path, netError(err))
			}
			return resp, c.finish(r.Method, path, resp, data, out)
		}
		waited += wait
		c.retries.Add(1)
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		c.log.Debug("retry", "method", r.Method, "path", path, "status", status, "wait", wait, "attempt", attempt)
		c.observe(Event{Kind: "retry", Path: path, Status: status, Wait: wait})
		if err := c.opts.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// once sends one try and reads the body (capped).
func (c *Client) once(ctx context.Context, r Request, body []byte) (*http.Response, []byte, error) {
	if err := c.limiter.Wait(ctx); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, rd)
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	req.Header.Set("User-Agent", "idsnap/"+idsnap.Version)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token.Reveal())
	}
	c.requests.Add(1)
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if r.GotHeader != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		r.GotHeader(resp.Header)
	}
	data, err := readBody(resp, c.opts.MaxBody+1)
	c.bytes.Add(int64(len(data)))
	c.log.Debug("request", "method", r.Method, "path", req.URL.Path, "status", resp.StatusCode, "bytes", len(data), "elapsed", time.Since(start).Round(time.Millisecond))
	c.observe(Event{Kind: "request", Path: req.URL.Path, Status: resp.StatusCode})
	if err != nil {
		return nil, nil, err
	}
	if int64(len(data)) > c.opts.MaxBody {
		return resp, nil, &bodyTooLarge{max: c.opts.MaxBody}
	}
	return resp, data, nil
}

// readBody reads at most limit bytes of resp's body into a buffer sized
// from Content-Length when the server sent one: io.ReadAll grows from 512
// bytes by copying, about twice a page's size in copies and garbage.
// Without one (a chunked body: the ZITADEL fake's, and grpc-gateway's
// unless a proxy buffers it) it is read through a reused buffer.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	n := resp.ContentLength
	if n < 0 || n >= limit {
		return readUnsized(io.LimitReader(resp.Body, limit))
	}
	// One byte more than announced, so a body longer than its header is
	// noticed and read on (to limit) rather than cut.
	buf := make([]byte, 0, n+1)
	for {
		m, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			rest, err := io.ReadAll(io.LimitReader(resp.Body, limit-int64(len(buf))))
			return append(buf, rest...), err
		}
	}
}

// bodyBufs holds the buffers bodies of unknown length are read into, for
// reuse: io.ReadAll allocated about twice a body in growing chunks, each
// cleared first, and copied them into a slice of the final size (a
// ZITADEL page is half a megabyte: 5% of a re-pull's CPU). A sync.Pool
// loses its buffers at every collection, which a pull's allocation rate
// makes frequent (its buffers grew afresh: 0.21 s of a 6.8 s re-pull), so
// a bounded free list keeps them: at most maxBodyBufs buffers of at most
// maxPooledBody bytes each.
var bodyBufs = make(chan *bytes.Buffer, maxBodyBufs)

const (
	maxBodyBufs   = 16
	maxPooledBody = 4 << 20
)

// readUnsized reads r to the end into a slice of its own: a PageReader
// keeps sub-slices of it. Reading a 600 kB body: 1.40 MB and 25
// allocations with io.ReadAll, 0.61 MB and 3 here.
func readUnsized(r io.Reader) ([]byte, error) {
	var buf *bytes.Buffer
	select {
	case buf = <-bodyBufs:
		buf.Reset()
	default:
		buf = new(bytes.Buffer)
	}
	_, err := buf.ReadFrom(r)
	data := append([]byte{}, buf.Bytes()...)
	if buf.Cap() <= maxPooledBody {
		select {
		case bodyBufs <- buf:
		default:
		}
	}
	return data, err
}

type bodyTooLarge struct{ max int64 }

func (e *bodyTooLarge) Error() string {
	if e.max%(1<<20) == 0 {
		return fmt.Sprintf("response body larger than %d MiB; refusing to read it", e.max>>20)
	}
	return fmt.Sprintf("response body larger than %d bytes; refusing to read it", e.max)
}

func (c *Client) shouldRetry(resp *http.Response, err error, attempt int) (bool, time.Duration) {
	if err != nil {
		var big *bodyTooLarge
		if errors.As(err, &big) || errors.Is(err, context.Canceled) {
			return false, 0
		}
		return true, backoff(attempt)
	}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests:
		c.limited.Add(1)
		if d, ok := ResetAfter(resp.Header, time.Now()); ok {
			c.observe(Event{Kind: "ratelimited", Status: s, Wait: d})
			return true, d + jitter(d/10+100*time.Millisecond)
		}
		c.observe(Event{Kind: "ratelimited", Status: s})
		return true, backoff(attempt)
	case s == http.StatusInternalServerError, s == http.StatusBadGateway,
		s == http.StatusServiceUnavailable, s == http.StatusGatewayTimeout:
		return true, backoff(attempt)
	}
	return false, 0
}

func (c *Client) finish(method, path string, resp *http.Response, data []byte, out any) error {
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &HTTPError{Method: method, Path: path, Status: resp.StatusCode, ContentType: ct,
			Body: data[:min(len(data), maxErrorBody)], Location: resp.Header.Get("Location")}
		// An HTML page (a redirect stub, a proxy's error page) is no message:
		// Error() says what it is instead.
		if !looksHTML(ct, data) {
			e.Code, e.Message = c.body(data)
		}
		if d, ok := ResetAfter(resp.Header, time.Now()); ok {
			e.RetryAfter = d
		}
		return e
	}
	if out == nil {
		return nil
	}
	if looksHTML(ct, data) || (ct != "" && !strings.Contains(ct, "json")) {
		return &DecodeError{Method: method, Path: path, ContentType: ct, Err: errors.New("the base URL may not point at the admin API")}
	}
	if r, ok := out.(PageReader); ok && jsonbytes.Valid(data) {
		if r.ReadPage(data) {
			return nil
		}
		// What ReadPage filled before it declined must not survive into
		// json.Unmarshal's result.
		reflect.ValueOf(out).Elem().SetZero()
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &DecodeError{Method: method, Path: path, Err: err}
	}
	return nil
}

// maxIdlePerHost is how many idle connections the Client keeps to one
// host: above any source's concurrency.
const maxIdlePerHost = 64

// PageReader is a response type that decodes itself faster than
// json.Unmarshal: a page of a thousand users went through encoding/json's
// scanner twice (validation, then decoding), the largest cost of a
// re-pull after the store's. Client validates the body once before
// ReadPage, which may therefore skip values without checking them, and
// may keep sub-slices of data: each response has a body of its own.
// ReadPage returns false for anything it does not handle exactly as
// json.Unmarshal would (an escaped key, a value of another type); the
// Client then zeroes the value and decodes the body with json.Unmarshal,
// so results and errors stay encoding/json's.
type PageReader interface {
	ReadPage(data []byte) bool
}

func (c *Client) observe(e Event) {
	if c.opts.Observer != nil {
		c.opts.Observer(e)
	}
}

// ResetAfter reads how long a 429 asks us to wait from the headers the three
// providers use: Retry-After (standard), RateLimit-Reset (Kinde),
// X-RateLimit-Reset (Ory Network). Each may be seconds or an HTTP date; a
// reset that is a Unix time is accepted too.
func ResetAfter(h http.Header, now time.Time) (time.Duration, bool) {
	for _, k := range []string{"Retry-After", "RateLimit-Reset", "X-RateLimit-Reset"} {
		v := strings.TrimSpace(h.Get(k))
		if v == "" {
			continue
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
			if n > 1e9 { // a Unix time, not a delay
				return max(0, time.Unix(int64(n), 0).Sub(now)), true
			}
			return time.Duration(n * float64(time.Second)), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(0, t.Sub(now)), true
		}
	}
	return 0, false
}

// backoff is exponential with full jitter: 0.5s, 1s, 2s, ... capped at 30s.
func backoff(attempt int) time.Duration {
	d := min(30*time.Second, 500*time.Millisecond<<min(attempt-1, 6))
	return d/2 + jitter(d/2)
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// netError turns transport errors into what a user can act on.
func netError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "no such host"):
		return fmt.Errorf("%w (check the host name in the base URL)", err)
	case strings.Contains(msg, "connection refused"):
		return fmt.Errorf("%w (is the server running, and is the port in the base URL right?)", err)
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"), strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fmt.Errorf("%w (use http:// for this server, or the right port)", err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("request timed out: %w", err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), strings.Contains(msg, "connection reset"):
		return fmt.Errorf("%w (the server closed the connection without answering; pull again later, or check any proxy in front of the API)", err)
	}
	return err
}
