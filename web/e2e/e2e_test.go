// Package e2e runs the demo e-office page in Debian's chromium, driven by
// playwright-core (browser.test.mjs), against a real agent on a SoftHSM
// token with a fake pinentry, and checks the files the browser downloaded
// with pdfsig, qpdf and pdfcpu.
package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/agent"
	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/agent/pinentry/pinentrytest"
	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/pades/padestest"
	"github.com/tte-agent/tte-agent/revocation/revtest"
	"github.com/tte-agent/tte-agent/token/softhsm"
	"github.com/tte-agent/tte-agent/trust"
	"github.com/tte-agent/tte-agent/tsa/tsatest"
	"github.com/tte-agent/tte-agent/verify"
	"github.com/tte-agent/tte-agent/web"
)

const (
	pin       = "246810"
	envCreate = "TTE_E2E_CREATE_TOKEN" // this binary creates a token and exits
)

func TestMain(m *testing.M) {
	pinentrytest.RunIfFake()
	if label := os.Getenv(envCreate); label != "" {
		os.Exit(createToken(label))
	}
	os.Exit(m.Run())
}

// createToken adds a token with a certificate to the SoftHSM store in
// SOFTHSM2_CONF from this separate process, as a user plugging in a card.
func createToken(label string) int {
	dir := filepath.Dir(os.Getenv("SOFTHSM2_CONF"))
	store, err := softhsm.NewStore(dir)
	if err == nil {
		var ca *softhsm.CA
		ca, err = softhsm.NewCA(pkix.Name{CommonName: "CA Kedua"})
		if err == nil {
			_, err = store.CreateToken(softhsm.TokenSpec{Label: label, PIN: pin, SOPIN: "13579135", Keys: []softhsm.KeySpec{
				{Label: "k", ID: []byte{7}, Type: "EC-P256", Subject: pkix.Name{CommonName: "Agus Wijaya"}},
			}}, ca)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestBrowser runs web/e2e/browser.test.mjs in chromium. The Go side
// provides the agent, two page servers (one allowed, one not), the
// fixtures, and a control endpoint the browser test uses to change the
// fake pinentry, add a token and count dialogs.
func TestBrowser(t *testing.T) {
	for _, tool := range []string{"node", "/usr/bin/chromium", "pdfsig", "qpdf"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run scripts/install-deps.sh test", tool)
		}
	}
	if _, err := os.Stat("../node_modules/playwright-core"); err != nil {
		t.Fatalf("playwright-core is not installed: run `npm ci` in web/ (scripts/install-deps.sh test does): %v", err)
	}

	dir := t.TempDir()
	store, err := softhsm.NewStore(filepath.Join(dir, "hsm"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", store.Conf)
	// The token's certificate comes from a CA with an OCSP responder, CRLs
	// and AIA on loopback, as BSrE's do: the page signs at B-LT.
	pki, err := revtest.Start(dir, revtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pki.Close()
	if _, err := store.CreateToken(softhsm.TokenSpec{Label: "Kartu ASN", PIN: pin, SOPIN: "12345678", Keys: []softhsm.KeySpec{
		{Label: "ttd", ID: []byte{1}, Type: "RSA-2048", Subject: pkix.Name{CommonName: "Siti Rahmawati", Organization: []string{"Pemerintah Kota Demo"}},
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment, Email: []string{"siti@demo.go.id"}},
	}, ExtraCerts: []*x509.Certificate{pki.Inter}}, pki.CA()); err != nil {
		t.Fatal(err)
	}
	caPEM := pki.RootFile
	rina := colleague(t, dir, pki)

	fake := pinentrytest.Install(t, pinentrytest.Behaviour{Action: "pin", PIN: pin})
	stamps := tsatest.Start(t)
	good, goodURL := listen(t)
	bad, badURL := listen(t)
	conf := fmt.Sprintf(`listen = "127.0.0.1:0"
[pkcs11]
modules = [%q]
rescan = "2s"
[pinentry]
program = %q
timeout = "60s"
[[origins]]
origin = %q
allow = ["documents", "verify", "encrypt", "decrypt"]
[tsa]
url = %q
[trust]
anchors = [%q, %q]
[audit]
path = %q
[uploads]
dir = %q
[metrics]
listen = ""
`, store.Module, fake.Program, goodURL, stamps.URL, pki.RootFile, stamps.CAFile, filepath.Join(dir, "audit.log"), filepath.Join(dir, "spool"))
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(&testLog{t: t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	d, err := agent.Start(cfg, agent.NewPrompter(cfg, log), log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), testscale.D(5*time.Second))
		defer cancel()
		d.Close(ctx)
	}()
	for _, l := range []net.Listener{good, bad} {
		srv := &http.Server{Handler: web.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(l)
		defer srv.Close()
	}
	cl, control := listen(t)
	csrv := &http.Server{Handler: &controller{t: t, fake: fake, tsa: stamps}, ReadHeaderTimeout: 5 * time.Second}
	go csrv.Serve(cl)
	defer csrv.Close()

	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o700); err != nil {
		t.Fatal(err)
	}
	fixtures, _ := filepath.Abs("../../pades/testdata")
	// Test output a developer can look at: the screenshot of the signed
	// state and the downloaded files, kept under web/e2e/output.
	keep, _ := filepath.Abs("output")
	os.RemoveAll(keep)
	if err := os.MkdirAll(keep, 0o755); err != nil {
		t.Fatal(err)
	}

	// The allowed page is served as a public origin, as a real e-office
	// is: Chromium then holds it to Local Network Access. The browser of
	// most scenarios has the managed policy that `tte-agent policy write`
	// writes for the agent's origins, in a test-only directory that
	// chromiumWithPolicy binds where Chromium reads it; one scenario runs
	// without it. The other origin stays local: its scenario is about the
	// agent's own refusal.
	browser, bin := chromiumWithPolicy(t, dir, goodURL)
	profile := extensionProfile(t, dir, bin, cfgPath)
	extension, _ := filepath.Abs("../extension")
	public := fmt.Sprintf("--ip-address-space-overrides=%s=public", strings.TrimPrefix(goodURL, "http://"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", "browser.test.mjs")
	cmd.Env = append(os.Environ(),
		// The page's waits scale with the machine's load as the Go
		// tests' do (internal/testscale).
		fmt.Sprintf("TTE_TEST_SCALE=%g", testscale.Factor()),
		"TTE_CHROMIUM="+browser,
		"TTE_CA_FILE="+pki.RootFile,
		"TTE_INTER_FILE="+pki.InterFile,
		"TTE_RINA="+rina,
		"TTE_EXTENSION="+extension,
		"TTE_EXT_PROFILE="+profile,
		"TTE_PUBLIC_FLAG="+public,
		"TTE_AGENT_URL="+d.URL(),
		"TTE_PAGE_URL="+goodURL+"/",
		"TTE_BAD_PAGE_URL="+badURL+"/",
		"TTE_CONTROL_URL="+control,
		"TTE_FIXTURES="+fixtures,
		"TTE_OUT="+out,
		"TTE_KEEP="+keep,
	)
	outb, err := cmd.CombinedOutput()
	t.Logf("browser tests:\n%s", outb)
	if err != nil {
		t.Fatalf("browser tests failed: %v", err)
	}

	// The downloaded files are real signed PDFs.
	signed, _ := filepath.Glob(filepath.Join(out, "*-ttd.pdf"))
	if len(signed) != 3 {
		t.Fatalf("downloaded %d signed files, want 3: %v", len(signed), signed)
	}
	anchors, err := trust.Load([]string{pki.RootFile, stamps.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range signed {
		r := padestest.Check(t, f, caPEM)
		// At B-LT a DSS update follows the signature: pdfsig says "not
		// total document signed"; the verifier below says what was added.
		if len(r.PdfsigValid) == 0 || !r.PdfsigValid[len(r.PdfsigValid)-1] {
			t.Errorf("%s: pdfsig does not accept the signature:\n%s", filepath.Base(f), r)
		}
		file, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := file.Stat()
		rep := verify.PDF(context.Background(), f, file, st.Size(), verify.Options{Trust: trust.NewStore(anchors, nil, nil)})
		file.Close()
		if !rep.Valid || rep.Signatures[0].Level != "B-LT" || !rep.Signatures[0].Unchanged.OK {
			t.Errorf("%s: not a valid B-LT signature: %+v", filepath.Base(f), rep)
		}
		data, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(keep, filepath.Base(f)), data, 0o644)
	}
}

// chromiumWithPolicy writes the browser policy for origin with the real
// `tte-agent policy write` into a test-only root, and returns a program
// that starts Chromium with that policy: Chromium reads managed policies
// only from /etc/chromium/policies/managed, so the program binds the
// test's directory there in a mount namespace of its own (root, as CI
// runs; the machine's own policies are not touched).
func chromiumWithPolicy(t *testing.T, dir, origin string) (string, string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Fatal("the browser tests bind a test-only policy directory for Chromium, which needs root: run make test as root (CI does)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatalf("unshare (util-linux) is missing: %v", err)
	}
	bin := filepath.Join(dir, "tte-agent")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/tte-agent/tte-agent/cmd/tte-agent").CombinedOutput(); err != nil {
		t.Fatalf("go build tte-agent: %v\n%s", err, out)
	}
	root := filepath.Join(dir, "root")
	cmd := exec.Command(bin, "policy", "write", "--path", filepath.Join(dir, "policy", "policy.toml"), "--origins", origin, "--browser-root", root)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "browser policies written for 1 origin") {
		t.Fatalf("tte-agent policy write: %v\n%s", err, out)
	}
	const managed = "/etc/chromium/policies/managed"
	if err := os.MkdirAll(managed, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(dir, "chromium-with-policy")
	script := "#!/bin/sh\n# Chromium with the test's managed policies bound over " + managed + ", for this browser only.\n" +
		"exec unshare --mount sh -c 'mount --bind \"$0\" " + managed + " && exec /usr/bin/chromium \"$@\"' " +
		"'" + filepath.Join(root, "etc/chromium/policies/managed") + "' \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper, bin
}

// extensionProfile is a Chromium profile in which the tte-agent extension
// may start its native-messaging host: the manifest `tte-agent
// native-manifest` prints, in the profile's NativeMessagingHosts (where
// Chromium looks for a user's hosts), naming a program that runs the
// host with the test agent's configuration (browsers pass no arguments of
// the manifest's, so the packages name tte-agent itself).
func extensionProfile(t *testing.T, dir, bin, cfg string) string {
	t.Helper()
	profile := filepath.Join(dir, "profile")
	hosts := filepath.Join(profile, "NativeMessagingHosts")
	if err := os.MkdirAll(hosts, 0o700); err != nil {
		t.Fatal(err)
	}
	host := filepath.Join(dir, "native-host")
	if err := os.WriteFile(host, []byte("#!/bin/sh\nexec '"+bin+"' native-host --config '"+cfg+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	manifest, err := exec.Command(bin, "native-manifest", "--browser", "chromium", "--path", host).Output()
	if err != nil {
		t.Fatalf("tte-agent native-manifest: %v", err)
	}
	if err := os.WriteFile(filepath.Join(hosts, "id.tte_agent.json"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	return profile
}

// listen opens a loopback listener and returns it with its http URL.
func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l, "http://" + l.Addr().String()
}

// controller is what the browser test asks of the test's side:
//
//	POST /pinentry {"action":"pin","pin":"…"}  how the next dialogs answer
//	POST /token?label=…                         a new token appears
//	POST /tsa?delay=2s                          the TSA answers that slowly
//	GET  /dialogs                               {"count":N} dialogs shown so far
type controller struct {
	t    *testing.T
	fake *pinentrytest.Fake
	tsa  *tsatest.Server
	mu   sync.Mutex
}

func (c *controller) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/pinentry":
		var b pinentrytest.Behaviour
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.fake.Set(c.t, b)
	case r.Method == http.MethodPost && r.URL.Path == "/token":
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), envCreate+"="+r.URL.Query().Get("label"))
		if out, err := cmd.CombinedOutput(); err != nil {
			http.Error(w, fmt.Sprintf("%v: %s", err, out), http.StatusInternalServerError)
			return
		}
	case r.Method == http.MethodPost && r.URL.Path == "/tsa":
		d, err := time.ParseDuration(r.URL.Query().Get("delay"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.tsa.SetDelay(d)
	case r.Method == http.MethodGet && r.URL.Path == "/dialogs":
		json.NewEncoder(w).Encode(map[string]int{"count": len(c.fake.Shown(c.t))})
		return
	default:
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// testLog sends the agent's log to the test log until the test ends.
type testLog struct {
	t  *testing.T
	mu sync.Mutex
}

func (l *testLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// colleague issues Rina, a colleague whose key is a file (as a mail
// program holds it), under the token's CA, and writes her certificate
// and key as one PEM file (s-nail's smime-sign-cert) beside
// rina-cert.pem.
func colleague(t *testing.T, dir string, pki *revtest.PKI) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.CA().Issue(&key.PublicKey, softhsm.KeySpec{Subject: pkix.Name{CommonName: "Rina Wulandari"}, Email: []string{"rina@demo.go.id"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment})
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	both := filepath.Join(dir, "rina.pem")
	if err := os.WriteFile(both, append(certPEM, keyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rina-cert.pem"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return both
}
