package agent_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/protocol"
)

// TestHandshakeRefusals: every page that is not exactly an allowed origin
// on exactly our Host gets 403 before any upgrade, and no dialog.
func TestHandshakeRefusals(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	port := h.port
	host := fmt.Sprintf("127.0.0.1:%d", port)
	tests := []struct {
		name    string
		host    string
		origins []string
		status  int
		body    string
	}{
		{"missing Origin", host, nil, 403, "Origin"},
		{"null Origin", host, []string{"null"}, 403, "origin is not allowed"},
		{"look-alike suffix", host, []string{"https://eoffice.example.go.id.evil.com"}, 403, "origin is not allowed"},
		{"look-alike prefix", host, []string{"https://evil-eoffice.example.go.id"}, 403, "origin is not allowed"},
		{"other scheme", host, []string{"http://eoffice.example.go.id"}, 403, "origin is not allowed"},
		{"other port", host, []string{"https://eoffice.example.go.id:8443"}, 403, "origin is not allowed"},
		{"trailing slash", host, []string{"https://eoffice.example.go.id/"}, 403, "origin is not allowed"},
		{"upper case", host, []string{"https://EOFFICE.example.go.id"}, 403, "origin is not allowed"},
		{"two Origin headers", host, []string{testOrigin, testOrigin}, 403, "exactly one Origin"},
		{"foreign Host", fmt.Sprintf("evil.example:%d", port), []string{testOrigin}, 403, "Host"},
		{"rebinding Host", fmt.Sprintf("127.0.0.1.nip.io:%d", port), []string{testOrigin}, 403, "Host"},
		{"Host without port", "127.0.0.1", []string{testOrigin}, 403, "Host"},
		{"Host with other port", fmt.Sprintf("127.0.0.1:%d", port+1), []string{testOrigin}, 403, "Host"},
		{"localhost Host", fmt.Sprintf("localhost:%d", port), []string{testOrigin}, 101, ""},
		{"allowed", host, []string{testOrigin}, 101, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := h.handshake(tt.host, tt.origins, "/v1")
			if status != tt.status || !strings.Contains(body, tt.body) {
				t.Errorf("status %d body %q, want %d containing %q", status, body, tt.status, tt.body)
			}
		})
	}
	if status, _ := h.handshake(host, []string{testOrigin}, "/v2"); status != http.StatusNotFound {
		t.Errorf("wrong path: status %d, want 404", status)
	}
	if n := len(h.fake.Shown(t)); n != 0 {
		t.Errorf("%d dialogs shown to refused pages", n)
	}
}

