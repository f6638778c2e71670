package main

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tte-agent/tte-agent/revocation/revtest"
	"github.com/tte-agent/tte-agent/token/softhsm"
	"github.com/tte-agent/tte-agent/tsa/tsatest"
)

const (
	benchPIN    = "24681357"
	benchOrigin = "https://bench.example.go.id"
)

var (
	rsaID  = []byte{0x01}
	p256ID = []byte{0x02}
)

// bench is the environment every scenario shares: one SoftHSM token, the
// agent as its own process, and the test CA.
type bench struct {
	// pki issues the token's certificates (OCSP, CRL, AIA on loopback)
	// and tsa time-stamps; both are the anchors of [trust].
	pki    *revtest.PKI
	tsa    *tsatest.Server
	dir    string
	store  *softhsm.Store
	serial string
	certs  []*x509.Certificate
	caFile string
	agent  *exec.Cmd
	url    string
	// agentBin is the tte-agent binary measured.
	agentBin string
	// pagePort is where scenario w serves its page (an allowed origin).
	pagePort int
}

func setup(agentBin, cpuprofile string) (*bench, error) {
	dir, err := os.MkdirTemp("", "tte-bench-")
	if err != nil {
		return nil, err
	}
	b := &bench{dir: dir, caFile: filepath.Join(dir, "ca.pem"), agentBin: agentBin}
	if b.store, err = softhsm.NewStore(dir); err != nil {
		return nil, err
	}
	os.Setenv("SOFTHSM2_CONF", b.store.Conf)
	if b.pki, err = revtest.Start(dir, revtest.Options{}); err != nil {
		return nil, err
	}
	if b.tsa, err = tsatest.New(dir); err != nil {
		return nil, err
	}
	ca := b.pki.CA()
	tok, err := b.store.CreateToken(softhsm.TokenSpec{Label: "bench", PIN: benchPIN, SOPIN: "1357924680",
		Keys: []softhsm.KeySpec{
			{Label: "rsa", ID: rsaID, Type: "RSA-2048", Subject: pkix.Name{CommonName: "Bench RSA"}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment},
			{Label: "p256", ID: p256ID, Type: "EC-P256", Subject: pkix.Name{CommonName: "Bench P-256"}},
		},
		ExtraCerts: []*x509.Certificate{b.pki.Inter}}, ca)
	if err != nil {
		return nil, err
	}
	b.serial, b.certs = tok.Serial, tok.Certs
	if err := softhsm.WriteCertPEM(b.caFile, b.pki.Root); err != nil {
		return nil, err
	}
	// An instantly answering pinentry, as small as the protocol allows.
	pinentry := filepath.Join(dir, "pinentry")
	script := "#!/bin/sh\necho 'OK ready'\nwhile read -r cmd rest; do\n  case \"$cmd\" in\n    GETPIN) echo 'D " + benchPIN + "'; echo OK;;\n    BYE) echo OK; exit 0;;\n    *) echo OK;;\n  esac\ndone\n"
	if err := os.WriteFile(pinentry, []byte(script), 0o700); err != nil {
		return nil, err
	}
	if b.pagePort, err = freePort(); err != nil {
		return nil, err
	}
	if b.agent, b.url, err = b.startAgent("agent", b.store.Module, nil, cpuprofile); err != nil {
		return nil, err
	}
	return b, nil
}

// startAgent starts an agent on the bench token through module, with its
// own configuration, spool and audit trail named after name, and returns
// it with its WebSocket URL.
func (b *bench) startAgent(name, module string, env []string, cpuprofile string) (*exec.Cmd, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	pinentry := filepath.Join(b.dir, "pinentry")
	cfg := filepath.Join(b.dir, name+".toml")
	conf := fmt.Sprintf(`listen = "127.0.0.1:%d"
[pkcs11]
modules = [%q]
[pinentry]
program = %q
[[origins]]
origin = %q
allow = ["documents", "digest", "encrypt", "decrypt"]
[[origins]]
origin = "http://127.0.0.1:%d"
allow = ["documents"]
[uploads]
dir = %q
[audit]
path = %q
[metrics]
listen = ""
[tsa]
url = %q
[trust]
anchors = [%q, %q]
[revocation]
mode = "require"
[limits]
# Scenario (a) sends 2,000 digests in one request; (b) a 1 GiB document.
items = 2000
document_bytes = 2147483648
`, port, module, pinentry, benchOrigin, b.pagePort, filepath.Join(b.dir, name+"-spool"), filepath.Join(b.dir, name+"-audit.log"), b.tsa.URL, b.pki.RootFile, b.tsa.CAFile)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		return nil, "", err
	}
	args := []string{"run", "--config", cfg}
	if cpuprofile != "" {
		args = append(args, "--cpuprofile", cpuprofile)
	}
	cmd := exec.Command(b.agentBin, args...)
	logf, err := os.Create(filepath.Join(b.dir, name+".log"))
	if err != nil {
		return nil, "", err
	}
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("failed to start %s: %w", b.agentBin, err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, "", fmt.Errorf("the agent did not start; see %s", logf.Name())
		}
	}
	return cmd, "ws://" + addr + "/v1", nil
}

func (b *bench) close() {
	if b.agent != nil && b.agent.Process != nil {
		b.agent.Process.Signal(os.Interrupt)
		b.agent.Wait()
		b.agent = nil
	}
	if b.pki != nil {
		b.pki.Close()
		b.pki = nil
	}
	if b.tsa != nil {
		b.tsa.Close()
		b.tsa = nil
	}
	if os.Getenv("TTE_BENCH_KEEP") == "" {
		os.RemoveAll(b.dir)
	}
}

func (b *bench) certID(id []byte) string { return fmt.Sprintf("%s/%x", b.serial, id) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// peakRSS returns the agent's peak resident set (VmHWM) in bytes.
func (b *bench) peakRSS() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", b.agent.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return -1
}

// resetPeakRSS starts a new peak measurement (Linux clear_refs 5).
func (b *bench) resetPeakRSS() {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", b.agent.Process.Pid), []byte("5"), 0o200)
}
