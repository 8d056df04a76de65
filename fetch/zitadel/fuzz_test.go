package zitadel_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/zitadel"
)

// bodyTransport answers every request with body: the fuzzer decodes
// arbitrary bytes without a network.
type bodyTransport struct{ body []byte }

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(b.body)), Request: r}, nil
}

// FuzzDecode feeds any bytes to the org, users, projects, roles and
// grants listings (one body answers them all): no panic, and an error is
// one line.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"details":{"totalResult":"1"},"result":[{"id":"280000000000000001","state":"USER_STATE_ACTIVE","userName":"a","human":{"profile":{"displayName":"A"},"email":{"email":"a@example.com","isEmailVerified":true}}}]}`))
	f.Add([]byte(`{"org":{"id":"1","name":"Acme"},"details":{"totalResult":"2"},"result":[{"id":"p1","name":"P"},{"key":"admin","displayName":"Admin"}]}`))
	f.Add([]byte(`{"details":{"totalResult":"18446744073709551615"},"result":[{"id":"1"}]}`))
	f.Add([]byte(`{"details":{"totalResult":3},"result":[{"id":"1","roleKeys":["a","a"],"userId":"u","projectId":"p"}]}`))
	f.Add([]byte(`{"details":{"totalResult":"-1"},"result":null}`))
	f.Add([]byte(`{"result":[{"id":{}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := fetch.NewClient(fetch.Options{MaxAttempts: 1, HTTPClient: &http.Client{Transport: bodyTransport{body}}})
		fe, err := zitadel.New(idsnap.Source{Name: "z", Provider: "zitadel", BaseURL: "https://fuzz.zitadel.cloud", Concurrency: 2, Secrets: map[string]idsnap.Secret{"pat": "pat"}}, c)
		if err != nil {
			t.Fatal(err)
		}
		err = fe.Fetch(context.Background(), func(context.Context, idsnap.Record) error { return nil })
		if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("error is not one line: %q", err)
		}
	})
}
