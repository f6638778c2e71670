package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ErrUnavailable means no usable status could be had: every responder and
// CRL was unreachable, answered garbage or said "unknown".
var ErrUnavailable = errors.New("no revocation status could be had")

// Bounds on answers.
const (
	DefaultMaxOCSP = 64 << 10
	DefaultMaxCRL  = 16 << 20
	// noNextCache is how long an answer without nextUpdate is reused.
	noNextCache = 5 * time.Minute
)

// Checker fetches, verifies and caches revocation answers. Its zero value
// is not usable; use NewChecker.
type Checker struct {
	// HTTP fetches answers; its Timeout bounds each fetch.
	HTTP *http.Client
	// MaxOCSP and MaxCRL bound answers' sizes.
	MaxOCSP, MaxCRL int64
	// Now is the clock (tests move it).
	Now func() time.Time
	// OnFetch, when set, is told of every network fetch: kind is
	// SourceOCSP or SourceCRL, err its outcome.
	OnFetch func(kind string, err error)
	// FailureTTL is how long "no status could be had" is answered from
	// memory, so that an unreachable responder costs one timeout, not one
	// per request.
	FailureTTL time.Duration

	mu       sync.Mutex
	cache    map[string]*Result
	failures map[string]failure
	crls     map[string][]byte // by URL, until their nextUpdate
	flight   map[string]*call
}

type failure struct {
	err error
	at  time.Time
}

type call struct {
	done chan struct{}
	res  *Result
	err  error
}

// NewChecker returns a checker whose fetches use client.
func NewChecker(client *http.Client) *Checker {
	return &Checker{HTTP: client, MaxOCSP: DefaultMaxOCSP, MaxCRL: DefaultMaxCRL, Now: time.Now, FailureTTL: 30 * time.Second,
		cache: map[string]*Result{}, failures: map[string]failure{}, crls: map[string][]byte{}, flight: map[string]*call{}}
}

func cacheKey(cert, issuer *x509.Certificate) string {
	return hex.EncodeToString(issuer.RawSubjectPublicKeyInfo) + "/" + cert.SerialNumber.Text(16)
}

// Check returns cert's status, from the cache while its last answer is
// fresh; concurrent checks of one certificate share one fetch. OCSP is
// asked first (every URL in the AIA), then every CRL distribution point.
// The error wraps ErrUnavailable when neither gave a usable answer.
func (c *Checker) Check(ctx context.Context, cert, issuer *x509.Certificate) (*Result, error) {
	key := cacheKey(cert, issuer)
	c.mu.Lock()
	if r, ok := c.cache[key]; ok && c.fresh(r) {
		c.mu.Unlock()
		return r, nil
	}
	if f, ok := c.failures[key]; ok && c.Now().Sub(f.at) < c.FailureTTL {
		c.mu.Unlock()
		return nil, f.err
	}
	if f, ok := c.flight[key]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
			return f.res, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &call{done: make(chan struct{})}
	c.flight[key] = f
	c.mu.Unlock()

	// The fetch runs detached from any one caller, so that a caller who
	// gives up neither waits for it nor fails the others sharing it;
	// HTTP.Timeout bounds it.
	go func() {
		f.res, f.err = c.fetch(context.WithoutCancel(ctx), cert, issuer)
		c.mu.Lock()
		delete(c.flight, key)
		if f.err == nil {
			c.cache[key] = f.res
			delete(c.failures, key)
		} else {
			c.failures[key] = failure{err: f.err, at: c.Now()}
		}
		c.mu.Unlock()
		close(f.done)
	}()
	select {
	case <-f.done:
		return f.res, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Cached returns cert's status if a fresh answer is in the cache.
func (c *Checker) Cached(cert, issuer *x509.Certificate) *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.cache[cacheKey(cert, issuer)]; ok && c.fresh(r) {
		return r
	}
	return nil
}

func (c *Checker) fresh(r *Result) bool {
	now := c.Now()
	if !r.NextUpdate.IsZero() {
		return now.Before(r.NextUpdate)
	}
	return now.Sub(r.ThisUpdate) < noNextCache
}

func (c *Checker) fetch(ctx context.Context, cert, issuer *x509.Certificate) (*Result, error) {
	var problems []string
	for _, u := range cert.OCSPServer {
		r, err := c.askOCSP(ctx, u, cert, issuer)
		if c.OnFetch != nil {
			c.OnFetch(SourceOCSP, err)
		}
		if err == nil && r.Status != Unknown {
			return r, nil
		}
		if err == nil {
			err = errors.New("the responder does not know the certificate (status unknown)")
		}
		problems = append(problems, fmt.Sprintf("OCSP %s: %v", u, err))
	}
	for _, u := range cert.CRLDistributionPoints {
		r, err := c.askCRL(ctx, u, cert, issuer)
		if c.OnFetch != nil {
			c.OnFetch(SourceCRL, err)
		}
		if err == nil {
			return r, nil
		}
		problems = append(problems, fmt.Sprintf("CRL %s: %v", u, err))
	}
	if len(problems) == 0 {
		return nil, fmt.Errorf("%w: the certificate names no OCSP responder and no CRL", ErrUnavailable)
	}
	return nil, fmt.Errorf("%w: %s", ErrUnavailable, strings.Join(problems, "; "))
}

func (c *Checker) askOCSP(ctx context.Context, url string, cert, issuer *x509.Certificate) (*Result, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("not an HTTP URL")
	}
	der, nonce, err := newOCSPRequest(cert, issuer)
	if err != nil {
		return nil, err
	}
	raw, err := c.get(ctx, http.MethodPost, url, "application/ocsp-request", der, c.MaxOCSP)
	if err != nil {
		return nil, err
	}
	if err := checkNonce(raw, nonce); err != nil {
		return nil, err
	}
	return ParseOCSP(raw, cert, issuer, c.Now())
}

func (c *Checker) askCRL(ctx context.Context, url string, cert, issuer *x509.Certificate) (*Result, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("not an HTTP URL")
	}
	c.mu.Lock()
	raw := c.crls[url]
	c.mu.Unlock()
	if raw != nil {
		if r, err := ParseCRL(raw, cert, issuer, c.Now()); err == nil {
			return r, nil
		}
	}
	raw, err := c.get(ctx, http.MethodGet, url, "", nil, c.MaxCRL)
	if err != nil {
		return nil, err
	}
	r, err := ParseCRL(raw, cert, issuer, c.Now())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.crls[url] = raw
	c.mu.Unlock()
	return r, nil
}

// get fetches url, refusing answers over limit bytes.
func (c *Checker) get(ctx context.Context, method, url, ctype string, body []byte, limit int64) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("unreachable: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read the answer: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("the answer is over %d bytes", limit)
	}
	return data, nil
}
