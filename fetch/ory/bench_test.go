package ory

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch/ory/orytest"
	"github.com/idsnap/idsnap/internal/jsonbytes"
)

// BenchmarkPageRecords reads a page of 500 of the fake's identities and
// turns them into records, as the listing does between requests: the
// fetcher's own CPU per identity, without the network or the store.
func BenchmarkPageRecords(b *testing.B) {
	h := orytest.NewHandler(orytest.Generate(42, 500), orytest.Config{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/admin/identities?page_size=500", nil))
	if w.Code != http.StatusOK {
		b.Fatalf("fake answered %d", w.Code)
	}
	body := w.Body.Bytes()
	emit := func(context.Context, idsnap.Record) error { return nil }
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var p arrayBody // read as the client reads it: validated, then ReadPage
		if !jsonbytes.Valid(body) || !p.ReadPage(body) {
			b.Fatal("page declined")
		}
		if err := emitEach(context.Background(), p.items(), emit); err != nil {
			b.Fatal(err)
		}
	}
}
