// Package metrics exposes the agent's Prometheus metrics: token health
// (presence, PIN status, certificate expiry) from the slot watcher's
// cache, and signing, requests, dialogs and connections as they happen.
// Its registry is its own; labels are kept to low cardinality (no document
// names, no request ids). A scrape never touches a token.
package metrics

import (
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const ns = "tte_agent"

// PINStatuses are the values of the pin status state set.
var PINStatuses = []string{"ok", "count_low", "final_try", "locked"}

// Formats are the format label's values.
var Formats = []string{"raw", "cms", "pades", "decrypt"}

// Reasons are the reason label's values of requests_rejected_total that
// exist from the start: the protocol's reasons, refused handshakes
// (forbidden) and connections dropped by the WebSocket and the metrics
// listeners' caps.
var Reasons = []string{"forbidden", "connections", "metrics_connections", "parse_error", "invalid_request", "method_not_found", "bad_request",
	"internal", "not_permitted", "user_cancelled", "pin_incorrect", "pin_locked", "token_removed", "certificate_not_found",
	"certificate_invalid", "too_large", "busy", "cancelled", "timeout", "upstream_failed"}

// DialogOutcomes are the outcome label's values of dialogs_total.
var DialogOutcomes = []string{"consented", "user_cancelled", "timeout", "cancelled", "connection_closed", "internal"}

// Token is one token as the slot watcher last saw it.
type Token struct {
	Serial, Label, Model, PINStatus string
}

// Certificate is one certificate with its key on a token.
type Certificate struct {
	Token, ID, Subject string
	NotAfter           time.Time
}

// Metrics holds the agent's collectors. A nil *Metrics records nothing.
type Metrics struct {
	Registry *prometheus.Registry

	signatures *prometheus.CounterVec
	signTime   *prometheus.HistogramVec
	reqTime    *prometheus.HistogramVec
	rejected   *prometheus.CounterVec
	dialogs    *prometheus.CounterVec
	hashed     prometheus.Counter
	auditFail  prometheus.Counter
	revFetch   *prometheus.CounterVec
	revStatus  *prometheus.CounterVec
	stamps     *prometheus.CounterVec

	mu     sync.Mutex
	tokens []Token
	certs  []Certificate
	seen   bool // the watcher has reported at least once
}

// New returns the metrics of an agent of version; connections reports the
// open WebSocket connections at scrape time.
func New(version string, connections func() int) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	buckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
	m.signatures = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "signatures_total",
		Help: "Items signed or, for format decrypt, opened with the token (result=ok), and such requests that failed (result=the error reason), by format (raw, cms, pades, decrypt)."},
		[]string{"format", "result"})
	m.signTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "sign_duration_seconds",
		Help: "Time from the login to the last signature of a successful sign request, by format.", Buckets: buckets},
		[]string{"format"})
	m.reqTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "request_duration_seconds",
		Help: "Time to answer a request, dialog included, by method.", Buckets: buckets}, []string{"method"})
	m.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "requests_rejected_total",
		Help: "Requests answered with an error, and refused handshakes (reason=forbidden), by reason."}, []string{"reason"})
	m.dialogs = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "dialogs_total",
		Help: "Consent and PIN dialogs by outcome: consented, user_cancelled, timeout, cancelled, internal."}, []string{"outcome"})
	m.hashed = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "hashed_bytes_total",
		Help: "Bytes of uploaded documents the agent hashed."})
	m.auditFail = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "audit_failures_total",
		Help: "Audit records that could not be written, and failed time-stamps of the trail's head."})
	m.revFetch = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "revocation_fetches_total",
		Help: "OCSP and CRL fetches (source=ocsp|crl) by result (ok, error); cached answers are not fetched again."}, []string{"source", "result"})
	m.revStatus = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "revocation_checks_total",
		Help: "Signer certificates checked before a dialog, by status (good, revoked, unavailable)."}, []string{"status"})
	m.stamps = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "timestamp_requests_total",
		Help: "Requests to the time-stamping authority by result (ok, error)."}, []string{"result"})
	for _, s := range []string{"ocsp", "crl"} {
		for _, r := range []string{"ok", "error"} {
			m.revFetch.WithLabelValues(s, r)
		}
	}
	for _, s := range []string{"good", "revoked", "unavailable"} {
		m.revStatus.WithLabelValues(s)
	}
	m.stamps.WithLabelValues("ok")
	m.stamps.WithLabelValues("error")
	build := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "build_info",
		Help: "The agent's version and Go version; always 1.", ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()}})
	build.Set(1)
	conns := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "connections_open",
		Help: "Open WebSocket connections from pages."}, func() float64 { return float64(connections()) })
	// Series with known label values exist from the start, at 0, so that
	// rate() and increase() see a fresh agent's first event.
	for _, f := range Formats {
		m.signatures.WithLabelValues(f, "ok")
		m.signTime.WithLabelValues(f)
	}
	for _, r := range Reasons {
		m.rejected.WithLabelValues(r)
	}
	for _, o := range DialogOutcomes {
		m.dialogs.WithLabelValues(o)
	}
	m.Registry.MustRegister(m.revFetch, m.revStatus, m.stamps, m.auditFail, m.signatures, m.signTime, m.reqTime, m.rejected, m.dialogs, m.hashed, build, conns,
		tokenCollector{m}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// RevocationFetch records one OCSP or CRL fetch.
func (m *Metrics) RevocationFetch(source string, err error) {
	if m == nil {
		return
	}
	m.revFetch.WithLabelValues(source, result(err)).Inc()
}

// Revocation records the status found for a signer before its dialog.
func (m *Metrics) Revocation(status string) {
	if m == nil {
		return
	}
	m.revStatus.WithLabelValues(status).Inc()
}

// Timestamp records one request to the TSA.
func (m *Metrics) Timestamp(err error) {
	if m == nil {
		return
	}
	m.stamps.WithLabelValues(result(err)).Inc()
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// Signed records the outcome of one sign request: done items signed, and
// when failed the reason.
func (m *Metrics) Signed(format string, done int, reason string) {
	if m == nil {
		return
	}
	if done > 0 {
		m.signatures.WithLabelValues(format, "ok").Add(float64(done))
	}
	if reason != "" {
		m.signatures.WithLabelValues(format, reason).Inc()
	}
}

// SignTime records how long a successful request spent signing.
func (m *Metrics) SignTime(format string, d time.Duration) {
	if m != nil {
		m.signTime.WithLabelValues(format).Observe(d.Seconds())
	}
}

// Request records one answered request; reason is "" on success.
func (m *Metrics) Request(method string, d time.Duration, reason string) {
	if m == nil {
		return
	}
	m.reqTime.WithLabelValues(method).Observe(d.Seconds())
	if reason != "" {
		m.rejected.WithLabelValues(reason).Inc()
	}
}

// Rejected records a request or handshake refused for reason.
func (m *Metrics) Rejected(reason string) {
	if m != nil {
		m.rejected.WithLabelValues(reason).Inc()
	}
}

// Dialog records how a dialog ended.
func (m *Metrics) Dialog(outcome string) {
	if m != nil {
		m.dialogs.WithLabelValues(outcome).Inc()
	}
}

// AuditFailed counts an audit record that could not be written.
func (m *Metrics) AuditFailed() {
	if m != nil {
		m.auditFail.Inc()
	}
}

// AuditRecords exposes the audit trail's record count (its last record's
// number): a fleet's Prometheus sees it go down when a trail is cut.
func (m *Metrics) AuditRecords(records func() float64) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "audit_records",
		Help: "Records in the audit trail (the last record's number); it only grows unless the trail was cut."}, records))
}

