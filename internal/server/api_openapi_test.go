package server_test

import (
	"encoding/json"
	"github.com/berriz/berriz/internal/account"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/server"
	"github.com/berriz/berriz/internal/server/servertest"
)

// mustOpenAPI fetches the served document, anonymously, and decodes it.
func mustOpenAPI(t *testing.T, env *servertest.Env) map[string]any {
	t.Helper()
	resp, body := env.Anonymous(t).Get("/api/v1/openapi.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("openapi.json: %d", resp.StatusCode)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return doc
}

// resolveRef follows a local $ref ("#/a/b/c") to what it names.
func resolveRef(t *testing.T, doc map[string]any, node map[string]any) map[string]any {
	t.Helper()
	for i := 0; i < 10; i++ {
		r, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		var cur any = doc
		for _, part := range strings.Split(strings.TrimPrefix(r, "#/"), "/") {
			m, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("$ref %s does not resolve", r)
			}
			cur = m[part]
		}
		if node, ok = cur.(map[string]any); !ok {
			t.Fatalf("$ref %s does not resolve", r)
		}
	}
	t.Fatal("$ref loop")
	return nil
}

var routeParamRE = regexp.MustCompile(`:([a-z_]+)`)

// The document describes the API as it is: every /api/v1 route and no
// other, each with its security, a success answer and every error it can
// give; every reference resolves; a request body is declared exactly where
// the server reads one.
func TestOpenAPIDocument(t *testing.T) {
	f := mustAPIFixture(t)
	env := f.env
	doc := mustOpenAPI(t, env)

	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi %q, want 3.1.x", v)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] != "berriz" || info["version"] != "1" || info["description"] == "" {
		t.Errorf("info %v", info)
	}
	if servers, _ := doc["servers"].([]any); len(servers) != 1 || servers[0].(map[string]any)["url"] != "/api/v1" {
		t.Errorf("servers %v", doc["servers"])
	}
	schemes := resolveRef(t, doc, map[string]any{"$ref": "#/components/securitySchemes"})
	if b, _ := schemes["bearerAuth"].(map[string]any); b["type"] != "http" || b["scheme"] != "bearer" {
		t.Errorf("bearerAuth %v", b)
	}
	if ck, _ := schemes["cookieAuth"].(map[string]any); ck["in"] != "cookie" || !strings.Contains(ck["description"].(string), "X-CSRF-Token") {
		t.Errorf("cookieAuth %v", ck)
	}
	checkOpenAPIRefs(t, doc, doc)

	paths, _ := doc["paths"].(map[string]any)
	documented := map[string]bool{}
	for p, item := range paths {
		for method := range item.(map[string]any) {
			documented[strings.ToUpper(method)+" "+p] = true
		}
	}
	b := env.API(t, f.op)
	for _, r := range env.Server.Routes() {
		docPath, ok := strings.CutPrefix(r.Path, "/api/v1")
		if !ok || !strings.HasPrefix(docPath, "/") {
			continue
		}
		docPath = routeParamRE.ReplaceAllString(docPath, "{$1}")
		key := r.Method + " " + docPath
		if !documented[key] {
			t.Errorf("%s %s is not in the document", r.Method, r.Path)
			continue
		}
		delete(documented, key)
		op := paths[docPath].(map[string]any)[strings.ToLower(r.Method)].(map[string]any)
		checkAPIOperation(t, doc, r, docPath, op)

		// The server reads a body exactly where the document declares
		// one: only there does a body of the wrong type answer 415.
		live := routeParamRE.ReplaceAllString(r.Path, "999999")
		caller, headers := b, []string{"Content-Type", "text/plain"}
		if r.Access == account.Session {
			caller = f.session(t, f.operator)
			headers = append(headers, "X-CSRF-Token", caller.CSRF)
		}
		resp, body := caller.Do(r.Method, live, strings.NewReader("x"), headers...)
		_, declared := op["requestBody"]
		if got := resp.StatusCode == http.StatusUnsupportedMediaType; got != declared {
			t.Errorf("%s %s: text/plain body answers %d; requestBody declared: %v\n%s", r.Method, live, resp.StatusCode, declared, body)
		}
	}
	for key := range documented {
		t.Errorf("%s is documented but not routed", key)
	}
}

