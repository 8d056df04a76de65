package kinde

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
)

// WebhookPathPrefix is where the listener serves each source:
// /webhooks/kinde/<source>.
const WebhookPathPrefix = "/webhooks/kinde/"

// MaxWebhookBody caps a webhook body. Kinde's largest event, a
// user.updated naming every organization of the user, is a few KiB.
const MaxWebhookBody = 256 << 10

// EventSink stores verified events. AddEvent returns false for an event id
// already stored (a replay), and must have made the event durable before
// it returns true.
type EventSink interface {
	AddEvent(ctx context.Context, e idsnap.Event) (bool, error)
}

// NewWebhookHandler serves POST /webhooks/kinde/<source> for each verifier
// (keyed by source name): verify, then store, then answer 200. Anything
// refused is answered with its 4xx and one log line, and stores nothing.
func NewWebhookHandler(verifiers map[string]*Verifier, sink EventSink, log *slog.Logger, now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &webhookHandler{verifiers: verifiers, sink: sink, log: log, now: now}
}

type webhookHandler struct {
	verifiers map[string]*Verifier
	sink      EventSink
	log       *slog.Logger
	now       func() time.Time
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := h.now()
	name, ok := strings.CutPrefix(r.URL.Path, WebhookPathPrefix)
	v := h.verifiers[name]
	if !ok || v == nil {
		h.refuse(w, r, name, &RejectError{http.StatusNotFound, "no Kinde source is served at " + r.URL.Path})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, r, name, &RejectError{http.StatusMethodNotAllowed, "method " + r.Method + " not allowed: webhooks are POSTed"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.refuse(w, r, name, &RejectError{http.StatusRequestEntityTooLarge, "body larger than the 256 KiB cap"})
		} else {
			h.refuse(w, r, name, &RejectError{http.StatusBadRequest, "read body: " + err.Error()})
		}
		return
	}
	ev, err := v.Verify(r.Context(), body, received)
	if err != nil {
		var rej *RejectError
		if !errors.As(err, &rej) {
			rej = &RejectError{http.StatusInternalServerError, err.Error()}
		}
		h.refuse(w, r, name, rej)
		return
	}
	added, err := h.sink.AddEvent(r.Context(), ev)
	if err != nil {
		// Not stored, so not acknowledged: Kinde delivers it again.
		h.refuse(w, r, name, &RejectError{http.StatusServiceUnavailable, "store event " + ev.ID + ": " + err.Error()})
		return
	}
	if added {
		h.log.Info("webhook stored", "source", name, "event_id", ev.ID, "type", ev.Type, "occurred_at", ev.OccurredAt)
	} else {
		h.log.Info("webhook replay ignored", "source", name, "event_id", ev.ID, "type", ev.Type)
	}
	w.WriteHeader(http.StatusOK)
}

// refuse answers rej's status with a one-line text body and logs it once.
func (h *webhookHandler) refuse(w http.ResponseWriter, r *http.Request, source string, rej *RejectError) {
	level := slog.LevelWarn
	if rej.Status >= 500 {
		level = slog.LevelError
	}
	h.log.Log(r.Context(), level, "webhook refused", "source", source, "status", rej.Status, "reason", rej.Reason, "remote", r.RemoteAddr)
	if rej.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "30")
	}
	http.Error(w, http.StatusText(rej.Status)+": "+rej.Reason, rej.Status)
}