// Hashed records n document bytes hashed.
func (m *Metrics) Hashed(n int) {
	if m != nil {
		m.hashed.Add(float64(n))
	}
}

// SetTokens replaces the token state, as the slot watcher saw it.
func (m *Metrics) SetTokens(tokens []Token, certs []Certificate) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.tokens, m.certs, m.seen = tokens, certs, true
	m.mu.Unlock()
}

// tokenCollector reports the cached token state at scrape time.
type tokenCollector struct{ m *Metrics }

var (
	descPresent = prometheus.NewDesc(ns+"_tokens_present", "Tokens present, as the slot watcher last saw them.", nil, nil)
	descToken   = prometheus.NewDesc(ns+"_token_info", "A token present; always 1.", []string{"token", "label", "model"}, nil)
	descPIN     = prometheus.NewDesc(ns+"_token_pin_status", "The token's PIN status: 1 for the current status, 0 for the others.", []string{"token", "status"}, nil)
	descExpiry  = prometheus.NewDesc(ns+"_certificate_not_after_timestamp_seconds", "When a certificate on a token expires (Unix time).", []string{"token", "certificate", "subject"}, nil)
	descFresh   = prometheus.NewDesc(ns+"_token_state_known", "1 once the slot watcher has read the tokens.", nil, nil)
)

func (c tokenCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPresent, descToken, descPIN, descExpiry, descFresh} {
		ch <- d
	}
}

func (c tokenCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	tokens, certs, seen := c.m.tokens, c.m.certs, c.m.seen
	c.m.mu.Unlock()
	known := 0.0
	if seen {
		known = 1
	}
	ch <- prometheus.MustNewConstMetric(descFresh, prometheus.GaugeValue, known)
	ch <- prometheus.MustNewConstMetric(descPresent, prometheus.GaugeValue, float64(len(tokens)))
	for _, t := range tokens {
		ch <- prometheus.MustNewConstMetric(descToken, prometheus.GaugeValue, 1, t.Serial, t.Label, t.Model)
		for _, s := range PINStatuses {
			v := 0.0
			if s == t.PINStatus {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descPIN, prometheus.GaugeValue, v, t.Serial, s)
		}
	}
	for _, ce := range certs {
		ch <- prometheus.MustNewConstMetric(descExpiry, prometheus.GaugeValue, float64(ce.NotAfter.Unix()), ce.Token, ce.ID, ce.Subject)
	}
}
