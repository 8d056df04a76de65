package kinde_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/kinde"
	"github.com/idsnap/idsnap/fetch/kinde/kindetest"
)

// bodyTransport answers the token endpoint with a token and every other
// request with body: the fuzzers decode arbitrary bytes without a network.
type bodyTransport struct{ body []byte }

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body := b.body
	if strings.HasSuffix(r.URL.Path, "/oauth2/token") {
		body = []byte(`{"access_token":"kinde_fuzz_token","expires_in":3600,"token_type":"Bearer"}`)
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
}

// FuzzDecode feeds any bytes to the users, organizations and members
// listings: no panic, and an error is one line.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"code":"OK","message":"Success","users":[{"id":"kp_1","email":"a@example.com","first_name":"A","is_suspended":false,"total_sign_ins":3,"last_signed_in":"2025-02-12T18:02:23.614638+00:00","created_on":"2025-02-12T18:02:23.614638+00:00","identities":[{"type":"email","identity":"a@example.com"}]}],"next_token":null}`))
	f.Add([]byte(`{"code":"OK","organizations":[{"code":"org_1","name":"Acme","is_default":true}],"organization_users":[{"id":"kp_1","email":"a@example.com","roles":["admin"]}],"next_token":null}`))
	f.Add([]byte(`{"users":[{"id":"kp_1","last_signed_in":"not a time","total_sign_ins":"3"}]}`))
	f.Add([]byte(`{"users":[{"id":""},{"id":"kp_1"},{"id":"kp_1"}],"next_token":"x"}`))
	f.Add([]byte(`{"users":null,"organizations":[{"code":null}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"users":[{"id":"kp_\u0000","first_name":"\ud800"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := fetch.NewClient(fetch.Options{MaxAttempts: 1, HTTPClient: &http.Client{Transport: bodyTransport{body}}})
		fe, err := kinde.New(idsnap.Source{Name: "k", Provider: "kinde", BaseURL: "https://fuzz.kinde.com", Settings: map[string]string{"client_id": kindetest.DemoClientID}, Secrets: map[string]idsnap.Secret{"client_secret": kindetest.DemoClientSecret}}, c)
		if err != nil {
			t.Fatal(err)
		}
		err = fe.Fetch(context.Background(), func(context.Context, idsnap.Record) error { return nil })
		if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("error is not one line: %q", err)
		}
	})
}
