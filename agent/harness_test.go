package agent_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/agent"
	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/agent/pinentry/pinentrytest"
	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/pades/padestest"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/revocation/revtest"
	"github.com/tte-agent/tte-agent/token/softhsm"
)

func TestMain(m *testing.M) {
	pinentrytest.RunIfFake()
	os.Exit(m.Run())
}

const (
	testPIN     = "246810"
	testOrigin  = "https://eoffice.example.go.id"
	docsOrigin  = "https://arsip.example.go.id" // documents only, no digest
	otherOrigin = "https://persuratan.example.go.id"
	spyModule   = "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so"
)

// testTimeout is the dialog's timeout, and uploadIdle how long a short
// upload may pause: both scaled for a loaded machine.
var (
	testTimeout = testscale.D(3 * time.Second).String()
	uploadIdle  = testscale.D(time.Second).String()
)

// harness is a running agent on a fresh SoftHSM token with an RSA-2048, a
// P-256, an expired P-256 and a CKA_ALWAYS_AUTHENTICATE RSA key, each with a certificate from a test CA.
type harness struct {
	t      *testing.T
	d      *agent.Daemon
	fake   *pinentrytest.Fake
	serial string
	certs  []*x509.Certificate
	ca     *softhsm.CA
	dir    string
	spyLog string
	port   int
	// caFile is the test CA's certificate, PEM.
	caFile string
	// socket and server: the p11-kit server of harnessOpts.p11kit.
	socket string
	server *exec.Cmd
	store  *softhsm.Store
}

const (
	p11kitClient = "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so"
	ockModule    = "/usr/lib/x86_64-linux-gnu/pkcs11/libopencryptoki.so"
	ockSlot      = 3 // the software token in Debian's opencryptoki.conf
	ockSOPIN     = "87654321"
)

// startSlotDaemon makes sure openCryptoki's pkcsslotd runs; it fails the
// test, never skips, when openCryptoki is missing.
func startSlotDaemon(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(ockModule); err != nil {
		t.Fatal("openCryptoki is not installed: run scripts/install-deps.sh")
	}
	if exec.Command("pgrep", "-x", "-r", "S,R,D", "pkcsslotd").Run() == nil {
		return
	}
	if out, err := exec.Command("/usr/sbin/pkcsslotd").CombinedOutput(); err != nil {
		t.Fatalf("failed to start pkcsslotd: %v\n%s", err, out)
	}
	for deadline := time.Now().Add(testscale.D(5 * time.Second)); exec.Command("pgrep", "-x", "-r", "S,R,D", "pkcsslotd").Run() != nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("pkcsslotd did not start")
		}
	}
}

// startP11Kit runs `p11-kit server` for the SoftHSM token on h.socket.
func (h *harness) startP11Kit() {
	h.t.Helper()
	if _, err := exec.LookPath("p11-kit"); err != nil {
		h.t.Fatal("p11-kit is not installed: run scripts/install-deps.sh")
	}
	os.Remove(h.socket)
	cmd := exec.Command("p11-kit", "server", "-f", "-n", h.socket, "--provider", h.store.Module, "pkcs11:")
	cmd.Env = append(os.Environ(), h.store.Env())
	// Its own process group: p11-kit server runs a child per client, and
	// pulling the token means killing them all.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.server = cmd
	h.t.Cleanup(func() { h.stopP11Kit() })
	for deadline := time.Now().Add(testscale.D(5 * time.Second)); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(h.socket); err == nil {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatal("p11-kit server did not start")
		}
	}
}

// stopP11Kit kills the server: to the agent, the token is pulled.
func (h *harness) stopP11Kit() {
	if h.server != nil && h.server.Process != nil {
		syscall.Kill(-h.server.Process.Pid, syscall.SIGKILL)
		h.server.Wait()
		h.server = nil
	}
}

type harnessOpts struct {
	spy    bool // put OpenSC's pkcs11-spy in front of SoftHSM
	limits string
	// tsaURL is the [tsa] url.
	tsaURL string
	// p11kit puts `p11-kit server` in front of SoftHSM, reached through
	// p11-kit-client.so, so that a test can pull the token.
	p11kit bool
	// openCryptoki puts the token (RSA key only) on openCryptoki's
	// software token instead of SoftHSM.
	openCryptoki bool
	// before runs after the token exists, before the agent starts.
	before func(h *harness)
	// metrics is the [metrics] section's body; default a loopback
	// listener on a free port.
	metrics string
	// audit is extra [audit] keys.
	audit string
	// pki, when set, issues the token's certificates from its
	// intermediate (OCSP, CRL and AIA on loopback) instead of a bare CA.
	pki *revtest.PKI
	// extra is TOML appended to the configuration (e.g. [trust]).
	extra string
	// keys are more keys on the token (e.g. for document protection).
	keys []softhsm.KeySpec
	// slowSign, when set, puts softhsm's slow module in front of SoftHSM:
	// each signature takes slowSign, one at a time, as on a smartcard.
	slowSign time.Duration
}

