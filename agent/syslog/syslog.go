// Package syslog sends the audit trail's records to a central collector as
// RFC 5424 messages over TCP or TLS (RFC 5425 octet-counted framing), the
// log stream fleets already collect. The message is the record's JSON line
// exactly as in audit.log, chain fields included, so that the collector's
// copy verifies with `tte-agent audit verify` like the file itself.
//
// Delivery is best effort and never slows signing: records queue in memory
// (bounded), a background sender connects, reconnects with backoff and
// sends them in order; the file on the workstation stays the record of
// truth, and a gap at the collector is visible in the chain.
package syslog

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"
)

// QueueSize bounds the records waiting for the collector.
const QueueSize = 10_000

// Forwarder sends records to one collector.
type Forwarder struct {
	network string // "tcp" or "tls"
	addr    string
	tls     *tls.Config
	host    string
	log     *slog.Logger

	mu      sync.Mutex
	queue   [][]byte
	dropped int
	wake    chan struct{}
	stop    context.CancelFunc
	done    chan struct{}
}

// New returns a forwarder to target, "tcp://HOST:PORT" or
// "tls://HOST:PORT"; caFile, for TLS, names the collector's CA (empty: the
// system's roots). It starts sending at once; Close stops it.
func New(target, caFile string, log *slog.Logger) (*Forwarder, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "tcp" && u.Scheme != "tls") || u.Host == "" || u.Port() == "" {
		return nil, fmt.Errorf("audit syslog %q: use tcp://HOST:PORT or tls://HOST:PORT", target)
	}
	f := &Forwarder{network: u.Scheme, addr: u.Host, log: log, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if u.Scheme == "tls" {
		f.tls = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return nil, fmt.Errorf("audit syslog_ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("audit syslog_ca %s: no PEM certificate in it", caFile)
			}
			f.tls.RootCAs = pool
		}
	}
	if f.host, err = os.Hostname(); err != nil || f.host == "" {
		f.host = "-"
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.stop = cancel
	go f.run(ctx)
	return f, nil
}

// Send queues one record line (the JSON, without its newline). It never
// blocks: past QueueSize the oldest waiting record is dropped and counted.
func (f *Forwarder) Send(line []byte) {
	f.mu.Lock()
	if len(f.queue) >= QueueSize {
		f.queue = f.queue[1:]
		f.dropped++
	}
	f.queue = append(f.queue, bytes.Clone(line))
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Close sends what is queued for up to the context's time, then stops.
func (f *Forwarder) Close(ctx context.Context) {
	for {
		f.mu.Lock()
		n := len(f.queue)
		f.mu.Unlock()
		if n == 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.stop()
	<-f.done
}

// message frames line as an RFC 5424 message with octet counting: facility
// 13 (log audit), severity 6 (informational), APP-NAME tte-agent, MSGID
// audit.
func (f *Forwarder) message(line []byte, now time.Time) []byte {
	msg := fmt.Sprintf("<110>1 %s %s tte-agent %d audit - %s", now.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), f.host, os.Getpid(), line)
	return []byte(strconv.Itoa(len(msg)) + " " + msg)
}

func (f *Forwarder) run(ctx context.Context) {
	defer close(f.done)
	var conn net.Conn
	backoff := time.Second
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		f.mu.Lock()
		var next []byte
		if len(f.queue) > 0 {
			next = f.queue[0]
		}
		dropped := f.dropped
		f.dropped = 0
		f.mu.Unlock()
		if dropped > 0 {
			f.log.Warn("audit records were dropped before reaching the syslog collector (it was unreachable too long); the trail on this machine has them", "dropped", dropped, "collector", f.addr)
		}
		if next == nil {
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
			}
			continue
		}
		if conn == nil {
			c, err := f.dial(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				f.log.Warn("cannot reach the audit syslog collector; retrying", "collector", f.addr, "err", err, "in", backoff)
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, time.Minute)
				continue
			}
			conn, backoff = c, time.Second
		}
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write(f.message(next, time.Now())); err != nil {
			f.log.Warn("the audit syslog collector dropped the connection; reconnecting", "collector", f.addr, "err", err)
			conn.Close()
			conn = nil
			continue
		}
		f.mu.Lock()
		if len(f.queue) > 0 && &f.queue[0][0] == &next[0] {
			f.queue = f.queue[1:]
		}
		f.mu.Unlock()
	}
}

func (f *Forwarder) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if f.tls == nil {
		return d.DialContext(ctx, "tcp", f.addr)
	}
	c, err := (&tls.Dialer{NetDialer: d, Config: f.tls}).DialContext(ctx, "tcp", f.addr)
	if err != nil {
		var ce *tls.CertificateVerificationError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("the collector's certificate is not trusted (set [audit] syslog_ca): %w", err)
		}
	}
	return c, err
}
