package listen

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
)

// Connections beyond the cap are closed at once; a freed slot is taken
// again.
func TestCap(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var dropped atomic.Int64
	l := Cap(raw, 2, func() { dropped.Add(1) })
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	var clients []net.Conn
	for range 4 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	first, second := <-accepted, <-accepted
	// The two over the cap are closed by the listener: a read ends.
	for _, c := range clients[2:] {
		c.SetReadDeadline(time.Now().Add(testscale.D(5 * time.Second)))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("a connection over the cap was kept")
		}
	}
	if dropped.Load() != 2 {
		t.Errorf("dropped %d, want 2", dropped.Load())
	}
	first.Close()
	first.Close() // a second close gives nothing back twice
	c, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case got := <-accepted:
		got.Close()
	case <-time.After(testscale.D(5 * time.Second)):
		t.Fatal("a freed slot was not taken again")
	}
	second.Close()
}
