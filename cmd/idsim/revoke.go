package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// An access review's revocations are carried out by people in the
// provider's console; idsim stands in for that with one control call that
// removes a user from a Kinde organization, so the demo can show a
// campaign's revoke decisions proven done by the next pull.
//
//	idsim revoke --control URL --org CODE --user ID

// kindeRevoke serves POST /_idsim/kinde/revoke?org=CODE&user=ID.
func kindeRevoke(w *world, log io.Writer) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		org, user := r.URL.Query().Get("org"), r.URL.Query().Get("user")
		if err := w.kinde.RemoveMember(org, user); err != nil {
			http.Error(rw, err.Error(), http.StatusNotFound)
			return
		}
		fmt.Fprintf(log, "idsim: kinde: removed %s from organization %s\n", user, org)
		writeJSON(rw, map[string]string{"removed": user, "org": org})
	}
}

// revoke asks a running idsim to remove a user from a Kinde organization.
func revoke(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("idsim revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	control := fs.String("control", getenv("IDSIM_CONTROL"), "control `URL` of the running idsim (default $IDSIM_CONTROL)")
	org := fs.String("org", "", "Kinde organization `CODE`")
	user := fs.String("user", "", "Kinde user `ID`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *control == "" || *org == "" || *user == "" {
		return errors.New("revoke: pass --control URL (or set IDSIM_CONTROL), --org CODE and --user ID")
	}
	q := url.Values{"org": {*org}, "user": {*user}}
	u := strings.TrimRight(*control, "/") + "/_idsim/kinde/revoke?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoke: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "idsim: kinde: removed %s from organization %s\n", *user, *org)
	return nil
}
