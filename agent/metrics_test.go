package agent_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/crypto/bcrypt"

	"github.com/tte-agent/tte-agent/agent/metrics"
	"github.com/tte-agent/tte-agent/agent/pinentry/pinentrytest"
	"github.com/tte-agent/tte-agent/protocol"
)

// scrape fetches /metrics from the agent's loopback metrics listener.
func scrape(t *testing.T, h *harness) string {
	t.Helper()
	resp, err := http.Get("http://" + h.d.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body)
	}
	return string(body)
}

// TestMetricsAfterSigning signs on SoftHSM, has a dialog cancelled and a
// page refused, then checks the values with client_golang's testutil and
// the live scrape with promtool.
func TestMetricsAfterSigning(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	reg := h.d.Agent.Metrics().Registry
	c := h.dial(testOrigin)
	mustCall[protocol.SignDigestResult](c, "sign.digest", digestParams(h, rsaID, "a.pdf", "b.pdf", "c.pdf"))
	h.fake.Set(t, pinentrytest.Behaviour{Action: "cancel"})
	_, perr := c.call("sign.digest", digestParams(h, p256ID, "d.pdf"))
	wantError(t, perr, protocol.ReasonUserCancelled)
	if code, _ := h.handshake(fmt.Sprintf("127.0.0.1:%d", h.port), []string{"https://evil.example"}, "/v1"); code != 403 {
		t.Fatalf("handshake from another origin: %d", code)
	}

	// Every known series exists, at 0 unless something happened.
	want := zeroSeries(map[string]float64{
		`tte_agent_signatures_total{format="raw",result="ok"}`:             3,
		`tte_agent_signatures_total{format="raw",result="user_cancelled"}`: 1,
		`tte_agent_dialogs_total{outcome="consented"}`:                     1,
		`tte_agent_dialogs_total{outcome="user_cancelled"}`:                1,
		`tte_agent_requests_rejected_total{reason="forbidden"}`:            1,
		`tte_agent_requests_rejected_total{reason="user_cancelled"}`:       1,
	})
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want+`
# HELP tte_agent_connections_open Open WebSocket connections from pages.
# TYPE tte_agent_connections_open gauge
tte_agent_connections_open 1
`), "tte_agent_signatures_total", "tte_agent_dialogs_total", "tte_agent_requests_rejected_total", "tte_agent_connections_open"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "tte_agent_sign_duration_seconds"); n != len(metrics.Formats) {
		t.Errorf("sign duration series: %d, want %d (one per format, from the start)", n, len(metrics.Formats))
	}

	body := scrape(t, h)
	// Token state from the watcher's cache: present, PIN ok, and the
	// expiry of each certificate with a key, the expired one included.
	for _, want := range []string{
		"tte_agent_tokens_present 1",
		"tte_agent_token_state_known 1",
		fmt.Sprintf(`tte_agent_token_pin_status{status="ok",token="%s"} 1`, h.serial),
		fmt.Sprintf(`tte_agent_token_pin_status{status="locked",token="%s"} 0`, h.serial),
		`tte_agent_request_duration_seconds_count{method="sign.digest"} 2`,
		`tte_agent_build_info{goversion="go`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if n := strings.Count(body, "tte_agent_certificate_not_after_timestamp_seconds{"); n != 4 {
		t.Errorf("%d certificate expiry series, want 4", n)
	}
	for _, forbidden := range []string{"a.pdf", "d.pdf"} {
		if strings.Contains(body, forbidden) {
			t.Errorf("a document name reached the metrics: %s", forbidden)
		}
	}

	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatal("promtool is not installed: run scripts/install-deps.sh test")
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	resp, err := http.Get("http://" + h.d.MetricsAddr().String() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz: %v %v", err, resp)
	}
}

// TestMetricsOverTLS: for fleet scraping the metrics listener binds
// beyond loopback, and then serves only TLS with basic auth from an
// exporter-toolkit web config; the WebSocket stays on loopback.
func TestMetricsOverTLS(t *testing.T) {
	dir := t.TempDir()
	caPool, certFile, keyFile := serverCert(t, dir)
	hash, _ := bcrypt.GenerateFromPassword([]byte("rahasia-prometheus"), bcrypt.MinCost)
	web := filepath.Join(dir, "web.yml")
	os.WriteFile(web, []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: %s\n", certFile, keyFile, hash)), 0o600)
	port := freeTCPPort(t)
	h := newHarness(t, harnessOpts{metrics: fmt.Sprintf("listen = \"0.0.0.0:%d\"\nweb_config = %q", port, web)})
	if !strings.HasPrefix(h.d.URL(), "ws://127.0.0.1:") {
		t.Errorf("the WebSocket left loopback: %s", h.d.URL())
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/metrics", port)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool}}}
	get := func(user, pass string) int {
		req, _ := http.NewRequest("GET", url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == 200 && !strings.Contains(string(body), "tte_agent_tokens_present 1") {
			t.Errorf("scrape over TLS lacks the token gauge")
		}
		return resp.StatusCode
	}
	if code := get("prometheus", "rahasia-prometheus"); code != 200 {
		t.Errorf("scrape with the right user: %d", code)
	}
	if code := get("prometheus", "salah"); code != 401 {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code := get("", ""); code != 401 {
		t.Errorf("no credentials: %d, want 401", code)
	}
	if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port)); err == nil && resp.StatusCode == 200 {
		t.Error("plain HTTP was served on the fleet listener")
	}
}

func freeTCPPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// serverCert makes a CA and a server certificate for 127.0.0.1.
func serverCert(t *testing.T, dir string) (*x509.CertPool, string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tte-agent metrics"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return pool, certFile, keyFile
}

// zeroSeries is the exposition of the labelled counters with every known
// label value at 0, but for set.
func zeroSeries(set map[string]float64) string {
	var b strings.Builder
	line := func(series string) {
		fmt.Fprintf(&b, "%s %v\n", series, set[series])
		delete(set, series)
	}
	b.WriteString("# HELP tte_agent_signatures_total Items signed or, for format decrypt, opened with the token (result=ok), and such requests that failed (result=the error reason), by format (raw, cms, pades, decrypt).\n# TYPE tte_agent_signatures_total counter\n")
	for _, f := range metrics.Formats {
		line(fmt.Sprintf(`tte_agent_signatures_total{format=%q,result="ok"}`, f))
	}
	for series := range set {
		if strings.HasPrefix(series, "tte_agent_signatures_total") {
			line(series)
		}
	}
	b.WriteString("# HELP tte_agent_dialogs_total Consent and PIN dialogs by outcome: consented, user_cancelled, timeout, cancelled, internal.\n# TYPE tte_agent_dialogs_total counter\n")
	for _, o := range metrics.DialogOutcomes {
		line(fmt.Sprintf(`tte_agent_dialogs_total{outcome=%q}`, o))
	}
	b.WriteString("# HELP tte_agent_requests_rejected_total Requests answered with an error, and refused handshakes (reason=forbidden), by reason.\n# TYPE tte_agent_requests_rejected_total counter\n")
	for _, r := range metrics.Reasons {
		line(fmt.Sprintf(`tte_agent_requests_rejected_total{reason=%q}`, r))
	}
	return b.String()
}