var (
	rsaID     = []byte{0x01}
	p256ID    = []byte{0x02}
	expiredID = []byte{0x03}
	alwaysID  = []byte{0x04}
)

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	dir := t.TempDir()
	store, err := softhsm.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", store.Conf)
	var ca *softhsm.CA
	if o.pki != nil {
		ca = o.pki.CA()
	} else {
		ca, err = softhsm.NewCA(pkix.Name{CommonName: "Test BSrE CA", Organization: []string{"Test"}})
		if err != nil {
			t.Fatal(err)
		}
		// Validators such as pdfcpu want revocation evidence: the CA
		// serves a CRL on loopback and its certificates point at it.
		ca.CRLURL = padestest.CRLServer(t, ca.Cert, ca.Key)
	}
	spec := softhsm.TokenSpec{
		Label: "ASN Test", PIN: testPIN, SOPIN: "13579135",
		Keys: []softhsm.KeySpec{
			{Label: "rsa", ID: rsaID, Type: "RSA-2048", Subject: pkix.Name{CommonName: "Budi Santoso", Organization: []string{"Pemkot"}}},
			{Label: "p256", ID: p256ID, Type: "EC-P256", Subject: pkix.Name{CommonName: "Siti Rahayu"}},
			{Label: "old", ID: expiredID, Type: "EC-P256", Subject: pkix.Name{CommonName: "Expired"},
				NotBefore: time.Now().AddDate(-3, 0, 0), NotAfter: time.Now().AddDate(0, 0, -2)},
			{Label: "always", ID: alwaysID, Type: "RSA-2048", AlwaysAuthenticate: true, Subject: pkix.Name{CommonName: "Always Auth"}},
		},
		ExtraCerts: []*x509.Certificate{ca.Cert},
	}
	spec.Keys = append(spec.Keys, o.keys...)
	var tok *softhsm.Token
	if o.openCryptoki {
		// openCryptoki's software token counts wrong PINs and locks,
		// which SoftHSM never does. Its SO PIN starts as 87654321.
		startSlotDaemon(t)
		spec.SOPIN, spec.Keys = ockSOPIN, spec.Keys[:1]
		tok, err = softhsm.CreateTokenOn(ockModule, ockSlot, spec, ca)
	} else {
		tok, err = store.CreateToken(spec, ca)
	}
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, caFile: filepath.Join(dir, "ca.pem"), fake: pinentrytest.Install(t, pinentrytest.Behaviour{Action: "pin", PIN: testPIN}),
		serial: tok.Serial, certs: tok.Certs, ca: ca, dir: dir}
	if err := softhsm.WriteCertPEM(h.caFile, ca.Cert); err != nil {
		t.Fatal(err)
	}
	if o.pki != nil {
		h.caFile = o.pki.RootFile
	}
	module := store.Module
	if o.openCryptoki {
		module = ockModule
	}
	if o.p11kit {
		h.socket = filepath.Join(dir, "p11kit.sock")
		h.store = store
		h.startP11Kit()
		t.Setenv("P11_KIT_SERVER_ADDRESS", "unix:path="+h.socket)
		module = p11kitClient
	}
	if o.spy {
		if _, err := os.Stat(spyModule); err != nil {
			t.Fatalf("pkcs11-spy is missing (Debian package opensc): %v", err)
		}
		h.spyLog = filepath.Join(dir, "spy.log")
		t.Setenv("PKCS11SPY", store.Module)
		t.Setenv("PKCS11SPY_OUTPUT", h.spyLog)
		module = spyModule
	}
	if o.slowSign > 0 {
		slow, err := store.BuildSlowModule(dir, o.slowSign)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range slow.Env() {
			k, v, _ := strings.Cut(e, "=")
			t.Setenv(k, v)
		}
		module = slow.Path
	}
	if o.metrics == "" {
		o.metrics = `listen = "127.0.0.1:0"`
	}
	conf := fmt.Sprintf(`listen = "127.0.0.1:0"
[pkcs11]
modules = [%q]
rescan = "2s"
[pinentry]
program = %q
timeout = %q
[[origins]]
origin = %q
allow = ["documents", "digest"]
[[origins]]
origin = %q
allow = ["documents"]
[[origins]]
origin = %q
allow = ["digest"]
[tsa]
url = %q
[audit]
path = %q
%s
[uploads]
dir = %q
memory_bytes = 2048
idle_timeout = %q
[metrics]
%s
[limits]
%s
%s
`, module, h.fake.Program, testTimeout, testOrigin, docsOrigin, otherOrigin, o.tsaURL, h.auditPath(), o.audit, h.spool(), uploadIdle, o.metrics, o.limits, o.extra)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if o.before != nil {
		o.before(h)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(newTestWriter(t), &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.d, err = agent.Start(cfg, agent.NewPrompter(cfg, log), log)
	if err != nil {
		t.Fatal(err)
	}
	h.port = h.d.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testscale.D(5*time.Second))
		defer cancel()
		if err := h.d.Close(ctx); err != nil {
			t.Errorf("closing the agent: %v", err)
		}
	})
	return h
}

