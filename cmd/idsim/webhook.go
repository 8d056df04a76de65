package main

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/idsnap/idsnap/fetch/kinde"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
)

// webhook serves POST /_idsim/webhook?url=URL&type=TYPE[&user=ID][&org=CODE]:
// it signs a Kinde webhook of TYPE (default user.updated) about a user of
// the simulated business (the first when user is not given) or an
// organization, as Kinde would, sends it to URL (an idsnap listen) and
// answers with the listener's status and the event id.
func webhook(rw http.ResponseWriter, r *http.Request, w *world, hooks *kindetest.Webhooks) {
	q := r.URL.Query()
	target := q.Get("url")
	if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		http.Error(rw, "url must be the listener's webhook URL, such as http://127.0.0.1:8787/webhooks/kinde/kinde", http.StatusBadRequest)
		return
	}
	typ := q.Get("type")
	if typ == "" {
		typ = "user.updated"
	}
	object, ok := kinde.EventTypes[typ]
	if !ok {
		http.Error(rw, fmt.Sprintf("unknown event type %q", typ), http.StatusBadRequest)
		return
	}
	var data map[string]any
	switch object {
	case "user":
		id := q.Get("user")
		if id == "" {
			ids := w.kinde.UserIDs()
			if len(ids) == 0 {
				http.Error(rw, "the simulated business has no user", http.StatusConflict)
				return
			}
			id = ids[0]
		}
		data = w.kinde.UserData(id)
	case "organization":
		code := q.Get("org")
		if code == "" {
			code = w.kinde.OrgCodes()[0]
		}
		o, _ := w.kinde.Org(code)
		data = map[string]any{"organization": map[string]any{"code": code, "name": o.Name, "handle": nil, "external_id": nil}}
	default:
		data = map[string]any{object: map[string]any{"id": object + "_idsim", "user_id": q.Get("user")}}
	}
	status, id, err := hooks.SendEvent(r.Context(), target, typ, data)
	if err != nil {
		http.Error(rw, "send: "+err.Error(), http.StatusBadGateway)
		return
	}
	writeJSON(rw, map[string]any{"status": status, "event_id": id, "type": typ})
}