// checkAPIOperation checks one operation against what its route can answer.
func checkAPIOperation(t *testing.T, doc map[string]any, r server.Route, docPath string, op map[string]any) {
	t.Helper()
	name := r.Method + " " + docPath
	sec, ok := op["security"].([]any)
	switch {
	case !ok:
		t.Errorf("%s declares no security", name)
	case r.Access == server.Public && len(sec) != 0:
		t.Errorf("%s is public but declares security %v", name, sec)
	case r.Access != server.Public && len(sec) == 0:
		t.Errorf("%s (access %s) declares an empty security", name, r.Access)
	}
	for _, req := range sec {
		for scheme := range req.(map[string]any) {
			resolveRef(t, doc, map[string]any{"$ref": "#/components/securitySchemes/" + scheme})
		}
	}
	if id, _ := op["operationId"].(string); id == "" {
		t.Errorf("%s has no operationId", name)
	}

	responses, _ := op["responses"].(map[string]any)
	success := false
	for code, resp := range responses {
		if code[0] == '2' {
			success = true
		}
		if code[0] == '4' || code[0] == '5' {
			// Every error answer is the Error object.
			content := resolveRef(t, doc, resp.(map[string]any))["content"].(map[string]any)
			schema := content["application/json"].(map[string]any)["schema"].(map[string]any)
			if schema["$ref"] != "#/components/schemas/Error" {
				t.Errorf("%s %s: schema %v, want Error", name, code, schema)
			}
		}
	}
	if !success {
		t.Errorf("%s declares no 2xx answer", name)
	}

	// The error answers the route can give, derived from what it is.
	var want []string
	write := r.Method != http.MethodGet
	if r.Access != server.Public {
		want = append(want, "401")
		if write || r.Access != server.SignedIn {
			want = append(want, "403") // read-only tokens, roles, CSRF
		}
	}
	params := map[string]bool{}
	for _, p := range jsonMaps(op["parameters"]) {
		p = resolveRef(t, doc, p)
		params[p["in"].(string)+":"+p["name"].(string)] = true
		if in := p["in"].(string); in == "query" && p["name"] != "page" && p["name"] != "q" {
			want = append(want, "400") // a query parameter that is checked
		}
	}
	for _, m := range routeParamRE.FindAllStringSubmatch(r.Path, -1) {
		want = append(want, "404")
		if !params["path:"+m[1]] {
			t.Errorf("%s does not declare its path parameter %s", name, m[1])
		}
	}
	if _, ok := op["requestBody"]; ok {
		want = append(want, "400", "413", "415")
		if r.Method != http.MethodPost && r.Method != http.MethodPatch && r.Method != http.MethodPut {
			t.Errorf("%s: a request body on %s", name, r.Method)
		}
	}
	sort.Strings(want)
	for _, code := range slices.Compact(want) {
		if _, ok := responses[code]; !ok {
			t.Errorf("%s does not declare its %s answer", name, code)
		}
	}
}

// checkOpenAPIRefs fails on any $ref of the document that does not resolve.
func checkOpenAPIRefs(t *testing.T, doc map[string]any, node any) {
	t.Helper()
	switch n := node.(type) {
	case map[string]any:
		if _, ok := n["$ref"].(string); ok {
			resolveRef(t, doc, n)
		}
		for _, v := range n {
			checkOpenAPIRefs(t, doc, v)
		}
	case []any:
		for _, v := range n {
			checkOpenAPIRefs(t, doc, v)
		}
	}
}

func jsonMaps(v any) []map[string]any {
	var out []map[string]any
	list, _ := v.([]any)
	for _, m := range list {
		out = append(out, m.(map[string]any))
	}
	return out
}

// The document is served for clients to revalidate cheaply.
func TestOpenAPIServedWithETag(t *testing.T) {
	env := servertest.MustStart(t, servertest.Options{})
	b := env.Anonymous(t)
	resp, body := b.Get("/api/v1/openapi.json")
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" || resp.Header.Get("Cache-Control") != "no-cache" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !json.Valid([]byte(body)) {
		t.Fatalf("openapi.json: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = b.Get("/api/v1/openapi.json", "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("revalidation: %d %q", resp.StatusCode, body)
	}
	resp, _ = b.Get("/api/v1/openapi.json", "If-None-Match", `"stale"`)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("stale ETag: %d", resp.StatusCode)
	}
}
