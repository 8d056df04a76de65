package zitadel

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idsnap/idsnap/fetch/zitadel/zitadeltest"
)

// samePage checks that ReadPage, where it accepts b, reads what
// json.Unmarshal reads, and accepts only what json.Unmarshal accepts. The
// Client calls ReadPage only on a valid body.
func samePage(t *testing.T, b []byte) bool {
	t.Helper()
	if !json.Valid(b) {
		return false
	}
	return sameRead(t, b, (*listResponse).ReadPage)
}

var pageCases = []struct {
	name string
	body string
	fast bool // ReadPage takes it
}{
	{"protojson", `{"details":{"totalResult":"2","processedSequence":"9","viewTimestamp":"2024-01-02T03:04:05Z"},"result":[{"id":"1"},{"id":"2","human":{"profile":{}}}]}`, true},
	{"number total", `{"details":{"totalResult":2},"result":[{"id":"1"},{"id":"2"}]}`, true},
	{"no result", `{"details":{"totalResult":"0"}}`, true},
	{"empty result", `{"details":{},"result":[]}`, true},
	{"null result", `{"details":null,"result":null}`, true},
	{"null total", `{"details":{"totalResult":null}}`, true},
	{"quoted null total", `{"details":{"totalResult":"null"}}`, true},
	{"empty total", `{"details":{"totalResult":""}}`, true},
	{"whitespace", " \n{ \"details\" : { \"totalResult\" : \"1\" } ,\t\"result\" : [ {\"id\" : \"1\"} , null , 7 , \"x\" , [ ] ] } \r\n", true},
	{"other members", `{"sortingColumn":"X","details":{"x":[1,{"totalResult":"9"}]},"result":[],"more":{"result":[1]}}`, true},
	{"duplicate details merge", `{"details":{"totalResult":"3"},"details":{"viewTimestamp":"x"}}`, true},
	{"duplicate total: last", `{"details":{"totalResult":"3","totalResult":"4"}}`, true},
	{"duplicate result: last", `{"result":[{"id":"1"},{"id":"2"}],"result":[{"id":"3"}]}`, true},
	{"result then null", `{"result":[{"id":"1"}],"result":null}`, true},
	{"result then empty", `{"result":[{"id":"1"}],"result":[]}`, true},
	{"empty object", `{}`, true},
	{"null page", `null`, false},
	{"array page", `[]`, false},
	{"string page", `"x"`, false},
	{"case-folded details", `{"Details":{"totalResult":"2"}}`, false},
	{"case-folded result", `{"RESULT":[1]}`, false},
	{"case-folded total", `{"details":{"totalresult":"2"}}`, false},
	{"kelvin key", "{\"details\":{\"totalResult\":\"1\"},\"re\u017fult\":[1]}", false},
	{"escaped key", `{"d\u0065tails":{"totalResult":"2"}}`, false},
	{"escaped total key", `{"details":{"total\u0052esult":"2"}}`, false},
	{"escaped total value", `{"details":{"totalResult":"\u0032"}}`, false},
	{"negative total", `{"details":{"totalResult":"-1"}}`, false},
	{"fraction total", `{"details":{"totalResult":1.0}}`, false},
	{"huge total", `{"details":{"totalResult":"18446744073709551616"}}`, false},
	{"max total", `{"details":{"totalResult":"18446744073709551615"}}`, true},
	{"object total", `{"details":{"totalResult":{}}}`, false},
	{"bool total", `{"details":{"totalResult":true}}`, false},
	{"string details", `{"details":"x"}`, false},
	{"array details", `{"details":[]}`, false},
	{"object result", `{"result":{}}`, false},
	{"string result", `{"result":"x"}`, false},
	{"number result", `{"result":1}`, false},
}

func TestReadPage(t *testing.T) {
	for _, tt := range pageCases {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid([]byte(tt.body)) {
				t.Fatalf("case is not JSON: %s", tt.body)
			}
			if got := samePage(t, []byte(tt.body)); got != tt.fast {
				t.Errorf("ReadPage(%s) = %v, want %v", tt.body, got, tt.fast)
			}
		})
	}
}

// fakePage returns the body the fake answers a POST of body to path with.
func fakePage(t testing.TB, h http.Handler, path, body string) []byte {
	t.Helper()
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+zitadeltest.DefaultPAT)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	page, _ := io.ReadAll(w.Result().Body)
	if w.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", path, w.Code, page)
	}
	return page
}

// BenchmarkPage decodes a 1000-user page and a 1000-grant page of the
// fake as the Client does: ReadPage, or json.Unmarshal as before it.
func BenchmarkPage(b *testing.B) {
	tenant := zitadeltest.Generate(5, 2000, 1)
	h := zitadeltest.NewHandler(tenant, zitadeltest.Config{})
	pid := tenant.Projects()[0].ID
	for _, c := range []struct{ name, path, body string }{
		{"users", "/management/v1/users/_search", `{"query":{"limit":1000}}`},
		{"grants", "/management/v1/users/grants/_search", `{"query":{"limit":1000},"queries":[{"projectIdQuery":{"projectId":"` + pid + `"}}]}`},
	} {
		page := fakePage(b, h, c.path, c.body)
		b.Run(c.name+"/ReadPage", func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				var p listResponse
				if !p.ReadPage(page) {
					b.Fatal("declined")
				}
			}
		})
		b.Run(c.name+"/Unmarshal", func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				var p listResponse
				if err := json.Unmarshal(page, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestReadPageFake reads every kind of page the fake serves: all of them
// on the fast path, equal to json.Unmarshal.
func TestReadPageFake(t *testing.T) {
	tenant := zitadeltest.Generate(5, 300, 3)
	h := zitadeltest.NewHandler(tenant, zitadeltest.Config{})
	pid := tenant.Projects()[0].ID
	for _, c := range []struct{ path, body string }{
		{"/management/v1/users/_search", `{"query":{"offset":"0","limit":100,"asc":true}}`},
		{"/management/v1/users/_search", `{"query":{"offset":"250","limit":100}}`},
		{"/management/v1/users/_search", `{"query":{"offset":"1000","limit":100}}`},
		{"/management/v1/projects/_search", `{"query":{"limit":100}}`},
		{"/management/v1/projects/" + pid + "/roles/_search", `{"query":{"limit":100}}`},
		{"/management/v1/users/grants/_search", `{"query":{"limit":1000},"queries":[{"projectIdQuery":{"projectId":"` + pid + `"}}]}`},
		{"/admin/v1/orgs/_search", `{"query":{"limit":10}}`},
	} {
		body := fakePage(t, h, c.path, c.body)
		if !samePage(t, body) {
			t.Errorf("%s %s: ReadPage declined the fake's page", c.path, c.body)
		}
	}
}

// FuzzPageReader compares ReadPage with json.Unmarshal.
func FuzzPageReader(f *testing.F) {
	for _, tt := range pageCases {
		f.Add([]byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, b []byte) { samePage(t, b) })
}
