package syslog_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/agent/syslog"
	"github.com/tte-agent/tte-agent/internal/testscale"
)

// collector is a real rsyslogd on loopback writing each tte-agent
// message's MSG part, one per line, to a file.
type collector struct {
	addr, file string
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tlsFiles writes a CA and a certificate for 127.0.0.1 signed by it.
func tlsFiles(t *testing.T, dir string) (ca, cert, key string) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Kota Log CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "log.kota.go.id"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(k)
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return ca, cert, key
}

func startRsyslog(t *testing.T, withTLS bool) (c collector, caFile string) {
	t.Helper()
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		t.Fatal("rsyslogd is not installed (rsyslog, rsyslog-openssl): run scripts/install-deps.sh test")
	}
	dir := t.TempDir()
	port := freePort(t)
	c = collector{addr: fmt.Sprintf("127.0.0.1:%d", port), file: filepath.Join(dir, "collected.log")}
	global := fmt.Sprintf(`workDirectory=%q maxMessageSize="1m"`, dir)
	module := `module(load="imtcp")`
	if withTLS {
		var cert, key string
		caFile, cert, key = tlsFiles(t, dir)
		global += fmt.Sprintf(` defaultNetstreamDriver="ossl" defaultNetstreamDriverCAFile=%q defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q`, caFile, cert, key)
		module = `module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")`
	}
	conf := filepath.Join(dir, "rsyslog.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`global(%s)
%s
input(type="imtcp" port="%d" address="127.0.0.1")
template(name="raw" type="string" string="%%msg%%\n")
if $app-name == 'tte-agent' and $msgid == 'audit' then { action(type="omfile" file=%q template="raw") stop }
`, global, module, port, c.file)), 0o644)
	cmd := exec.Command(rsyslogd, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(testscale.D(10 * time.Second)); ; time.Sleep(20 * time.Millisecond) {
		if conn, err := net.Dial("tcp", c.addr); err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd did not listen:\n%s", logs.String())
		}
	}
	return c, caFile
}

// lines waits until the collector's file holds n lines and returns them.
func (c collector) lines(t *testing.T, n int) []string {
	t.Helper()
	for deadline := time.Now().Add(testscale.D(15 * time.Second)); ; time.Sleep(50 * time.Millisecond) {
		data, _ := os.ReadFile(c.file)
		got := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if len(data) > 0 && len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector has %d of %d records:\n%s", len(got), n, data)
		}
	}
}

// Every record of the trail reaches a real rsyslog over TCP and over TLS,
// byte for byte as in audit.log, so the collected copy verifies as a
// trail; records written while the collector is away are delivered when
// it comes back.
func TestForwardToRsyslog(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "tcp", true: "tls"}[withTLS], func(t *testing.T) {
			c, ca := startRsyslog(t, withTLS)
			scheme := "tcp"
			if withTLS {
				scheme = "tls"
			}
			fwd, err := syslog.New(scheme+"://"+c.addr, ca, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			trail := filepath.Join(dir, "audit.log")
			l, err := audit.Open(trail, audit.Options{OnWrite: fwd.Send})
			if err != nil {
				t.Fatal(err)
			}
			fp := strings.Repeat("ab", 32)
			for i := range 50 {
				r := audit.Record{Event: audit.EventResult, Origin: "https://eoffice.kota.go.id", Subject: "Ni Luh Putu Ayu Wijayanti, S.E., M.Ak.", Certificate: fp, Count: 1 + i%3, Outcome: "ok",
					Items: []audit.Item{{Name: fmt.Sprintf("Surat Edaran %03d tentang Pengadaan — Dinas Kesehatan.pdf", i), Digest: fp}}}
				if err := l.Append(r); err != nil {
					t.Fatal(err)
				}
			}
			l.Close()
			got := c.lines(t, 50)
			ctx, cancel := context.WithTimeout(context.Background(), testscale.D(5*time.Second))
			fwd.Close(ctx)
			cancel()
			f, _ := os.Open(trail)
			defer f.Close()
			var want []string
			for s := bufio.NewScanner(f); s.Scan(); {
				want = append(want, s.Text())
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("the collected records differ from the trail:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// The central copy is a trail: its chain verifies.
			central := filepath.Join(t.TempDir(), "audit.log")
			os.WriteFile(central, []byte(strings.Join(got, "\n")+"\n"), 0o600)
			if n, err := audit.Verify(central); err != nil || n != 50 {
				t.Errorf("the collected copy does not verify: %d records, %v", n, err)
			}
		})
	}
}

// A collector that is down when records are written gets them once it
// listens; a forwarder never blocks the trail.
func TestForwardWhileCollectorAway(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	fwd, err := syslog.New("tcp://"+addr, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.Close(context.Background())
	start := time.Now()
	for i := range 100 {
		fwd.Send([]byte(fmt.Sprintf(`{"seq":%d}`, i+1)))
	}
	if time.Since(start) > testscale.D(time.Second) {
		t.Error("Send blocked while the collector was away")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for i := range 100 {
		conn.SetReadDeadline(time.Now().Add(testscale.D(10 * time.Second)))
		var n int
		if _, err := fmt.Fscanf(r, "%d ", &n); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(r, msg); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(msg), "<110>1 ") || !strings.HasSuffix(string(msg), fmt.Sprintf(` tte-agent %d audit - {"seq":%d}`, os.Getpid(), i+1)) {
			t.Fatalf("message %d: %q", i+1, msg)
		}
	}
}

func TestBadTargets(t *testing.T) {
	for _, target := range []string{"udp://1.2.3.4:514", "tcp://host", "log.kota.go.id:514", "tls://"} {
		if _, err := syslog.New(target, "", slog.Default()); err == nil {
			t.Errorf("%q accepted", target)
		}
	}
}