// TestBadInput: hostile messages get the contract's errors, and the agent
// keeps serving this and other connections.
func TestBadInput(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c := h.dial(testOrigin)
	digest := make([]byte, 32)
	item := map[string]any{"name": "a", "digest": digest}
	sign := func(extra map[string]any) map[string]any {
		p := map[string]any{"certificateId": h.certID(rsaID), "items": []any{item}}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	rawTests := []struct {
		name   string
		frame  string
		id     string
		reason protocol.Reason
	}{
		{"not JSON", `{"jsonrpc":"2.0",`, "null", protocol.ReasonParseError},
		{"JSON array", `[{"jsonrpc":"2.0","id":1,"method":"agent.info"}]`, "null", protocol.ReasonInvalidRequest},
		{"a number", `42`, "null", protocol.ReasonInvalidRequest},
		{"no jsonrpc", `{"id":7,"method":"agent.info"}`, "7", protocol.ReasonInvalidRequest},
		{"notification", `{"jsonrpc":"2.0","method":"agent.info"}`, "null", protocol.ReasonInvalidRequest},
		{"unknown envelope member", `{"jsonrpc":"2.0","id":8,"method":"agent.info","extra":1}`, "8", protocol.ReasonInvalidRequest},
		{"duplicate member", `{"jsonrpc":"2.0","id":9,"id":10,"method":"agent.info"}`, "null", protocol.ReasonInvalidRequest},
		{"deep nesting", `{"jsonrpc":"2.0","id":11,"method":"agent.info","params":{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}`, "null", protocol.ReasonInvalidRequest},
		{"fraction id", `{"jsonrpc":"2.0","id":1.5,"method":"agent.info"}`, "null", protocol.ReasonInvalidRequest},
		{"positional params", `{"jsonrpc":"2.0","id":"p","method":"agent.info","params":[1]}`, `"p"`, protocol.ReasonBadRequest},
		{"pin in envelope", `{"jsonrpc":"2.0","id":12,"method":"agent.info","PIN":"1234"}`, "12", protocol.ReasonBadRequest},
	}
	for _, tt := range rawTests {
		t.Run(tt.name, func(t *testing.T) {
			_, perr := c.raw([]byte(tt.frame), tt.id)
			wantError(t, perr, tt.reason)
		})
	}
	callTests := []struct {
		name   string
		method string
		params any
		reason protocol.Reason
	}{
		{"unknown method", "sign.everything", nil, protocol.ReasonMethodNotFound},
		{"pin member", "sign.digest", sign(map[string]any{"pin": "246810"}), protocol.ReasonBadRequest},
		{"pin nested in an item", "sign.digest", sign(map[string]any{"items": []any{map[string]any{"name": "a", "digest": digest, "Pin": "1"}}}), protocol.ReasonBadRequest},
		{"unknown params member", "sign.digest", sign(map[string]any{"reason": "x"}), protocol.ReasonBadRequest},
		{"wrong-case member", "sign.digest", map[string]any{"CertificateId": h.certID(rsaID), "items": []any{item}}, protocol.ReasonBadRequest},
		{"unknown item member", "sign.digest", sign(map[string]any{"items": []any{map[string]any{"name": "a", "digest": digest, "size": 1}}}), protocol.ReasonBadRequest},
		{"wrong-length digest", "sign.digest", sign(map[string]any{"items": []any{map[string]any{"name": "a", "digest": make([]byte, 20)}}}), protocol.ReasonBadRequest},
		{"SHA-384 length under SHA-256", "sign.digest", sign(map[string]any{"hashAlgorithm": "SHA-384"}), protocol.ReasonBadRequest},
		{"bad base64", "sign.digest", sign(map[string]any{"items": []any{map[string]any{"name": "a", "digest": "!!"}}}), protocol.ReasonBadRequest},
		{"unknown hash", "sign.digest", sign(map[string]any{"hashAlgorithm": "MD5"}), protocol.ReasonBadRequest},
		{"ECDSA on RSA key", "sign.digest", sign(map[string]any{"signatureAlgorithm": "ECDSA"}), protocol.ReasonBadRequest},
		{"no items", "sign.digest", sign(map[string]any{"items": []any{}}), protocol.ReasonBadRequest},
		{"nameless item", "sign.digest", sign(map[string]any{"items": []any{map[string]any{"digest": digest}}}), protocol.ReasonBadRequest},
		{"unknown certificate", "sign.digest", sign(map[string]any{"certificateId": h.serial + "/ff"}), protocol.ReasonCertificateNotFound},
		{"malformed certificate id", "sign.digest", sign(map[string]any{"certificateId": "nothing"}), protocol.ReasonCertificateNotFound},
		{"expired certificate", "sign.digest", sign(map[string]any{"certificateId": h.certID(expiredID)}), protocol.ReasonCertificateInvalid},
		{"params on agent.info", "agent.info", map[string]any{"x": 1}, protocol.ReasonBadRequest},
	}
	for _, tt := range callTests {
		t.Run(tt.name, func(t *testing.T) {
			_, perr := c.call(tt.method, tt.params)
			wantError(t, perr, tt.reason)
		})
	}
	if n := len(h.fake.Shown(t)); n != 0 {
		t.Errorf("%d dialogs shown for invalid requests", n)
	}

	// An origin without "digest" may not sign digests.
	docs := h.dial(docsOrigin)
	_, perr := docs.call("sign.digest", sign(nil))
	wantError(t, perr, protocol.ReasonNotPermitted)

	// A binary frame for an unknown upload: a document.error notification.
	if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte{0, 0, 0, 0, 0, 0, 0, 7, 'x'}); err != nil {
		t.Fatal(err)
	}
	n := c.read()
	if n.Method != "document.error" || !strings.Contains(string(n.Params), `"uploadId":7`) || !strings.Contains(string(n.Params), "bad_request") {
		t.Errorf("binary frame answer = %s %s", n.Method, n.Params)
	}

	// An oversized text frame closes that connection with 1009...
	big := `{"jsonrpc":"2.0","id":1,"method":"agent.info","params":{"x":"` + strings.Repeat("a", 1<<20) + `"}}`
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatal(err)
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(testscale.D(5 * time.Second)))
	_, _, err := c.ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Errorf("oversized frame: %v, want close 1009", err)
	}
	// ...and the agent still serves everyone else, including a new
	// connection and one opened before.
	if info := mustCall[protocol.AgentInfo](docs, "agent.info", nil); info.Origin != docsOrigin {
		t.Errorf("agent.info after the flood: %+v", info)
	}
	fresh := h.dial(testOrigin)
	res := mustCall[protocol.SignDigestResult](fresh, "sign.digest", sign(nil))
	if len(res.Items) != 1 {
		t.Errorf("sign.digest after bad input: %+v", res)
	}
	var raw json.RawMessage
	remarshal(t, res, &raw)
}
