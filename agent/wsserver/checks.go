package wsserver

import (
	"net"
	"net/http"
	"slices"
	"strings"
)

// refusal is why a connection is refused before the upgrade.
type refusal string

// The reasons a handshake is refused, as the page sees them in the 403.
const (
	refuseHost      refusal = "forbidden: the Host header must be 127.0.0.1, localhost or [::1] with the agent's port"
	refuseNoOrigin  refusal = "forbidden: exactly one Origin header is required"
	refuseOrigin    refusal = "forbidden: this origin is not allowed by the agent's configuration"
	refuseUser      refusal = "forbidden: the connection comes from another user of this computer"
	refuseNotLocal  refusal = "forbidden: only connections from this computer are accepted"
	refuseNotUpgrad refusal = "bad request: this endpoint only speaks WebSocket"
)

// checkOrigin returns the single Origin header, or a refusal.
func checkOrigin(r *http.Request, allow func(string) bool) (string, refusal) {
	vals := r.Header.Values("Origin")
	if len(vals) != 1 || vals[0] == "" {
		return "", refuseNoOrigin
	}
	o := vals[0]
	if o == "null" || !allow(o) {
		return "", refuseOrigin
	}
	return o, ""
}

// checkLoopback refuses a peer that is not on a loopback address: the
// listener binds loopback, so this only fails if it was misconfigured.
func checkLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// pageRequest makes the WebSocket's four checks (loopback, Host, user,
// Origin) for a plain HTTP request of a page — hello, an upload, a
// download — and sets the CORS headers for its origin only. It answers a
// refusal, a method not in methods and the CORS preflight (with
// Chromium's Local Network Access header for a page on a public origin)
// itself, and reports whether the caller answers the request.
func (s *Server) pageRequest(w http.ResponseWriter, r *http.Request, what string, methods []string, preflight func(http.Header)) (origin string, ok bool) {
	allowed := strings.Join(methods, ", ")
	if r.Method != http.MethodOptions && !slices.Contains(methods, r.Method) {
		w.Header().Set("Allow", allowed+", OPTIONS")
		http.Error(w, "method not allowed: "+allowed, http.StatusMethodNotAllowed)
		return "", false
	}
	origin, why := s.check(r)
	if why != "" {
		s.cfg.Log.Debug("refused "+what, "reason", string(why), "origin", r.Header.Get("Origin"), "host", r.Host)
		http.Error(w, string(why), http.StatusForbidden)
		return "", false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Vary", "Origin")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", allowed)
		if preflight != nil {
			preflight(h)
		}
		if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
			h.Set("Access-Control-Allow-Private-Network", "true")
		}
		w.WriteHeader(http.StatusNoContent)
		return "", false
	}
	return origin, true
}
