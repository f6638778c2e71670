// Package listen opens the agent's loopback TCP listener so that no other
// program can share or steal its port: on Windows the socket is bound with
// SO_EXCLUSIVEADDRUSE; on Unix Go's SO_REUSEADDR only allows rebinding over
// TIME_WAIT sockets, never over a live listener. A taken port is an error
// (ErrPortTaken); Range moves on to the next port of a small range, where
// pages find their own user's agent.
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

// Range listens on the first free port of the n ports from addr's on
// (another user's agent may hold one on a shared machine); taken are the
// ports it skipped. Port 0 (any free port) is tried once.
func Range(addr string, n int) (l net.Listener, taken []int, err error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return nil, nil, fmt.Errorf("listen %q: not a port", addr)
	}
	if port == 0 {
		n = 1
	}
	for i := range max(n, 1) {
		if port+i > 65535 {
			break
		}
		l, err = TCP(net.JoinHostPort(host, strconv.Itoa(port+i)))
		if !errors.Is(err, ErrPortTaken) {
			return l, taken, err
		}
		taken = append(taken, port+i)
	}
	if len(taken) == 1 {
		return nil, taken, err
	}
	return nil, taken, fmt.Errorf("failed to listen: every port from %d to %d is taken: %w (other users' agents or other programs hold them; raise listen_ports in the policy)", port, taken[len(taken)-1], ErrPortTaken)
}

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
