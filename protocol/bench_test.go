package protocol

import (
	"encoding/json"
	"fmt"
	"testing"
)

func bigDigestRequest(n int) []byte {
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprintf("surat-%04d", i), "digest": make([]byte, 32)}
	}
	data, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "sign.digest",
		"params": map[string]any{"certificateId": "0123456789abcdef/01", "items": items}})
	return data
}

// BenchmarkDecodeSignDigest measures the strict decoding of a 2,000-item
// sign.digest request, the largest common message.
func BenchmarkDecodeSignDigest(b *testing.B) {
	data := bigDigestRequest(2000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		req, perr := ParseRequest(data)
		if perr != nil {
			b.Fatal(perr)
		}
		var p SignDigestParams
		if perr := DecodeParams(req.Params, &p); perr != nil {
			b.Fatal(perr)
		}
	}
}
