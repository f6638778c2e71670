package listen

import (
	"net"
	"sync"
	"sync/atomic"
)

// Cap returns a listener that holds at most max connections open: one
// accepted beyond that is closed at once, so a flood on one listener can
// neither exhaust the process's file descriptors (and starve the other
// listener, or a token driver that opens files) nor block the accept loop
// behind it. dropped, when not nil, hears of every connection closed so.
func Cap(l net.Listener, max int, dropped func()) net.Listener {
	return &capped{Listener: l, max: int64(max), dropped: dropped}
}

type capped struct {
	net.Listener
	max     int64
	open    atomic.Int64
	dropped func()
}

func (c *capped) Accept() (net.Conn, error) {
	for {
		conn, err := c.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if c.open.Add(1) > c.max {
			c.open.Add(-1)
			if c.dropped != nil {
				c.dropped() // before the close, which the peer sees
			}
			conn.Close()
			continue
		}
		return &cappedConn{Conn: conn, release: func() { c.open.Add(-1) }}, nil
	}
}

// cappedConn gives its slot back once, when closed.
type cappedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *cappedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
