// Package revtest runs a certificate authority on loopback for tests and
// the demo: a root, an intermediate that issues end-entity certificates, an
// OCSP responder (the intermediate itself or a delegated responder), CRLs
// for both CAs and the CA certificates for AIA chasing, with revocations
// and outages on demand.
package revtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tte-agent/tte-agent/token/softhsm"
)

// Mode makes a service misbehave.
type Mode string

// The modes.
const (
	Up      Mode = ""
	Down    Mode = "down"    // HTTP 503
	Unknown Mode = "unknown" // OCSP answers "unknown"
	Garbage Mode = "garbage" // not DER
)

// Options shape the hierarchy.
type Options struct {
	// Delegated makes a separate responder certificate (id-kp-OCSPSigning,
	// issued by the intermediate) sign OCSP answers.
	Delegated bool
	// ExpiredIntermediate makes the intermediate expire yesterday.
	ExpiredIntermediate bool
	// Names of the CAs; defaults are BSrE-like test names.
	RootName, InterName string
}

// PKI is a running test CA hierarchy.
type PKI struct {
	URL string
	// Root and Inter with their keys; RootFile and InterFile hold their
	// PEM, AnchorFile the root's (the trust anchor).
	Root, Inter         *x509.Certificate
	RootKey, InterKey   crypto.Signer
	RootFile, InterFile string
	// Responder is the delegated OCSP responder's certificate, or nil.
	Responder    *x509.Certificate
	responderKey crypto.Signer

	mu      sync.Mutex
	revoked map[string]revocation
	ocsp    Mode
	crl     Mode
	delay   time.Duration
	hits    map[string]int
	srv     *http.Server
}

type revocation struct {
	at     time.Time
	reason int
}

