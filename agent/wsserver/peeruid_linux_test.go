package wsserver

import (
	"net"
	"os"
	"testing"
)

func TestParseProcAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0100007F:1F90", "127.0.0.1:8080"},
		{"00000000000000000000000001000000:3894", "[::1]:14484"},
		{"0000000000000000FFFF00000100007F:0050", "127.0.0.1:80"},
	}
	for _, tt := range tests {
		a, err := parseProcAddr(tt.in)
		if err != nil || a.String() != tt.want {
			t.Errorf("parseProcAddr(%q) = %v, %v; want %s", tt.in, a, err, tt.want)
		}
	}
	for _, bad := range []string{"", "0100007F", "XYZ:0050", "0100:0050", "0100007F:XYZW"} {
		if _, err := parseProcAddr(bad); err == nil {
			t.Errorf("parseProcAddr(%q) accepted", bad)
		}
	}
}

// TestPeerUID finds the owner of a real loopback connection: this process.
func TestPeerUID(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		l, err := net.Listen(network, map[string]string{"tcp4": "127.0.0.1:0", "tcp6": "[::1]:0"}[network])
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		defer l.Close()
		go func() {
			c, err := l.Accept()
			if err == nil {
				defer c.Close()
				buf := make([]byte, 1)
				c.Read(buf)
			}
		}()
		c, err := net.Dial(network, l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		uid, err := PeerUID(c.LocalAddr().(*net.TCPAddr), l.Addr().(*net.TCPAddr))
		if err != nil || uid != os.Getuid() {
			t.Errorf("%s: PeerUID = %d, %v; want %d", network, uid, err, os.Getuid())
		}
		if _, err := PeerUID(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, l.Addr().(*net.TCPAddr)); err == nil {
			t.Errorf("%s: PeerUID found a socket that does not exist", network)
		}
	}
}
