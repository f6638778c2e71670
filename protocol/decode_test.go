package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		reason Reason // "" for success
		id     string
		method string
	}{
		{"ok int id", `{"jsonrpc":"2.0","id":1,"method":"agent.info"}`, "", "1", "agent.info"},
		{"ok string id", `{"jsonrpc":"2.0","id":"a-1","method":"tokens.list","params":{}}`, "", `"a-1"`, "tokens.list"},
		{"ok big id", `{"jsonrpc":"2.0","id":9007199254740992,"method":"x"}`, "", "9007199254740992", "x"},
		{"id too big", `{"jsonrpc":"2.0","id":9007199254740993,"method":"x"}`, ReasonInvalidRequest, "null", ""},
		{"null id", `{"jsonrpc":"2.0","id":null,"method":"x"}`, ReasonInvalidRequest, "null", ""},
		{"exponent id", `{"jsonrpc":"2.0","id":1e3,"method":"x"}`, ReasonInvalidRequest, "null", ""},
		{"object id", `{"jsonrpc":"2.0","id":{},"method":"x"}`, ReasonInvalidRequest, "null", ""},
		{"empty", ``, ReasonParseError, "null", ""},
		{"garbage", `hello`, ReasonParseError, "null", ""},
		{"two values", `{"jsonrpc":"2.0","id":1,"method":"x"}{}`, ReasonParseError, "null", ""},
		{"truncated", `{"jsonrpc":"2.0","id":1`, ReasonParseError, "null", ""},
		{"batch", ` [1,2]`, ReasonInvalidRequest, "null", ""},
		{"broken batch", `[1,`, ReasonParseError, "null", ""},
		{"string", `"x"`, ReasonInvalidRequest, "null", ""},
		{"version 1", `{"jsonrpc":"1.0","id":1,"method":"x"}`, ReasonInvalidRequest, "1", ""},
		{"no method", `{"jsonrpc":"2.0","id":1}`, ReasonInvalidRequest, "1", ""},
		{"method not string", `{"jsonrpc":"2.0","id":1,"method":5}`, ReasonInvalidRequest, "1", ""},
		{"params string", `{"jsonrpc":"2.0","id":1,"method":"x","params":"a"}`, ReasonBadRequest, "1", ""},
		{"params null", `{"jsonrpc":"2.0","id":1,"method":"x","params":null}`, ReasonBadRequest, "1", ""},
		{"pin deep", `{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":[{"b":{"pIn":1}}]}}`, ReasonBadRequest, "1", ""},
		{"pin escaped", `{"jsonrpc":"2.0","id":1,"method":"x","params":{"p\u0069n":1}}`, ReasonBadRequest, "1", ""},
		{"pin without id", `{"jsonrpc":"2.0","method":"x","pin":"1"}`, ReasonBadRequest, "null", ""},
		{"pin as value is fine", `{"jsonrpc":"2.0","id":1,"method":"x","params":{"name":"pin"}}`, "", "1", "x"},
		{"duplicate nested", `{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":1,"a":2}}`, ReasonInvalidRequest, "null", ""},
		{"many duplicate members", `{"jsonrpc":"2.0","id":1,"method":"x","params":{` + manyMembers(40) + `,"m3":0}}`, ReasonInvalidRequest, "null", ""},
		{"too deep", `{"jsonrpc":"2.0","id":1,"method":"x","params":` + strings.Repeat(`{"a":`, 20) + "1" + strings.Repeat("}", 20) + "}", ReasonInvalidRequest, "null", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseRequest([]byte(tt.in))
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if req.ID.String() != tt.id || req.Method != tt.method {
					t.Errorf("got id %s method %q", req.ID, req.Method)
				}
				return
			}
			if err == nil || err.Data.Reason != tt.reason || err.Code != tt.reason.Code() {
				t.Fatalf("got %v, want %s", err, tt.reason)
			}
			if req.ID.String() != tt.id {
				t.Errorf("error carries id %s, want %s", req.ID, tt.id)
			}
		})
	}
}

