package revocation_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/revocation"
	"github.com/tte-agent/tte-agent/revocation/revtest"
	"github.com/tte-agent/tte-agent/token/softhsm"
)

func start(t *testing.T, o revtest.Options) (*revtest.PKI, *x509.Certificate) {
	t.Helper()
	p, err := revtest.Start(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, err := p.CA().Issue(key.Public(), softhsm.KeySpec{Subject: pkix.Name{CommonName: "Budi Santoso"}})
	if err != nil {
		t.Fatal(err)
	}
	return p, leaf
}

func checker() *revocation.Checker {
	return revocation.NewChecker(&http.Client{Timeout: testscale.D(5 * time.Second)})
}

func TestStatuses(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      revtest.Options
		ocsp, crl revtest.Mode
		revoke    bool
		want      revocation.Status
		source    string
		wantErr   bool
	}{
		{name: "good by OCSP", want: revocation.Good, source: revocation.SourceOCSP},
		{name: "revoked by OCSP", revoke: true, want: revocation.Revoked, source: revocation.SourceOCSP},
		{name: "delegated responder", opts: revtest.Options{Delegated: true}, want: revocation.Good, source: revocation.SourceOCSP},
		{name: "delegated responder revoked", opts: revtest.Options{Delegated: true}, revoke: true, want: revocation.Revoked, source: revocation.SourceOCSP},
		{name: "OCSP down: CRL", ocsp: revtest.Down, want: revocation.Good, source: revocation.SourceCRL},
		{name: "OCSP down: CRL revoked", ocsp: revtest.Down, revoke: true, want: revocation.Revoked, source: revocation.SourceCRL},
		{name: "OCSP garbage: CRL", ocsp: revtest.Garbage, want: revocation.Good, source: revocation.SourceCRL},
		{name: "OCSP unknown: CRL", ocsp: revtest.Unknown, want: revocation.Good, source: revocation.SourceCRL},
		{name: "nothing reachable", ocsp: revtest.Down, crl: revtest.Down, wantErr: true},
		{name: "unknown and no CRL", ocsp: revtest.Unknown, crl: revtest.Garbage, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, leaf := start(t, tc.opts)
			p.SetOCSP(tc.ocsp)
			p.SetCRL(tc.crl)
			var at time.Time
			if tc.revoke {
				at = p.Revoke(leaf, 1)
			}
			r, err := checker().Check(context.Background(), leaf, p.Inter)
			if tc.wantErr {
				if !errors.Is(err, revocation.ErrUnavailable) {
					t.Fatalf("got %v, %v; want ErrUnavailable", r, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.want || r.Source != tc.source {
				t.Fatalf("status %v from %s, want %v from %s", r.Status, r.Source, tc.want, tc.source)
			}
			if tc.revoke && (!r.RevokedAt.Equal(at) || r.Reason != 1) {
				t.Errorf("revoked at %v reason %d, want %v reason 1", r.RevokedAt, r.Reason, at)
			}
			if tc.opts.Delegated && (r.Responder == nil || !r.Responder.Equal(p.Responder)) {
				t.Errorf("delegated responder not reported")
			}
			if (r.OCSP == nil) == (r.CRL == nil) {
				t.Errorf("the raw answer is missing")
			}
		})
	}
}

// A responder certificate without id-kp-OCSPSigning, or one not issued
// by the certificate's issuer, must not be believed.
func TestUnauthorisedResponder(t *testing.T) {
	p, leaf := start(t, revtest.Options{Delegated: true})
	other, _ := start(t, revtest.Options{})
	r, err := checker().Check(context.Background(), leaf, p.Inter)
	if err != nil {
		t.Fatal(err)
	}
	// The same answer checked against another issuer: the responder is not
	// certified by it.
	if _, err := revocation.ParseOCSP(r.OCSP, leaf, other.Inter, time.Now()); !errors.Is(err, revocation.ErrBadAnswer) {
		t.Fatalf("answer accepted for a foreign issuer: %v", err)
	}
	// Expired answer.
	if _, err := revocation.ParseOCSP(r.OCSP, leaf, p.Inter, time.Now().Add(2*time.Hour)); !errors.Is(err, revocation.ErrBadAnswer) {
		t.Fatalf("stale answer accepted: %v", err)
	}
}

// One fetch serves every concurrent check of a certificate, and the cache
// serves later ones until nextUpdate.
func TestSharedAndCached(t *testing.T) {
	p, leaf := start(t, revtest.Options{})
	c := checker()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Check(context.Background(), leaf, p.Inter); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if _, err := c.Check(context.Background(), leaf, p.Inter); err != nil {
		t.Fatal(err)
	}
	if n := p.Hits("/ocsp"); n != 1 {
		t.Fatalf("%d OCSP fetches, want 1", n)
	}
	c.Now = func() time.Time { return time.Now().Add(2 * time.Hour) } // past nextUpdate
	if c.Cached(leaf, p.Inter) != nil {
		t.Fatal("a stale answer is still served from the cache")
	}
}

// Answers over the size bound are refused.
func TestBounded(t *testing.T) {
	p, leaf := start(t, revtest.Options{})
	c := checker()
	c.MaxOCSP, c.MaxCRL = 16, 16
	if _, err := c.Check(context.Background(), leaf, p.Inter); !errors.Is(err, revocation.ErrUnavailable) {
		t.Fatalf("oversized answers accepted: %v", err)
	}
}

// An unreachable responder is asked once per FailureTTL, not per check.
func TestFailureRemembered(t *testing.T) {
	p, leaf := start(t, revtest.Options{})
	p.SetOCSP(revtest.Down)
	p.SetCRL(revtest.Down)
	c := checker()
	for range 3 {
		if _, err := c.Check(context.Background(), leaf, p.Inter); !errors.Is(err, revocation.ErrUnavailable) {
			t.Fatal(err)
		}
	}
	if n := p.Hits("/ocsp"); n != 1 {
		t.Fatalf("%d OCSP requests for three checks within FailureTTL", n)
	}
	p.SetOCSP(revtest.Up)
	c.Now = func() time.Time { return time.Now().Add(time.Minute) }
	if r, err := c.Check(context.Background(), leaf, p.Inter); err != nil || r.Status != revocation.Good {
		t.Fatalf("after FailureTTL: %v %v", r, err)
	}
}

// FuzzParseAnswer: no OCSP answer or CRL (from a responder or a signed
// document) makes the parsers panic.
func FuzzParseAnswer(f *testing.F) {
	p, err := revtest.Start(f.TempDir(), revtest.Options{Delegated: true})
	if err != nil {
		f.Fatal(err)
	}
	defer p.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, _ := p.CA().Issue(key.Public(), softhsm.KeySpec{Subject: pkix.Name{CommonName: "Fuzz"}})
	c := checker()
	r, err := c.Check(context.Background(), leaf, p.Inter)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(r.OCSP)
	p.SetOCSP(revtest.Down)
	if r, err := checker().Check(context.Background(), leaf, p.Inter); err == nil {
		f.Add(r.CRL)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		revocation.ParseOCSP(b, leaf, p.Inter, time.Now())
		revocation.ParseCRL(b, leaf, p.Inter, time.Now())
	})
}