// Start runs a hierarchy until Close; dir receives the PEM files.
func Start(dir string, o Options) (*PKI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &PKI{URL: "http://" + ln.Addr().String(), revoked: map[string]revocation{}, hits: map[string]int{}}
	if o.RootName == "" {
		o.RootName = "Test Root CA Indonesia DS G1"
	}
	if o.InterName == "" {
		o.InterName = "Test BSRE CA DS G1"
	}
	now := time.Now()
	p.RootKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.Root, err = create(&x509.Certificate{
		Subject:   pkix.Name{CommonName: o.RootName, Organization: []string{"Test Kominfo"}, Country: []string{"ID"}},
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.AddDate(20, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, p.RootKey.Public(), p.RootKey)
	if err != nil {
		return nil, err
	}
	interNA := now.AddDate(10, 0, 0)
	if o.ExpiredIntermediate {
		interNA = now.Add(-24 * time.Hour)
	}
	p.InterKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.Inter, err = create(&x509.Certificate{
		Subject:   pkix.Name{CommonName: o.InterName, Organization: []string{"Test BSSN"}, Country: []string{"ID"}},
		NotBefore: now.Add(-47 * time.Hour), NotAfter: interNA,
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		CRLDistributionPoints: []string{p.URL + "/root.crl"}, IssuingCertificateURL: []string{p.URL + "/root.cer"},
	}, p.Root, p.InterKey.Public(), p.RootKey)
	if err != nil {
		return nil, err
	}
	if o.Delegated {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		p.Responder, err = create(&x509.Certificate{
			Subject:   pkix.Name{CommonName: "Test BSrE OCSP Responder"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
			ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}, Value: []byte{5, 0}}},
		}, p.Inter, k.Public(), p.InterKey)
		if err != nil {
			return nil, err
		}
		p.responderKey = k
	}
	p.RootFile, p.InterFile = filepath.Join(dir, "root-ca.pem"), filepath.Join(dir, "intermediate-ca.pem")
	if err := writePEM(p.RootFile, p.Root); err != nil {
		return nil, err
	}
	if err := writePEM(p.InterFile, p.Inter); err != nil {
		return nil, err
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// Close stops the servers.
func (p *PKI) Close() { p.srv.Close() }

// CA returns the intermediate as an issuer of token certificates whose
// certificates name this PKI's OCSP responder, CRL and CA certificate.
func (p *PKI) CA() *softhsm.CA {
	return &softhsm.CA{Cert: p.Inter, Key: p.InterKey, CRLURL: p.URL + "/inter.crl", OCSPURL: p.URL + "/ocsp", IssuerURL: p.URL + "/inter.cer"}
}

// Revoke marks cert revoked now with an RFC 5280 reason code.
func (p *PKI) Revoke(cert *x509.Certificate, reason int) time.Time {
	at := time.Now().Add(-time.Second).Truncate(time.Second)
	p.mu.Lock()
	p.revoked[cert.SerialNumber.String()] = revocation{at: at, reason: reason}
	p.mu.Unlock()
	return at
}

// SetOCSP and SetCRL make the OCSP responder or the CRLs misbehave.
func (p *PKI) SetOCSP(m Mode) { p.mu.Lock(); p.ocsp = m; p.mu.Unlock() }

// SetCRL makes both CRLs misbehave.
func (p *PKI) SetCRL(m Mode) { p.mu.Lock(); p.crl = m; p.mu.Unlock() }

// SetOCSPDelay makes the OCSP responder answer d late (or never, when
// the client gives up first), as a responder on a congested link does.
func (p *PKI) SetOCSPDelay(d time.Duration) { p.mu.Lock(); p.delay = d; p.mu.Unlock() }

// Hits returns how many requests a path ("/ocsp", "/inter.crl", ...) got.
func (p *PKI) Hits(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[path]
}

func (p *PKI) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, "/ocsp") {
		path = "/ocsp"
	}
	p.mu.Lock()
	p.hits[path]++
	ocspMode, crlMode, delay := p.ocsp, p.crl, p.delay
	p.mu.Unlock()
	if path == "/ocsp" && delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch path {
	case "/root.cer":
		w.Header().Set("Content-Type", "application/pkix-cert")
		w.Write(p.Root.Raw)
	case "/inter.cer":
		w.Header().Set("Content-Type", "application/pkix-cert")
		w.Write(p.Inter.Raw)
	case "/root.crl", "/inter.crl":
		if crlMode == Down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if crlMode == Garbage {
			w.Write([]byte("not a CRL"))
			return
		}
		ca, key := p.Inter, p.InterKey
		if path == "/root.crl" {
			ca, key = p.Root, p.RootKey
		}
		crl, err := p.crlFor(ca, key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(crl)
	case "/ocsp":
		if ocspMode == Down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if ocspMode == Garbage {
			w.Header().Set("Content-Type", "application/ocsp-response")
			w.Write([]byte("garbage"))
			return
		}
		var body []byte
		if r.Method == http.MethodGet {
			body, _ = base64.StdEncoding.DecodeString(strings.TrimPrefix(r.URL.Path, "/ocsp/"))
		} else {
			body, _ = io.ReadAll(io.LimitReader(r.Body, 1<<16))
		}
		resp, err := p.answer(body, ocspMode == Unknown)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(resp)
	default:
		http.NotFound(w, r)
	}
}

func (p *PKI) crlFor(ca *x509.Certificate, key crypto.Signer) ([]byte, error) {
	p.mu.Lock()
	var entries []x509.RevocationListEntry
	for s, rv := range p.revoked {
		n, _ := new(big.Int).SetString(s, 10)
		entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: rv.at, ReasonCode: rv.reason})
	}
	p.mu.Unlock()
	return x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(time.Now().UnixNano()), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: entries,
	}, ca, key)
}

func create(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	tmpl.SerialNumber, _ = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func writePEM(path string, c *x509.Certificate) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o644)
}

// keyHash is the SHA-1 of a certificate's public key bits.
func keyHash(c *x509.Certificate) []byte {
	var spki struct {
		Alg pkix.AlgorithmIdentifier
		Key asn1.BitString
	}
	asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki)
	h := sha1.Sum(spki.Key.RightAlign())
	return h[:]
}
