package listen

import (
	"errors"
	"net"
	"strings"
	"testing"
)

// TestPortTaken: a second listener on a live port fails with ErrPortTaken
// and a message that says what to do; it never picks another port.
func TestPortTaken(t *testing.T) {
	first, err := TCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	for _, addr := range []string{first.Addr().String(), "0.0.0.0:" + port(first)} {
		second, err := TCP(addr)
		if err == nil {
			second.Close()
			if addr == first.Addr().String() {
				t.Fatalf("a second listener bound %s", addr)
			}
			continue // a wildcard bind may coexist on Linux; the agent never binds one
		}
		if !errors.Is(err, ErrPortTaken) || !strings.Contains(err.Error(), "another program using the port") {
			t.Errorf("listen on %s: %v", addr, err)
		}
	}
}

// TestFreedPortRebinds: after the agent stops, a new agent binds the same
// port at once (a restart is not blocked by TIME_WAIT).
func TestFreedPortRebinds(t *testing.T) {
	l, err := TCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	if c, err := net.Dial("tcp", addr); err == nil {
		buf := make([]byte, 1)
		c.Read(buf) // the server closes first: its side enters TIME_WAIT
		c.Close()
	}
	l.Close()
	again, err := TCP(addr)
	if err != nil {
		t.Fatalf("rebinding %s after a stop: %v", addr, err)
	}
	again.Close()
}

func port(l net.Listener) string {
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}
