package listen

import (
	"errors"
	"fmt"
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

// TestRange: a taken port is skipped for the next of the range; a range
// whose ports are all taken fails with ErrPortTaken and says how to fix it.
func TestRange(t *testing.T) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	// Two consecutive ports taken, the third free.
	var base int
	for try := 0; try < 50 && base == 0; try++ {
		a, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := a.Addr().(*net.TCPAddr).Port
		b, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		if err != nil {
			a.Close()
			continue
		}
		if c, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+2)); err == nil {
			c.Close()
			held, base = []net.Listener{a, b}, p
		} else {
			a.Close()
			b.Close()
		}
	}
	if base == 0 {
		t.Fatal("found no three consecutive ports to use")
	}
	l, taken, err := Range(fmt.Sprintf("127.0.0.1:%d", base), 3)
	if err != nil || l.Addr().(*net.TCPAddr).Port != base+2 || len(taken) != 2 {
		t.Fatalf("Range over two taken ports: %v, taken %v, %v", l, taken, err)
	}
	l.Close()
	if _, _, err := Range(fmt.Sprintf("127.0.0.1:%d", base), 2); !errors.Is(err, ErrPortTaken) || !strings.Contains(err.Error(), "listen_ports") {
		t.Errorf("every port taken: %v", err)
	}
	if _, _, err := Range(fmt.Sprintf("127.0.0.1:%d", base), 1); !errors.Is(err, ErrPortTaken) || !strings.Contains(err.Error(), "another program using the port") {
		t.Errorf("the only port taken: %v", err)
	}
}
