package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ThalesGroup/crypto11"

	"github.com/tte-agent/tte-agent/protocol"
)

func randomDigests(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		d := make([]byte, 32)
		rand.Read(d)
		out[i] = d
	}
	return out
}

func verify(cert *x509.Certificate, d, sig []byte) error {
	switch k := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, d, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, d, sig) {
			return errors.New("ECDSA signature invalid")
		}
		return nil
	}
	return errors.New("unknown key")
}

// direct signs the digests with crypto11 in workers goroutines: the plain
// Go program the agent is measured against. The login happens before the
// clock starts.
func (b *bench) direct(keyID []byte, cert *x509.Certificate, digests [][]byte, workers int) (time.Duration, error) {
	ctx, err := crypto11.Configure(&crypto11.Config{Path: b.store.Module, TokenSerial: b.serial, Pin: benchPIN, MaxSessions: workers + 1})
	if err != nil {
		return 0, err
	}
	defer ctx.Close()
	key, err := ctx.FindKeyPair(keyID, nil)
	if err != nil {
		return 0, err
	}
	sigs := make([][]byte, len(digests))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(digests); i += workers {
				sigs[i], errs[w] = key.Sign(rand.Reader, digests[i], crypto.SHA256)
				if errs[w] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	for i, s := range sigs {
		if err := verify(cert, digests[i], s); err != nil {
			return 0, fmt.Errorf("crypto11 signature %d: %w", i, err)
		}
	}
	return elapsed, nil
}

// viaAgent signs the digests with one sign.digest request, timed from the
// request to its answer (dialog, login and logout included).
func (b *bench) viaAgent(c *client, keyID []byte, cert *x509.Certificate, digests [][]byte) (time.Duration, error) {
	items := make([]protocol.DigestItem, len(digests))
	for i, d := range digests {
		items[i] = protocol.DigestItem{Name: fmt.Sprintf("surat-%04d", i), Digest: d}
	}
	// The clock covers sending the encoded request, the agent's work and
	// receiving the whole answer; encoding and decoding JSON on the page's
	// side are the page's business.
	req := c.request("sign.digest", protocol.SignDigestParams{CertificateID: b.certID(keyID), HashAlgorithm: protocol.SHA256, Items: items})
	start := time.Now()
	raw, err := c.roundTrip(req)
	if err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	var res protocol.SignDigestResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return 0, err
	}
	if len(res.Items) != len(digests) {
		return 0, fmt.Errorf("%d signatures for %d digests", len(res.Items), len(digests))
	}
	for i, it := range res.Items {
		if err := verify(cert, digests[i], it.Signature); err != nil {
			return 0, fmt.Errorf("agent signature %d: %w", i, err)
		}
	}
	return elapsed, nil
}

// latency measures one-item sign.digest requests on one open connection.
func (b *bench) latency(c *client, keyID []byte, cert *x509.Certificate, n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for _, d := range randomDigests(n) {
		el, err := b.viaAgent(c, keyID, cert, [][]byte{d})
		if err != nil {
			return nil, err
		}
		out = append(out, el)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}
