package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// sdkProxy is a reverse proxy between an SDK and the test server that
// records every exchange and can hide the server's response to chosen
// requests. A hidden response makes the SDK believe the request failed after
// the server had committed it, so the SDK sends the same events again.
type sdkProxy struct {
	target string // base URL of the server

	// hide lists the 1-based numbers of the POST requests whose 2xx response
	// the proxy replaces by a 503 once the server has handled them.
	hide map[int]bool

	mu        sync.Mutex
	posts     int
	exchanges []sdkExchange
	server    *httptest.Server
}

// sdkExchange is one request as the SDK sent it and the response it got.
type sdkExchange struct {
	Method string
	Path   string // with the query string, if any
	Header http.Header
	Body   []byte // decompressed when Content-Encoding is gzip
	Status int    // what the SDK got
	Hidden bool   // whether the server's 2xx response was replaced by a 503
	Reply  []byte // the server's response body
}

// startSDKProxy starts a proxy on a free loopback port in front of target.
func startSDKProxy(t *testing.T, target string, hide ...int) *sdkProxy {
	t.Helper()
	p := &sdkProxy{target: target, hide: map[int]bool{}}
	for _, n := range hide {
		p.hide[n] = true
	}
	p.server = httptest.NewServer(http.HandlerFunc(p.serveHTTP))
	t.Cleanup(p.server.Close)
	return p
}

// URL returns the proxy's base URL, which the SDK is given as its host.
func (p *sdkProxy) URL() string { return p.server.URL }

func (p *sdkProxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "test proxy: reading the request body failed: "+err.Error(), http.StatusBadGateway)
		return
	}

	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(raw))
	if err != nil {
		http.Error(w, "test proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, "test proxy: forwarding failed: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, "test proxy: reading the response failed: "+err.Error(), http.StatusBadGateway)
		return
	}

	ex := sdkExchange{
		Method: r.Method,
		Path:   r.URL.RequestURI(),
		Header: r.Header.Clone(),
		Body:   decodedBody(r.Header, raw),
		Status: resp.StatusCode,
		Reply:  reply,
	}
	p.mu.Lock()
	if r.Method == http.MethodPost {
		p.posts++
		if p.hide[p.posts] && resp.StatusCode/100 == 2 {
			ex.Status, ex.Hidden = http.StatusServiceUnavailable, true
		}
	}
	p.exchanges = append(p.exchanges, ex)
	p.mu.Unlock()

	if ex.Hidden {
		http.Error(w, "test proxy: the server stored this request, but the proxy hides its response so that the SDK retries", ex.Status)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(reply)
}

// Exchanges returns a copy of the exchanges so far.
func (p *sdkProxy) Exchanges() []sdkExchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.exchanges)
}

// checkExchanges fails the test when a request got a status other than 2xx
// from the server, and logs each distinct request shape once, so that `go
// test -v` shows what the SDK sent.
func (p *sdkProxy) checkExchanges(t *testing.T, sdk string) {
	t.Helper()
	exchanges := p.Exchanges()
	if len(exchanges) == 0 {
		t.Fatalf("%s sent no request through the proxy", sdk)
	}

	hidden := 0
	shapes := map[string]int{}
	var order []string
	for _, ex := range exchanges {
		if ex.Hidden {
			hidden++
		} else if ex.Status/100 != 2 {
			t.Errorf("%s: %s %s got %d from the server:\nrequest headers: %v\nrequest body: %s\nresponse: %s",
				sdk, ex.Method, ex.Path, ex.Status, ex.Header, truncateForLog(ex.Body), truncateForLog(ex.Reply))
		}
		shape := describeExchange(ex)
		if shapes[shape] == 0 {
			order = append(order, shape)
		}
		shapes[shape]++
	}
	if hidden != len(p.hide) {
		t.Errorf("%s: the proxy hid %d responses, want %d (did the SDK send fewer requests than planned?)", sdk, hidden, len(p.hide))
	}

	// The counts prove that a retry was not stored twice only if the SDK
	// did retry: each hidden request must come again with the same items.
	for i, ex := range exchanges {
		if !ex.Hidden {
			continue
		}
		want := batchItemKeys(ex.Body)
		resent := false
		for _, later := range exchanges[i+1:] {
			if later.Status/100 == 2 && slices.Equal(batchItemKeys(later.Body), want) {
				resent = true
				break
			}
		}
		if !resent {
			t.Errorf("%s did not send the items of hidden request %s %s again (%d items)", sdk, ex.Method, ex.Path, len(want))
		}
	}

	for _, shape := range order {
		t.Logf("%s sent %d× %s", sdk, shapes[shape], shape)
	}
}

