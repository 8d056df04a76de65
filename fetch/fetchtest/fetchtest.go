// Package fetchtest injects faults into a provider fake: 429 storms with or
// without reset headers, 5xx, slow or cut-off bodies, latency per page. Every
// fake (kindetest, orytest, zitadeltest) wraps its handler in Faults, so
// tests and idsim share one way to misbehave. Like net/http/httptest it is an
// ordinary package and never imports testing.
package fetchtest

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault is one planned misbehaviour for requests whose path starts with
// Path. Times counts how many requests it hits; 0 means every request.
type Fault struct {
	Path   string
	Times  int
	Status int         // answer with this status instead of the real handler
	Header http.Header // extra headers on that answer (Retry-After, RateLimit-Reset, ...)
	Body   string      // its body; a JSON body should set Content-Type in Header
	Delay  time.Duration
	// Hijack closes the connection without an answer (a connection reset).
	Hijack bool
	// Truncate lets the real handler answer, then cuts the body to this
	// many bytes (truncated JSON).
	Truncate int
}

// Faults wraps a handler and applies planned faults in order. The zero value
// is ready to use.
type Faults struct {
	// Latency is added to every request (a page's round trip).
	Latency time.Duration

	mu     sync.Mutex
	faults []*Fault
	log    []string
}

// Add plans f.
func (fs *Faults) Add(f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = append(fs.faults, &f)
}

// FailNext answers the next n requests under path with status and headers h.
func (fs *Faults) FailNext(path string, n, status int, h http.Header, body string) {
	fs.Add(Fault{Path: path, Times: n, Status: status, Header: h, Body: body})
}

// Reset drops every planned fault.
func (fs *Faults) Reset() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = nil
}

// Requests returns "METHOD /path?query" for every request seen, in order.
func (fs *Faults) Requests() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]string(nil), fs.log...)
}

// Count returns how many requests went to paths starting with prefix.
func (fs *Faults) Count(prefix string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := 0
	for _, l := range fs.log {
		if _, p, _ := strings.Cut(l, " "); strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

func (fs *Faults) take(path string) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.faults {
		if !strings.HasPrefix(path, f.Path) {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				fs.faults = append(fs.faults[:i:i], fs.faults[i+1:]...)
			}
		}
		c := *f
		return &c
	}
	return nil
}

// Wrap returns h with the faults applied.
func (fs *Faults) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.log = append(fs.log, r.Method+" "+r.URL.RequestURI())
		lat := fs.Latency
		fs.mu.Unlock()
		f := fs.take(r.URL.Path)
		if d := lat + delay(f); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case f == nil:
			h.ServeHTTP(w, r)
		case f.Hijack:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		case f.Truncate > 0:
			rec := &truncWriter{ResponseWriter: w, left: f.Truncate}
			h.ServeHTTP(rec, r)
		case f.Status != 0:
			for k, vs := range f.Header {
				w.Header()[k] = vs
			}
			w.WriteHeader(f.Status)
			w.Write([]byte(f.Body))
		default:
			h.ServeHTTP(w, r)
		}
	})
}

func delay(f *Fault) time.Duration {
	if f == nil {
		return 0
	}
	return f.Delay
}

type truncWriter struct {
	http.ResponseWriter
	left int
}

func (t *truncWriter) WriteHeader(code int) {
	t.ResponseWriter.Header().Del("Content-Length")
	t.ResponseWriter.WriteHeader(code)
}

func (t *truncWriter) Write(p []byte) (int, error) {
	n := len(p)
	if t.left <= 0 {
		return n, nil
	}
	if len(p) > t.left {
		p = p[:t.left]
	}
	t.left -= len(p)
	_, err := t.ResponseWriter.Write(p)
	return n, err
}

// AnswerTimeout is the per-request timeout of fault tests in which stalled
// requests time out and the retries then answer. The answering requests must
// finish within it under -race on a loaded two-core machine: at one second
// they did not (a 1,200-user page), and the test failed by the clock.
const AnswerTimeout = 3 * time.Second
