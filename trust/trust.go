// Package trust builds certificate chains to the administrator's trust
// anchors: from the certificates a token or a signature carries, the
// configured intermediates, and, when missing, the issuers named in a
// certificate's authority information access (fetched over HTTP through an
// injected client, bounded and cached).
package trust

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/digitorus/pkcs7"
)

// ErrUntrusted means no chain leads to a trust anchor.
var ErrUntrusted = errors.New("the certificate does not chain to a trust anchor")

// maxAIA bounds a fetched issuer certificate (or PKCS#7 bundle).
const maxAIA = 256 << 10

// maxFetches bounds AIA fetches for one chain.
const maxFetches = 4

// Store holds trust anchors and known intermediates.
type Store struct {
	anchors       []*x509.Certificate
	intermediates []*x509.Certificate
	// HTTP fetches AIA issuers; nil turns fetching off.
	HTTP *http.Client

	mu      sync.Mutex
	fetched map[string]fetched
}

// fetched is an AIA URL's answer; a failure is tried again after
// retryFailed.
type fetched struct {
	certs []*x509.Certificate
	at    time.Time
}

// retryFailed is how long a failed AIA fetch is not tried again.
const retryFailed = 5 * time.Minute

// NewStore returns a store; client may be nil (no AIA fetching).
func NewStore(anchors, intermediates []*x509.Certificate, client *http.Client) *Store {
	return &Store{anchors: anchors, intermediates: intermediates, HTTP: client, fetched: map[string]fetched{}}
}

// Anchors returns the trust anchors.
func (s *Store) Anchors() []*x509.Certificate { return s.anchors }

// Load reads PEM certificates from files and directories (every *.pem,
// *.crt and *.cer in it, DER accepted too).
func Load(paths []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		files := []string{p}
		if st.IsDir() {
			files = nil
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				switch strings.ToLower(filepath.Ext(e.Name())) {
				case ".pem", ".crt", ".cer":
					files = append(files, filepath.Join(p, e.Name()))
				}
			}
			if len(files) == 0 {
				return nil, fmt.Errorf("%s: no .pem, .crt or .cer files", p)
			}
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			certs, err := Parse(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			out = append(out, certs...)
		}
	}
	return out, nil
}

// Parse reads PEM certificates, one DER certificate, or a PKCS#7
// certs-only bundle.
func Parse(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) > 0 {
		return out, nil
	}
	if c, err := x509.ParseCertificate(data); err == nil {
		return []*x509.Certificate{c}, nil
	}
	if p7, err := pkcs7.Parse(data); err == nil && len(p7.Certificates) > 0 {
		return p7.Certificates, nil
	}
	return nil, errors.New("no certificate (PEM, DER or PKCS#7) found")
}

// Chain returns a chain from leaf to a trust anchor valid at t, built
// from extra (what the token or signature carries), the configured
// intermediates and AIA. The error wraps ErrUntrusted with the reason
// (unknown issuer, expired, ...).
func (s *Store) Chain(ctx context.Context, leaf *x509.Certificate, extra []*x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	if len(s.anchors) == 0 {
		return nil, fmt.Errorf("%w: no trust anchors are configured ([trust] anchors)", ErrUntrusted)
	}
	pool := append(slices.Clip(extra), s.intermediates...)
	var lastErr error
	for range maxFetches + 1 {
		chain, err := s.verify(leaf, pool, at)
		if err == nil {
			return chain, nil
		}
		lastErr = err
		var ua x509.UnknownAuthorityError
		if !errors.As(err, &ua) {
			break
		}
		more := s.chase(ctx, leaf, pool)
		if len(more) == 0 {
			break
		}
		pool = append(pool, more...)
	}
	return nil, fmt.Errorf("%w: %v", ErrUntrusted, explain(lastErr))
}

func (s *Store) verify(leaf *x509.Certificate, pool []*x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, a := range s.anchors {
		roots.AddCert(a)
	}
	for _, c := range pool {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, err
	}
	return chains[0], nil
}

// chase fetches the AIA issuers of leaf and of every pool certificate
// whose issuer is not yet known, once per URL.
func (s *Store) chase(ctx context.Context, leaf *x509.Certificate, pool []*x509.Certificate) []*x509.Certificate {
	if s.HTTP == nil {
		return nil
	}
	known := func(c *x509.Certificate) bool {
		for _, p := range append(slices.Clip(pool), s.anchors...) {
			if string(p.RawSubject) == string(c.RawIssuer) {
				return true
			}
		}
		return false
	}
	var out []*x509.Certificate
	for _, c := range append([]*x509.Certificate{leaf}, pool...) {
		if known(c) {
			continue
		}
		for _, u := range c.IssuingCertificateURL {
			s.mu.Lock()
			cached, done := s.fetched[u]
			s.mu.Unlock()
			if done && (len(cached.certs) > 0 || time.Since(cached.at) < retryFailed) {
				out = append(out, cached.certs...)
				continue
			}
			certs := s.fetch(ctx, u)
			s.mu.Lock()
			s.fetched[u] = fetched{certs: certs, at: time.Now()}
			s.mu.Unlock()
			out = append(out, certs...)
		}
	}
	// Only new ones: a cached URL would loop.
	var fresh []*x509.Certificate
	for _, c := range out {
		if !slices.ContainsFunc(pool, c.Equal) {
			fresh = append(fresh, c)
		}
	}
	return fresh
}

func (s *Store) fetch(ctx context.Context, url string) []*x509.Certificate {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAIA+1))
	if err != nil || len(data) > maxAIA {
		return nil
	}
	certs, _ := Parse(data)
	return certs
}

func explain(err error) string {
	var ci x509.CertificateInvalidError
	if errors.As(err, &ci) {
		switch ci.Reason {
		case x509.Expired:
			return fmt.Sprintf("%q is expired or not yet valid at that time", ci.Cert.Subject.CommonName)
		case x509.NotAuthorizedToSign:
			return fmt.Sprintf("%q is not a CA", ci.Cert.Subject.CommonName)
		}
	}
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) && ua.Cert != nil {
		return fmt.Sprintf("the issuer of %q (%s) is neither a trust anchor nor a known intermediate", ua.Cert.Subject.CommonName, ua.Cert.Issuer.CommonName)
	}
	return err.Error()
}
