package wsserver

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// PeerUID returns the uid that owns the TCP socket at remote (the page's
// side) connected to local (the agent's side), from /proc/net/tcp and
// /proc/net/tcp6. Both ends of a loopback connection are on this host, so
// the browser's socket is listed there with its owner.
func PeerUID(remote, local *net.TCPAddr) (int, error) {
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		uid, err := findUID(f, remote, local)
		if err == nil {
			return uid, nil
		}
		if !errors.Is(err, errNoSocket) {
			return -1, err
		}
	}
	return -1, errNoSocket
}

var errNoSocket = errors.New("no such socket in /proc/net/tcp{,6}")

func findUID(path string, remote, local *net.TCPAddr) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return -1, fmt.Errorf("failed to read %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 {
			continue
		}
		la, err1 := parseProcAddr(fields[1])
		ra, err2 := parseProcAddr(fields[2])
		if err1 != nil || err2 != nil {
			continue
		}
		if sameAddr(la, remote) && sameAddr(ra, local) {
			return strconv.Atoi(fields[7])
		}
	}
	if err := sc.Err(); err != nil {
		return -1, err
	}
	return -1, errNoSocket
}

func sameAddr(a, b *net.TCPAddr) bool {
	return a.Port == b.Port && a.IP.Equal(b.IP)
}

// parseProcAddr parses "0100007F:1F90": the address as 32-bit words in
// host byte order (little-endian here), then the port in hex.
func parseProcAddr(s string) (*net.TCPAddr, error) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return nil, errors.New("no port")
	}
	raw, err := hex.DecodeString(ipHex)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return nil, errors.New("bad address")
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return nil, err
	}
	return &net.TCPAddr{IP: net.IP(raw), Port: int(port)}, nil
}
