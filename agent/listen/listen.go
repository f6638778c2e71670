// Package listen opens the agent's loopback TCP listener so that no other
// program can share or steal its port: on Windows the socket is bound with
// SO_EXCLUSIVEADDRUSE; on Unix Go's SO_REUSEADDR only allows rebinding over
// TIME_WAIT sockets, never over a live listener. A taken port is an error
// (ErrPortTaken); the agent never moves to another port.
package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// ErrPortTaken reports that another program holds the port.
var ErrPortTaken = errors.New("the port is taken by another program")

// TCP listens on addr. A port already in use is wrapped in ErrPortTaken
// with a message that tells the user what to do.
func TCP(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: control}
	l, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil && addrInUse(err) {
		return nil, fmt.Errorf("failed to listen on %s: %w: %w (is another tte-agent or another program using the port? stop it or set listen in the configuration)", addr, ErrPortTaken, err)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to listen on %s: %w", addr, err)
	}
	return l, nil
}

// LoopbackHost accepts exactly the Host values of a loopback listener on
// port (contract §1): 127.0.0.1, localhost or [::1] with the port. A DNS
// name that resolves to 127.0.0.1 (DNS rebinding) carries its own name
// and is refused.
func LoopbackHost(host string, port int) bool {
	p := ":" + strconv.Itoa(port)
	return host == "127.0.0.1"+p || host == "localhost"+p || host == "[::1]"+p
}
