package zitadeltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The fake's answers are checked against the derived swagger files with a
// focused schema walk rather than kin-openapi: swagger 2 has no
// additionalProperties: false on these definitions, so a generic validator
// would accept a misspelled field, and protojson rules (zero values
// omitted, uint64 as strings) need checks of their own. Where swagger and
// the protos differ (limit is int64 in swagger, uint32 in the proto) the
// protos win; only responses are walked.
const specDir = "testdata"

type swagger struct {
	BasePath    string                    `json:"basePath"`
	Paths       map[string]map[string]op  `json:"paths"`
	Definitions map[string]map[string]any `json:"definitions"`
}

type op struct {
	Responses map[string]struct {
		Schema map[string]any `json:"schema"`
	} `json:"responses"`
}

func loadSpec(t *testing.T, name string) *swagger {
	t.Helper()
	b, err := os.ReadFile(specDir + "/" + name)
	if os.IsNotExist(err) {
		t.Fatalf("%s not found: %v", name, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var s swagger
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// walk checks v against schema and returns every violation.
func (s *swagger) walk(schema map[string]any, v any, at string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		def, ok := s.Definitions[strings.TrimPrefix(ref, "#/definitions/")]
		if !ok {
			return []string{at + ": unknown $ref " + ref}
		}
		schema = def
	}
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, at+": "+fmt.Sprintf(f, a...)) }
	typ, _ := schema["type"].(string)
	if typ == "" && schema["properties"] != nil {
		typ = "object"
	}
	switch typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("want an object, got %T", v)
			break
		}
		props, _ := schema["properties"].(map[string]any)
		for k, val := range m {
			p, ok := props[k].(map[string]any)
			if !ok {
				if schema["additionalProperties"] == nil {
					bad("field %q is not in the schema", k)
				}
				continue
			}
			errs = append(errs, s.walk(p, val, at+"."+k)...)
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("want an array, got %T", v)
			break
		}
		if len(a) == 0 {
			bad("empty array: protojson omits it")
		}
		items, _ := schema["items"].(map[string]any)
		for i, e := range a {
			errs = append(errs, s.walk(items, e, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("want a string, got %T %v", v, v)
			break
		}
		if str == "" {
			bad("empty string: protojson omits it")
		}
		if enum, ok := schema["enum"].([]any); ok {
			if !slices.Contains(enum, any(str)) {
				bad("%q is not one of %v", str, enum)
			}
			if def, _ := schema["default"].(string); def == str {
				bad("%q is the enum's zero value: protojson omits it", str)
			}
		}
		switch schema["format"] {
		case "uint64", "int64":
			if _, err := strconv.ParseUint(str, 10, 64); err != nil || str == "0" {
				bad("%q is not a non-zero uint64 string", str)
			}
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				bad("%q is not an RFC 3339 time", str)
			}
		}
	case "boolean":
		if b, ok := v.(bool); !ok || !b {
			bad("want true (false is omitted), got %v", v)
		}
	case "integer":
		if _, ok := v.(float64); !ok {
			bad("want a number, got %T", v)
		}
	}
	return errs
}

func TestResponsesMatchSwagger(t *testing.T) {
	mgmt := loadSpec(t, "zitadel-management.DERIVED.swagger.json")
	admin := loadSpec(t, "zitadel-admin.DERIVED.swagger.json")

	tenant := Generate(11, 40, 4)
	u := tenant.AddUser(User{UserName: "full", FirstName: "F", LastName: "L", DisplayName: "F L", NickName: "f",
		Language: "en", Email: "f@x.example", EmailVerified: true, Phone: "+41 1"})
	p := tenant.Projects()[0]
	g := tenant.AddGrant(u, p.ID, tenant.Roles(p.ID)[0].Key)
	tenant.SetGrantState(g, GrantInactive)
	tenant.SetUserState(tenant.Users()[0].ID, UserLocked)
	srv := NewServer(tenant, Config{})
	defer srv.Close()

	list := `{"query":{"offset":"0","limit":1000,"asc":true}}`
	for _, tc := range []struct {
		spec         *swagger
		method, path string // path as in the spec
		url, body    string
		pat          string
		status       string
	}{
		{mgmt, "get", "/orgs/me", "/orgs/me", "", "", "200"},
		{mgmt, "post", "/users/_search", "/users/_search", `{"query":{"limit":1000},"sortingColumn":"USER_FIELD_NAME_USER_NAME"}`, "", "200"},
		{mgmt, "post", "/projects/_search", "/projects/_search", list, "", "200"},
		{mgmt, "post", "/projects/{projectId}/roles/_search", "/projects/" + p.ID + "/roles/_search", list, "", "200"},
		{mgmt, "post", "/users/grants/_search", "/users/grants/_search", list, "", "200"},
		{admin, "post", "/orgs/_search", "/orgs/_search", `{"query":{"limit":10},"sortingColumn":"ORG_FIELD_NAME_NAME"}`, "", "200"},
		{mgmt, "post", "/users/_search", "/users/_search", list, "wrong", "default"},
		{mgmt, "post", "/users/_search", "/users/_search", `{"query":{"limit":5000}}`, "", "400"},
	} {
		t.Run(tc.path+" "+tc.status, func(t *testing.T) {
			op, ok := tc.spec.Paths[tc.path][tc.method]
			if !ok {
				t.Fatalf("%s %s is not in the spec", tc.method, tc.path)
			}
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, _ := http.NewRequest(strings.ToUpper(tc.method), srv.URL+tc.spec.BasePath+tc.url, body)
			req.Header.Set("Authorization", "Bearer "+cmpOr(tc.pat, DefaultPAT))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			if (tc.status == "200") != (resp.StatusCode == 200) {
				t.Fatalf("status %d: %s", resp.StatusCode, data)
			}
			var v any
			d := json.NewDecoder(bytes.NewReader(data))
			if err := d.Decode(&v); err != nil {
				t.Fatal(err)
			}
			for _, e := range tc.spec.walk(op.Responses[tc.status].Schema, v, "response") {
				t.Error(e)
			}
			if tc.status == "200" && tc.path != "/orgs/me" && !strings.Contains(string(data), `"result"`) {
				t.Errorf("no result in %s", data)
			}
		})
	}
}

// TestWalkCatches makes sure the walk fails on what it is meant to catch.
func TestWalkCatches(t *testing.T) {
	mgmt := loadSpec(t, "zitadel-management.DERIVED.swagger.json")
	schema := map[string]any{"$ref": "#/definitions/userv1User"}
	for _, bad := range []string{
		`{"user_name":"x"}`, `{"state":"ACTIVE"}`, `{"state":"USER_STATE_UNSPECIFIED"}`, `{"userName":""}`,
		`{"details":{"sequence":2}}`, `{"details":{"sequence":"0"}}`, `{"loginNames":[]}`, `{"human":{"email":{"isEmailVerified":false}}}`,
	} {
		var v any
		json.Unmarshal([]byte(bad), &v)
		if errs := mgmt.walk(schema, v, "user"); len(errs) == 0 {
			t.Errorf("walk(%s) found nothing wrong", bad)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
