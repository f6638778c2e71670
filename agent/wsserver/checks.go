package wsserver

import (
	"net"
	"net/http"
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
