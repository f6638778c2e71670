// Package tsatest runs an RFC 3161 time-stamping authority on loopback for
// tests, with a CA and a TSA certificate of its own, and faults on demand.
package tsatest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

// Fault makes the TSA misbehave.
type Fault string

// The faults.
const (
	OK          Fault = ""
	WrongDigest Fault = "wrong-digest" // stamps another imprint
	WrongNonce  Fault = "wrong-nonce"  // answers with another nonce
	Refuse      Fault = "refuse"       // PKIStatus rejection
	Garbage     Fault = "garbage"      // not DER
	HTTPError   Fault = "http-500"
)

// Server is a running test TSA.
type Server struct {
	URL string
	// CAFile is the PEM of the CA that issued the TSA certificate.
	CAFile string
	// CertFile is the PEM of the TSA certificate.
	CertFile string
	CA       *x509.Certificate
	Cert     *x509.Certificate

	key   crypto.Signer
	caKey crypto.Signer
	srv   *httptest.Server
	mu    sync.Mutex
	fault Fault
	count int
	delay time.Duration
}

// Start runs a TSA until the test ends. Its certificate names a CRL the
// server also serves (/tsa-ca.crl), so that long-term validation data for
// its time-stamps can be gathered.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// New runs a TSA until Close, with its PEM files in dir (the demo and the
// benchmark use it outside tests).
func New(dir string) (*Server, error) {
	s := &Server{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	base := "http://" + srv.Listener.Addr().String()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test TSA Root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	// RFC 3161 §2.3: the TSA certificate's only extended key usage is
	// timeStamping, marked critical (Go would mark it non-critical).
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Test TSA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		CRLDistributionPoints: []string{base + "/tsa-ca.crl"},
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	s.CA, s.Cert, s.key, s.caKey = ca, cert, key, caKey
	s.CAFile, s.CertFile = filepath.Join(dir, "tsa-ca.pem"), filepath.Join(dir, "tsa.pem")
	os.WriteFile(s.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)
	os.WriteFile(s.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	srv.Start()
	s.srv = srv
	s.URL = srv.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// SetFault makes the next answers misbehave.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// SetDelay makes every answer wait d (or until the client gives up), as a
// slow TSA on a busy network does.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Count returns how many requests the TSA answered.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/tsa-ca.crl" {
		crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			Number: big.NewInt(time.Now().UnixNano()), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		}, s.CA, s.caKey)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(crl)
		return
	}
	s.mu.Lock()
	fault, delay := s.fault, s.delay
	s.count++
	s.mu.Unlock()
	select {
	case <-time.After(delay):
	case <-r.Context().Done():
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var resp []byte
	switch fault {
	case HTTPError:
		http.Error(w, "down", http.StatusInternalServerError)
		return
	case Garbage:
		resp = []byte("not a time-stamp")
	case Refuse:
		resp, _ = timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.BadRequest)
	default:
		ts := timestamp.Timestamp{
			HashAlgorithm: req.HashAlgorithm,
			HashedMessage: req.HashedMessage,
			Time:          time.Now(),
			Policy:        asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1},
			Nonce:         req.Nonce,
			Ordering:      false,
			Accuracy:      time.Second,
			// Include the TSA certificate so the token can be verified.
			AddTSACertificate: true,
		}
		if fault == WrongDigest {
			ts.HashedMessage = append([]byte{}, req.HashedMessage...)
			ts.HashedMessage[0] ^= 0xff
		}
		if fault == WrongNonce {
			ts.Nonce = new(big.Int).Add(req.Nonce, big.NewInt(1))
		}
		resp, err = ts.CreateResponseWithOpts(s.Cert, s.key, crypto.SHA256)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}
