package ory_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/ory"
)

// bodyTransport answers every request with body and link as its Link
// header: the fuzzer decodes arbitrary bytes without a network.
type bodyTransport struct {
	body []byte
	link string
}

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{"Content-Type": {"application/json"}}
	if b.link != "" {
		h.Set("Link", b.link)
	}
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(bytes.NewReader(b.body)), Request: r}, nil
}

// FuzzDecode feeds any body and Link header to the identities listing: no
// panic, and an error is one line.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`[{"id":"5f0b9a4e-7d0c-4a5e-9a8e-2c4f1d0e6b7a","schema_id":"default","state":"active","traits":{"email":"a@example.com","name":{"first":"A","last":"B"}},"verifiable_addresses":[{"value":"a@example.com","verified":true,"via":"email"}],"metadata_public":null,"created_at":"2025-01-01T00:00:00Z"}]`), "")
	f.Add([]byte(`[{"id":"x","traits":"not an object","state":7}]`), `</admin/identities?page_size=500&page_token=abc>; rel="next"`)
	f.Add([]byte(`[{"id":"x"},{"id":"x"}]`), `<http://other.example/admin/identities?page_token=x>; rel="next"`)
	f.Add([]byte(`[null, 1, "s", [], {}]`), `<>; rel="next", <`)
	f.Add([]byte(`{}`), "")
	f.Fuzz(func(t *testing.T, body []byte, link string) {
		c := fetch.NewClient(fetch.Options{MaxAttempts: 1, HTTPClient: &http.Client{Transport: bodyTransport{body, link}}})
		fe, err := ory.New(idsnap.Source{Name: "o", Provider: "ory", BaseURL: "http://127.0.0.1:4434/"}, c)
		if err != nil {
			t.Fatal(err)
		}
		err = fe.Fetch(context.Background(), func(context.Context, idsnap.Record) error { return nil })
		if err != nil && strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("error is not one line: %q", err)
		}
	})
}
