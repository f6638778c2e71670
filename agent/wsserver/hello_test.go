package wsserver

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// hello asks GET or OPTIONS /v1/hello of the agent at the WebSocket url.
func hello(t *testing.T, wsURL, method, origin string, extra ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, "http"+strings.TrimPrefix(strings.TrimSuffix(wsURL, Path), "ws")+HelloPath, nil)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// A page finds its own user's agent: /v1/hello answers an allowed origin
// of the agent's user with CORS headers for that origin (and Chromium's
// local-network preflight), and everyone else with a 403 a page cannot
// read (no CORS headers), so the page tries the next port.
func TestHello(t *testing.T) {
	mine := start(t, Config{UID: os.Getuid()})
	resp := hello(t, mine, "GET", origin)
	body, _ := io.ReadAll(resp.Body)
	var got struct {
		Agent    string `json:"agent"`
		Protocol int    `json:"protocol"`
		URL      string `json:"url"`
	}
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != origin || json.Unmarshal(body, &got) != nil ||
		got.Agent != "tte-agent" || got.Protocol != 1 || got.URL != mine {
		t.Errorf("hello: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	pre := hello(t, mine, "OPTIONS", origin, "Access-Control-Request-Method", "GET", "Access-Control-Request-Private-Network", "true")
	if pre.StatusCode != 204 || pre.Header.Get("Access-Control-Allow-Private-Network") != "true" || pre.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
	for name, r := range map[string]*http.Response{
		"another origin":       hello(t, mine, "GET", "https://evil.example"),
		"no origin":            hello(t, mine, "GET", ""),
		"another user's agent": hello(t, start(t, Config{UID: os.Getuid() + 4242}), "GET", origin),
	} {
		if r.StatusCode != http.StatusForbidden || r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: %d %v, want 403 without CORS headers", name, r.StatusCode, r.Header)
		}
	}
	other, _ := io.ReadAll(hello(t, start(t, Config{UID: os.Getuid() + 4242}), "GET", "").Body)
	if !strings.Contains(string(other), "another user") {
		t.Errorf("a tool without an Origin cannot tell another user's agent: %s", other)
	}
	if r := hello(t, mine, "POST", origin); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", r.StatusCode)
	}
}
