package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"math"
	"time"

	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/token"
)

func (a *Agent) tokensList(req protocol.Request) (any, error) {
	var none struct{}
	if err := protocol.DecodeParams(req.Params, &none); err != nil {
		return nil, err
	}
	toks, err := a.tokens.Tokens()
	if err != nil {
		return nil, fmt.Errorf("failed to list tokens: %w", err)
	}
	return protocol.TokensList{Tokens: wireTokens(toks)}, nil
}

func wireTokens(toks []token.Info) []protocol.Token {
	out := make([]protocol.Token, 0, len(toks))
	for _, t := range toks {
		out = append(out, protocol.Token{
			ID:                t.Serial,
			Label:             t.Label,
			Manufacturer:      t.Manufacturer,
			Model:             t.Model,
			Serial:            t.Serial,
			PINStatus:         string(t.PINStatus),
			ProtectedAuthPath: t.ProtectedAuthPath,
		})
	}
	return out
}

func (a *Agent) certificatesList(ctx context.Context, req protocol.Request) (any, error) {
	var params protocol.CertificatesListParams
	if err := protocol.DecodeParams(req.Params, &params); err != nil {
		return nil, err
	}
	certs, err := a.tokens.Certificates()
	if err != nil {
		return nil, fmt.Errorf("failed to list certificates: %w", err)
	}
	now := time.Now()
	out := make([]protocol.Certificate, 0, len(certs))
	for _, c := range certs {
		w := WireCertificate(c, now)
		if params.ValidOnly && (now.Before(c.Cert.NotBefore) || now.After(c.Cert.NotAfter)) {
			continue
		}
		if params.KeyUsage != "" && !contains(w.KeyUsage, params.KeyUsage) {
			continue
		}
		// Chains come from the token, the configuration and AIA (cached):
		// a list costs a fetch only the first time an issuer is missing.
		if _, err := a.trustOf(ctx, c); err == nil {
			w.Trusted = true
		} else {
			w.TrustDetail = err.Error()
		}
		out = append(out, w)
	}
	return protocol.CertificatesList{Certificates: out}, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// WireCertificate describes a token certificate as the protocol does.
func WireCertificate(c token.Certificate, now time.Time) protocol.Certificate {
	return protocol.Certificate{
		ID:           c.ID,
		TokenID:      c.Token,
		Subject:      c.Cert.Subject.String(),
		Issuer:       c.Cert.Issuer.String(),
		SerialNumber: fmt.Sprintf("%x", c.Cert.SerialNumber),
		NotBefore:    c.Cert.NotBefore.UTC().Format(time.RFC3339),
		NotAfter:     c.Cert.NotAfter.UTC().Format(time.RFC3339),
		DaysLeft:     DaysLeft(c.Cert, now),
		KeyType:      KeyType(c.Cert),
		KeyUsage:     KeyUsages(c.Cert),
		Certificate:  c.Cert.Raw,
	}
}

// DaysLeft returns the whole days until the certificate expires; negative
// once it has.
func DaysLeft(c *x509.Certificate, now time.Time) int {
	return int(math.Floor(c.NotAfter.Sub(now).Hours() / 24))
}

// KeyType names the certificate's key as the protocol does: RSA-2048,
// EC-P256, ...
func KeyType(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return "EC-P256"
		case 384:
			return "EC-P384"
		case 521:
			return "EC-P521"
		}
		return "EC"
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return "unknown"
}

// KeyUsages lists the certificate's key usage bits by their X.509 names.
func KeyUsages(c *x509.Certificate) []string {
	out := []string{}
	for i, name := range protocol.KeyUsages {
		if c.KeyUsage&(1<<i) != 0 {
			out = append(out, name)
		}
	}
	return out
}
