// Package tsa is an RFC 3161 time-stamp client: it asks a time-stamping
// authority to stamp a digest, verifies the token's signature, and checks
// that the token stamps exactly that digest with the nonce it sent.
package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/digitorus/timestamp"
)

// ErrFailed wraps every way a time-stamp can fail: the TSA is unreachable,
// refuses, or answers something that does not stamp our digest.
var ErrFailed = errors.New("time-stamp failed")

// maxResponse bounds a TSA answer; real tokens are a few kilobytes.
const maxResponse = 1 << 20

// errTransient marks failures worth a retry: the TSA unreachable or
// answering a server error.
var errTransient = errors.New("transient")

// Client asks one TSA.
type Client struct {
	URL  string
	HTTP *http.Client
	// Attempts is how often Stamp tries when the TSA is unreachable or
	// answers a server error (HTTP 5xx); at least 1.
	Attempts int
	// Backoff is the wait before the second attempt, doubled after.
	Backoff time.Duration
	// OnAttempt, when set, hears of every attempt's outcome.
	OnAttempt func(err error)
}

// New returns a client for the TSA at url with a bounded timeout and three
// attempts.
func New(url string) *Client {
	return &Client{URL: url, HTTP: &http.Client{Timeout: 30 * time.Second}, Attempts: 3, Backoff: 250 * time.Millisecond}
}

// Stamp returns a DER TimeStampToken over digest, a hash under h, retrying
// transient failures (see Attempts). The token's signature is verified,
// and its message imprint and nonce must be ours.
func (c *Client) Stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	wait := c.Backoff
	for attempt := 1; ; attempt++ {
		tok, err := c.stamp(ctx, h, digest)
		if c.OnAttempt != nil {
			c.OnAttempt(err)
		}
		if err == nil || !errors.Is(err, errTransient) || attempt >= c.Attempts || ctx.Err() != nil {
			return tok, err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, err
		}
		wait *= 2
	}
}

// stamp returns a DER TimeStampToken over digest, a hash under h. The
// token's signature is verified, and its message imprint and nonce must be
// ours.
func (c *Client) stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	req := &timestamp.Request{HashAlgorithm: h, HashedMessage: digest, Certificates: true, Nonce: nonce}
	body, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%w: failed to encode the request: %w", ErrFailed, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFailed, err)
	}
	hreq.Header.Set("Content-Type", "application/timestamp-query")
	resp, err := c.HTTP.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("%w: the TSA is unreachable: %w%.0w", ErrFailed, err, errTransient)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 {
		return nil, fmt.Errorf("%w: the TSA answered HTTP %d%.0w", ErrFailed, resp.StatusCode, errTransient)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: the TSA answered HTTP %d", ErrFailed, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/timestamp-reply") {
		return nil, fmt.Errorf("%w: the TSA answered %q, not application/timestamp-reply", ErrFailed, ct)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("%w: failed to read the answer: %w", ErrFailed, err)
	}
	if len(data) > maxResponse {
		return nil, fmt.Errorf("%w: the answer is over %d bytes", ErrFailed, maxResponse)
	}
	ts, err := timestamp.ParseResponse(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFailed, err)
	}
	if !ts.AddTSACertificate {
		return nil, fmt.Errorf("%w: the token carries no TSA certificate, so its signature cannot be checked", ErrFailed)
	}
	if ts.HashAlgorithm != h || !bytes.Equal(ts.HashedMessage, digest) {
		return nil, fmt.Errorf("%w: the token stamps another message imprint", ErrFailed)
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		return nil, fmt.Errorf("%w: the token's nonce is not ours (a replayed or foreign answer)", ErrFailed)
	}
	return ts.RawToken, nil
}