func TestDecodeParams(t *testing.T) {
	d32 := `"` + strings.Repeat("A", 43) + `="`
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"ok", `{"certificateId":"s/01","items":[{"name":"a","digest":` + d32 + `}]}`, true},
		{"defaults hash", `{"certificateId":"s/01","hashAlgorithm":"SHA-256","items":[{"name":"a","digest":` + d32 + `}]}`, true},
		{"case-folded member", `{"certificateid":"s/01","items":[{"name":"a","digest":` + d32 + `}]}`, false},
		{"unknown member", `{"certificateId":"s/01","x":1,"items":[{"name":"a","digest":` + d32 + `}]}`, false},
		{"unknown item member", `{"certificateId":"s/01","items":[{"name":"a","Name":"b","digest":` + d32 + `}]}`, false},
		{"items not array", `{"certificateId":"s/01","items":{}}`, false},
		{"wrong type", `{"certificateId":5,"items":[{"name":"a","digest":` + d32 + `}]}`, false},
		{"short digest", `{"certificateId":"s/01","items":[{"name":"a","digest":"AAAA"}]}`, false},
		{"SHA-512 length", `{"certificateId":"s/01","hashAlgorithm":"SHA-512","items":[{"name":"a","digest":` + d32 + `}]}`, false},
		{"no certificate", `{"items":[{"name":"a","digest":` + d32 + `}]}`, false},
		{"bad name", `{"certificateId":"s/01","items":[{"name":"","digest":` + d32 + `}]}`, false},
		{"long name", `{"certificateId":"s/01","items":[{"name":"` + strings.Repeat("n", 1025) + `","digest":` + d32 + `}]}`, false},
		{"unknown algorithm", `{"certificateId":"s/01","signatureAlgorithm":"DSA","items":[{"name":"a","digest":` + d32 + `}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p SignDigestParams
			err := DecodeParams(json.RawMessage(tt.in), &p)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && err.Data.Reason != ReasonBadRequest {
				t.Errorf("reason %s, want bad_request", err.Data.Reason)
			}
			if tt.ok && p.HashAlgorithm != SHA256 {
				t.Errorf("hash algorithm %q, want the SHA-256 default", p.HashAlgorithm)
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	want := map[Reason]int{ReasonParseError: -32700, ReasonBadRequest: -32602, ReasonPINIncorrect: -32003,
		ReasonTokenRemoved: -32005, ReasonUpstreamFailed: -32012, Reason("nonsense"): -32603}
	for r, c := range want {
		if r.Code() != c {
			t.Errorf("%s code %d, want %d", r, r.Code(), c)
		}
	}
	e := NewError(ReasonCancelled, "x").WithCompleted(3)
	data, _ := json.Marshal(e)
	if string(data) != `{"code":-32010,"message":"x","data":{"reason":"cancelled","completed":3}}` {
		t.Errorf("error JSON %s", data)
	}
}

// FuzzParseRequest: no input panics, and whatever is accepted has an id
// and a method and no pin member.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"agent.info"}`,
		`{"jsonrpc":"2.0","id":"x","method":"sign.digest","params":{"certificateId":"a/01","items":[{"name":"n","digest":"AAAA"}]}}`,
		`[{"jsonrpc":"2.0"}]`, `{"pin":1}`, `{"a":{"b":[[[[]]]]}}`, `{"jsonrpc":"2.0","id":1,"id":2}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// DecodeParams must survive raw input too, not only params that
		// ParseRequest validated.
		var raw SignCMSParams
		var req Request
		var err error
		testscale.Within(t, 100*time.Millisecond, "decoding the input", func() {
			_ = DecodeParams(data, &raw)
			req, err = ParseRequest(data)
		})
		if err != nil {
			return
		}
		if req.ID.IsZero() || req.Method == "" {
			t.Fatalf("accepted %q without id or method", data)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if hasPIN(v) {
			t.Fatalf("accepted a pin member: %q", data)
		}
		var p SignDigestParams
		_ = DecodeParams(req.Params, &p)
	})
}

func hasPIN(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if strings.EqualFold(k, "pin") || hasPIN(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasPIN(e) {
				return true
			}
		}
	}
	return false
}

func manyMembers(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"m%d":%d`, i, i)
	}
	return b.String()
}

// A streamed sign.pdf result is byte for byte what encoding/json writes.
func TestSignPDFResultWriteJSON(t *testing.T) {
	for _, r := range []SignPDFResult{
		{Items: []PDFItem{}},
		{Items: []PDFItem{{Name: "a<b>.pdf", Update: []byte{0, 1, 2}, SignedSize: 9, Level: LevelBLT}, {Name: "c", Update: nil, SignedSize: 1}},
			Revocation: &RevocationInfo{Status: RevocationGood, Source: "ocsp"}},
	} {
		want, _ := json.Marshal(r)
		var got bytes.Buffer
		if err := r.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		if got.String() != string(want) {
			t.Errorf("streamed %s\nwant     %s", got.String(), want)
		}
	}
}
