package trust_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/revocation/revtest"
	"github.com/tte-agent/tte-agent/token/softhsm"
	"github.com/tte-agent/tte-agent/trust"
)

func pki(t *testing.T, o revtest.Options) (*revtest.PKI, *x509.Certificate) {
	t.Helper()
	p, err := revtest.Start(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, err := p.CA().Issue(key.Public(), softhsm.KeySpec{Subject: pkix.Name{CommonName: "Siti"}})
	if err != nil {
		t.Fatal(err)
	}
	return p, leaf
}

func TestChain(t *testing.T) {
	p, leaf := pki(t, revtest.Options{})
	anchors, err := trust.Load([]string{p.RootFile})
	if err != nil {
		t.Fatal(err)
	}
	inter, _ := trust.Load([]string{p.InterFile})
	now := time.Now()
	for _, tc := range []struct {
		name   string
		store  *trust.Store
		extra  []*x509.Certificate
		ok     bool
		detail string
	}{
		{name: "configured intermediate", store: trust.NewStore(anchors, inter, nil), ok: true},
		{name: "intermediate from the token", store: trust.NewStore(anchors, nil, nil), extra: inter, ok: true},
		{name: "intermediate by AIA", store: trust.NewStore(anchors, nil, http.DefaultClient), ok: true},
		{name: "no AIA fetching", store: trust.NewStore(anchors, nil, nil), detail: "neither a trust anchor"},
		{name: "no anchors", store: trust.NewStore(nil, inter, nil), detail: "no trust anchors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain, err := tc.store.Chain(context.Background(), leaf, tc.extra, now)
			if tc.ok {
				if err != nil || len(chain) != 3 || !chain[2].Equal(p.Root) {
					t.Fatalf("chain %d, %v", len(chain), err)
				}
				return
			}
			if !errors.Is(err, trust.ErrUntrusted) || !strings.Contains(err.Error(), tc.detail) {
				t.Fatalf("got %v, want ErrUntrusted with %q", err, tc.detail)
			}
		})
	}
	if n := p.Hits("/inter.cer"); n != 1 {
		t.Errorf("AIA fetched %d times, want 1", n)
	}
}

func TestExpiredIntermediate(t *testing.T) {
	p, leaf := pki(t, revtest.Options{ExpiredIntermediate: true})
	anchors, _ := trust.Load([]string{filepath.Dir(p.RootFile) + "/root-ca.pem"})
	inter, _ := trust.Load([]string{p.InterFile})
	_, err := trust.NewStore(anchors, inter, nil).Chain(context.Background(), leaf, nil, time.Now())
	if !errors.Is(err, trust.ErrUntrusted) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadDirectory(t *testing.T) {
	p, _ := pki(t, revtest.Options{})
	certs, err := trust.Load([]string{filepath.Dir(p.RootFile)})
	if err != nil || len(certs) != 2 {
		t.Fatalf("%d certificates, %v", len(certs), err)
	}
	if _, err := trust.Load([]string{t.TempDir()}); err == nil {
		t.Fatal("an empty directory was accepted")
	}
}