// testWriter sends the agent's log to the test's log while the test runs,
// and drops what background work logs after it ended.
type testWriter struct {
	t    *testing.T
	mu   *sync.Mutex
	done *bool
}

func newTestWriter(t *testing.T) testWriter {
	w := testWriter{t: t, mu: &sync.Mutex{}, done: new(bool)}
	t.Cleanup(func() {
		w.mu.Lock()
		*w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w testWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !*w.done {
		w.t.Log(strings.TrimSpace(string(b)))
	}
	return len(b), nil
}

// auditPath is the agent's audit trail.
func (h *harness) auditPath() string { return filepath.Join(h.dir, "audit", "audit.log") }

// spool is the agent's upload directory.
func (h *harness) spool() string { return filepath.Join(h.dir, "spool") }

// spoolFiles lists what the agent holds on disk.
func (h *harness) spoolFiles() []string {
	h.t.Helper()
	m, err := filepath.Glob(filepath.Join(h.spool(), "*"))
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

func (h *harness) certID(keyID []byte) string {
	return fmt.Sprintf("%s/%x", h.serial, keyID)
}

// client is a test page: a WebSocket client that speaks the protocol.
type client struct {
	t      *testing.T
	ws     *websocket.Conn
	nextID int
	notes  []protocol.Notification
}

func (h *harness) dial(origin string) *client {
	h.t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(h.d.URL(), http.Header{"Origin": {origin}})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		h.t.Fatalf("dial from %s: %v (HTTP %d)", origin, err, status)
	}
	h.t.Cleanup(func() { ws.Close() })
	return &client{t: h.t, ws: ws}
}

type rpcResponse struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *protocol.Error `json:"error"`
}

// call sends a request and reads up to its response; notifications on the
// way are kept in c.notes.
func (c *client) call(method string, params any) (json.RawMessage, *protocol.Error) {
	c.t.Helper()
	c.nextID++
	msg := map[string]any{"jsonrpc": "2.0", "id": c.nextID, "method": method}
	if params != nil {
		msg["params"] = params
	}
	data, _ := json.Marshal(msg)
	return c.raw(data, fmt.Sprint(c.nextID))
}

// raw sends a text frame and reads up to the response with the id.
func (c *client) raw(data []byte, id string) (json.RawMessage, *protocol.Error) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, data); err != nil {
		c.t.Fatalf("write: %v", err)
	}
	return c.await(id)
}

func (c *client) await(id string) (json.RawMessage, *protocol.Error) {
	c.t.Helper()
	for {
		r := c.read()
		if r.Method != "" {
			c.notes = append(c.notes, protocol.Notification{Method: r.Method, Params: r.Params})
			continue
		}
		if string(r.ID) != id {
			c.t.Fatalf("response for id %s while waiting for %s", r.ID, id)
		}
		if r.Error != nil {
			return nil, r.Error
		}
		return r.Result, nil
	}
}

func (c *client) read() rpcResponse {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(testscale.D(20 * time.Second)))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var r rpcResponse
	if err := json.Unmarshal(data, &r); err != nil {
		c.t.Fatalf("bad message %s: %v", data, err)
	}
	return r
}

// mustCall calls and fails the test on an error response.
func mustCall[T any](c *client, method string, params any) T {
	c.t.Helper()
	raw, perr := c.call(method, params)
	if perr != nil {
		c.t.Fatalf("%s: %v", method, perr)
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		c.t.Fatalf("%s result %s: %v", method, raw, err)
	}
	return v
}

// wantError checks an error's code and reason.
func wantError(t *testing.T, got *protocol.Error, reason protocol.Reason) {
	t.Helper()
	if got == nil {
		t.Fatalf("got a result, want error %s", reason)
	}
	if got.Data.Reason != reason || got.Code != reason.Code() {
		t.Fatalf("got error %d %s (%s), want %d %s", got.Code, got.Data.Reason, got.Data.Detail, reason.Code(), reason)
	}
}

// handshake sends a raw upgrade request and returns the status and body.
func (h *harness) handshake(host string, origins []string, path string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", h.port, path), nil)
	if host != "" {
		req.Host = host
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	for _, o := range origins {
		req.Header.Add("Origin", o)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp.StatusCode, "" // the body is the WebSocket now
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