// describeExchange returns one line with the method, path, authentication,
// content headers and body shape of a request, with secrets masked.
func describeExchange(ex sdkExchange) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", ex.Method, maskQuery(ex.Path))
	fmt.Fprintf(&b, " auth=%s", describeAuth(ex.Header.Get("Authorization")))
	for _, h := range []string{"Content-Type", "Content-Encoding"} {
		if v := ex.Header.Get(h); v != "" {
			fmt.Fprintf(&b, " %s=%s", h, v)
		}
	}
	fmt.Fprintf(&b, " body=%s", describeJSON(ex.Body))
	if ex.Hidden {
		b.WriteString(" -> server 2xx, hidden as 503")
	} else {
		fmt.Fprintf(&b, " -> %d", ex.Status)
	}
	return b.String()
}

// describeAuth names the Authorization scheme and whether Basic credentials
// hold a user name, a password or both, never the secret itself.
func describeAuth(header string) string {
	if header == "" {
		return "none"
	}
	scheme, credentials, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "basic") {
		return scheme + "(token)"
	}
	decoded, err := base64.StdEncoding.DecodeString(credentials)
	if err != nil {
		return "Basic(not base64)"
	}
	user, password, _ := strings.Cut(string(decoded), ":")
	return fmt.Sprintf("Basic(user=key:%t,password=%t)", user != "", password != "")
}

// maskQuery replaces the values of query parameters that may hold a key.
func maskQuery(path string) string {
	u, err := url.Parse(path)
	if err != nil || u.RawQuery == "" {
		return path
	}
	q := u.Query()
	for _, k := range []string{"token", "api_key", "writeKey"} {
		if q.Has(k) {
			q.Set(k, "…")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// describeJSON summarises a JSON body as its keys: top-level keys, and for
// an array its length, the keys that any of its elements has and their
// "type" values and "$" event names, such as
// {api_key,batch[10]{event,...}<$identify>,sent_at}. Other values are left out.
func describeJSON(body []byte) string {
	if len(body) == 0 {
		return "empty"
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Sprintf("not JSON (%d bytes)", len(body))
	}
	return describeValue(v, 0)
}

func describeValue(v any, depth int) string {
	switch v := v.(type) {
	case map[string]any:
		if depth >= 2 {
			return "{…}"
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			switch child := v[k].(type) {
			case []any, map[string]any:
				if depth < 1 || k == "properties" {
					keys[i] = k + describeValue(child, depth+1)
				}
			}
		}
		return "{" + strings.Join(keys, ",") + "}"
	case []any:
		return fmt.Sprintf("[%d]%s", len(v), describeElements(v, depth))
	}
	return ""
}

// describeElements returns the union of the keys of the objects in items,
// followed by the distinct "type" values and "$" event names among them.
func describeElements(items []any, depth int) string {
	union := map[string]any{}
	var kinds []string
	for _, item := range items {
		obj, ok := item.(map[string]any)
		if !ok {
			continue
		}
		for k, v := range obj {
			if _, seen := union[k]; !seen {
				union[k] = v
			}
		}
		kind, _ := obj["type"].(string)
		if event, _ := obj["event"].(string); strings.HasPrefix(event, "$") {
			kind = event
		}
		if kind != "" && !slices.Contains(kinds, kind) {
			kinds = append(kinds, kind)
		}
	}
	if len(union) == 0 {
		return ""
	}
	out := describeValue(union, depth)
	if len(kinds) > 0 {
		out += "<" + strings.Join(kinds, ",") + ">"
	}
	return out
}

// batchItemKeys returns a sorted key for each item of a batch body: its
// Segment messageId or PostHog uuid, or else its JSON without the fields an
// SDK may change when it resends a request.
func batchItemKeys(body []byte) []string {
	var top any
	if json.Unmarshal(body, &top) != nil {
		return nil
	}
	items, ok := top.([]any)
	if obj, isObject := top.(map[string]any); isObject {
		items, ok = obj["batch"].([]any)
		if !ok {
			items = []any{obj}
		}
	} else if !ok {
		return nil
	}

	keys := make([]string, 0, len(items))
	for _, item := range items {
		obj, _ := item.(map[string]any)
		key, _ := obj["messageId"].(string)
		if key == "" {
			key, _ = obj["uuid"].(string)
		}
		if key == "" {
			delete(obj, "sentAt")
			delete(obj, "sent_at")
			data, _ := json.Marshal(obj) // map keys are sorted
			key = string(data)
		}
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

// decodedBody returns the request body, decompressed when it is gzip.
func decodedBody(h http.Header, raw []byte) []byte {
	if !strings.EqualFold(h.Get("Content-Encoding"), "gzip") {
		return raw
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return raw
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return raw
	}
	return out
}

// truncateForLog shortens a body for a failure message.
func truncateForLog(b []byte) string {
	const max = 2000
	if len(b) <= max {
		return string(b)
	}
	return string(b[:max]) + "…"
}
