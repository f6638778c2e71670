// Package agent is the tte-agent daemon: it wires the configuration, the
// PKCS#11 tokens, the consent and PIN dialog and the WebSocket server, and
// decides every request: which origin may do what, which certificate
// signs, one consent and one login per sign request, logout after.
package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/agent/budget"
	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/agent/listen"
	"github.com/tte-agent/tte-agent/agent/metrics"
	"github.com/tte-agent/tte-agent/agent/pinentry"
	"github.com/tte-agent/tte-agent/agent/upload"
	"github.com/tte-agent/tte-agent/agent/windialog"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/revocation"
	"github.com/tte-agent/tte-agent/token"
	"github.com/tte-agent/tte-agent/trust"
	"github.com/tte-agent/tte-agent/tsa"
)

// Version is the agent's version, set at build time with
// -ldflags "-X github.com/tte-agent/tte-agent/agent.Version=1.2.3".
var Version = "0.1.0-dev"

// Prompter shows the consent dialog. *pinentry.Program implements it.
type Prompter interface {
	// GetPIN returns the PIN the user typed, which the caller wipes, or
	// pinentry.ErrCancelled or pinentry.ErrTimeout.
	GetPIN(ctx context.Context, d pinentry.Dialog) ([]byte, error)
	// Confirm returns nil if the user agreed, else as GetPIN.
	Confirm(ctx context.Context, d pinentry.Dialog) error
	// Warm prepares for a dialog that is likely to follow (it may do
	// nothing).
	Warm()
}

var _ Prompter = (*pinentry.Program)(nil)

// Agent answers the protocol's requests.
type Agent struct {
	cfg    atomic.Pointer[config.Config] // swapped whole by Reload
	tokens *token.Provider
	prompt Prompter
	log    *slog.Logger

	dialog  chan struct{} // one dialog at a time
	waiting chan struct{} // bounded queue of requests waiting for it

	tmu        sync.Mutex
	tokenLocks map[string]chan struct{}

	metrics *metrics.Metrics // nil records nothing
	tsa     *tsa.Client      // nil without [tsa] url
	trust   *trust.Store
	revoc   *revocation.Checker
	// pageTrust is trust without AIA fetching, for documents a page
	// sends to document.verify: their certificates' URLs are the
	// sender's choice, and the agent must not fetch them.
	pageTrust *trust.Store
	cmu       sync.Mutex
	checks    map[string]cachedCheck // signer checks by certificate fingerprint
	audit     *audit.Log             // nil in unit tests without a trail
	// refusals rate-limits refusal records (nil: written one by one).
	refusals *audit.Refusals
	store    *upload.Store
	parses   *budget.Gate // bounds PDF parsing across all requests
	umu      sync.Mutex
	uploads  map[uint64]*upload.Set // by connection
	results  map[uint64]*heldSet    // by connection, guarded by umu
}

var _ wsserver.Handler = (*Agent)(nil)

// New returns an agent over loaded tokens that keeps documents in store.
func New(cfg *config.Config, tokens *token.Provider, store *upload.Store, prompt Prompter, log *slog.Logger) *Agent {
	a := &Agent{
		store:      store,
		tsa:        newTSA(cfg.TSA.URL),
		uploads:    map[uint64]*upload.Set{},
		results:    map[uint64]*heldSet{},
		tokens:     tokens,
		prompt:     prompt,
		log:        log,
		dialog:     make(chan struct{}, 1),
		waiting:    make(chan struct{}, cfg.Limits.DialogQueue),
		tokenLocks: map[string]chan struct{}{},
		parses:     budget.New(parseLimits(cfg)),
		checks:     map[string]cachedCheck{},
	}
	a.trust, a.revoc = newTrust(cfg, func(kind string, err error) { a.metrics.RevocationFetch(kind, err) })
	a.pageTrust = trust.NewStore(cfg.Trust.ParsedAnchors, append(slices.Clone(cfg.Trust.ParsedIntermediates), cfg.Certificates.Parsed...), nil)
	if a.tsa != nil {
		a.tsa.OnAttempt = func(err error) { a.metrics.Timestamp(err) }
	}
	a.cfg.Store(cfg)
	return a
}

// parseLimits are the PDF parse budget of cfg.
func parseLimits(cfg *config.Config) budget.Limits {
	return budget.Limits{Parallel: cfg.Limits.Parses, CPU: time.Duration(cfg.Limits.ParseTime), Memory: cfg.Limits.ParseMemoryBytes}
}

func newTSA(url string) *tsa.Client {
	if url == "" {
		return nil
	}
	return tsa.New(url)
}

// NewPrompter returns the dialog the configuration asks for: the pinentry
// program it names, set up to draw on the agent's terminal when it has one,
// or with no program on Windows the native dialog (package windialog).
func NewPrompter(cfg *config.Config, log *slog.Logger) Prompter {
	if cfg.Pinentry.Program == "" {
		if p, err := windialog.New(time.Duration(cfg.Pinentry.Timeout)); err == nil {
			return p
		}
	}
	return &pinentry.Program{
		Path:    cfg.Pinentry.Program,
		Timeout: time.Duration(cfg.Pinentry.Timeout),
		TTYName: pinentry.TTY(),
		TTYType: os.Getenv("TERM"),
		LCCType: "C.UTF-8",
		Log:     log,
	}
}

// Metrics returns the agent's metrics (never nil once started).
func (a *Agent) Metrics() *metrics.Metrics { return a.metrics }

// Limits returns the limits agent.info reports.
func (a *Agent) Limits() protocol.Limits {
	l := a.conf().Limits
	return protocol.Limits{
		TextFrameBytes:    l.TextFrameBytes,
		BinaryFrameBytes:  l.BinaryFrameBytes,
		DocumentBytes:     l.DocumentBytes,
		Items:             l.Items,
		Uploads:           l.Uploads,
		Connections:       l.Connections,
		OriginConnections: l.OriginConnections,
	}
}

// AllowOrigin implements wsserver.Handler.
func (a *Agent) AllowOrigin(origin string) bool {
	_, ok := a.conf().Allowed(origin)
	return ok
}

func (a *Agent) allowed(origin string, c protocol.Capability) bool {
	caps, _ := a.conf().Allowed(origin)
	return slices.Contains(caps, string(c))
}

// permits is allowed for a peer: the user's own command-line tool on the
// local channel may use document protection (wsserver.LocalToolOrigin).
func (a *Agent) permits(p *wsserver.Peer, c protocol.Capability) bool {
	if p.Origin == wsserver.LocalToolOrigin {
		return p.Transport == wsserver.TransportNative && (c == protocol.CapEncrypt || c == protocol.CapDecrypt)
	}
	return a.allowed(p.Origin, c)
}

// Serve implements wsserver.Handler.
func (a *Agent) Serve(ctx context.Context, p *wsserver.Peer, req protocol.Request) (result any, err error) {
	start := time.Now()
	defer func() {
		reason := ""
		if err != nil {
			reason = outcome(err)
		}
		a.metrics.Request(methodLabel(req.Method), time.Since(start), reason)
	}()
	if strings.HasPrefix(req.Method, "sign.") {
		// A sign request refused before its dialog is audited here;
		// once it reaches the dialog, sign() records it.
		ctx = withAuditMark(ctx)
		result, err := a.serve(ctx, p, req)
		if err != nil && !wasAudited(ctx) {
			a.refused(audit.Record{Origin: p.Origin, Method: req.Method, Outcome: outcome(err), Detail: errDetail(err)}, "")
		}
		return result, err
	}
	return a.serve(ctx, p, req)
}

// methodLabel keeps the method label to the protocol's methods.
func methodLabel(m string) string {
	switch m {
	case protocol.MethodAgentInfo, protocol.MethodTokensList, protocol.MethodCertificatesList, protocol.MethodSignDigest,
		protocol.MethodSignCMS, protocol.MethodSignPDF, protocol.MethodDocumentUpload, protocol.MethodDocumentDiscard, protocol.MethodDocumentUploadURL,
		protocol.MethodCertificatesStatus, protocol.MethodPDFExtend, protocol.MethodDocumentVerify,
		protocol.MethodDocumentEncrypt, protocol.MethodDocumentDecrypt, protocol.MethodDocumentDownload:
		return m
	}
	return "other"
}

// formatOf is the signatures metric's format label of a sign method.
func formatOf(method string) string {
	switch method {
	case protocol.MethodSignDigest:
		return "raw"
	case protocol.MethodSignCMS:
		return "cms"
	case protocol.MethodDocumentDecrypt:
		return "decrypt"
	}
	return "pades"
}

func errDetail(err error) string {
	if pe, ok := protocol.AsError(err); ok {
		return truncate(pe.Data.Detail, 200)
	}
	return ""
}

func (a *Agent) serve(ctx context.Context, p *wsserver.Peer, req protocol.Request) (any, error) {
	switch req.Method {
	case protocol.MethodAgentInfo:
		return a.info(p, req)
	case protocol.MethodTokensList:
		return a.tokensList(req)
	case protocol.MethodCertificatesList:
		return a.certificatesList(ctx, req)
	case protocol.MethodSignDigest:
		return a.signDigest(ctx, p, req)
	case protocol.MethodSignCMS:
		return a.signCMS(ctx, p, req)
	case protocol.MethodSignPDF:
		return a.signPDF(ctx, p, req)
	case protocol.MethodDocumentUpload:
		return a.documentUpload(p, req)
	case protocol.MethodDocumentDiscard:
		return a.documentDiscard(p, req)
	case protocol.MethodDocumentUploadURL:
		return a.documentUploadURL(p, req)
	case protocol.MethodCertificatesStatus:
		return a.certificatesStatus(ctx, req)
	case protocol.MethodPDFExtend:
		return a.extendPDF(ctx, p, req)
	case protocol.MethodDocumentEncrypt:
		return a.documentEncrypt(ctx, p, req)
	case protocol.MethodDocumentDecrypt:
		return a.documentDecrypt(ctx, p, req)
	case protocol.MethodDocumentDownload:
		return a.documentDownload(p, req)
	case protocol.MethodDocumentVerify:
		return a.verifyDocuments(ctx, p, req)
	}
	e := protocol.NewError(protocol.ReasonMethodNotFound, "The agent has no such method.")
	e.Data.Detail = fmt.Sprintf("unknown method %q", truncate(req.Method, 64))
	return nil, e
}

func (a *Agent) info(p *wsserver.Peer, req protocol.Request) (any, error) {
	var none struct{}
	if err := protocol.DecodeParams(req.Params, &none); err != nil {
		return nil, err
	}
	caps, _ := a.conf().Allowed(p.Origin)
	allow := make([]protocol.Capability, 0, len(caps))
	for _, c := range caps {
		allow = append(allow, protocol.Capability(c))
	}
	return protocol.AgentInfo{
		Name:     "tte-agent",
		Version:  Version,
		Protocol: protocol.Version,
		Origin:   p.Origin,
		Allow:    allow,
		Formats:  []string{"raw", "cms", "pades"},
		Levels:   a.levels(),
		Limits:   a.Limits(),
		// The page's own client tells the extension from the
		// WebSocket; the agent knows which listener it came by.
		Transport: p.Transport,
	}, nil
}

// levels are the signature levels the agent can make: the time-stamped
// ones need [tsa] url.
func (a *Agent) levels() []protocol.Level {
	if a.tsa == nil {
		return []protocol.Level{protocol.LevelBB}
	}
	return []protocol.Level{protocol.LevelBB, protocol.LevelBT, protocol.LevelBLT, protocol.LevelBLTA}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Listen opens the agent's loopback listener. A port already taken is an
// error that says so: the agent never moves to another port.
func Listen(addr string) (net.Listener, error) {
	return listen.TCP(addr)
}

// UID returns the uid whose sockets may connect, or -1 when the check is
// off: it is on for an ordinary user on Linux (contract §1); for root see
// AllowUser; off on other platforms.
func UID() int {
	if runtime.GOOS != "linux" || os.Getuid() == 0 {
		return -1
	}
	return os.Getuid()
}

// AllowUser is the user check of an agent run as root on Linux (a kiosk
// or system service): root itself and the users the configuration's
// allow_users names (in the policy, as the administrator decides) may
// connect; every other local user is refused. It is nil otherwise.
func (a *Agent) AllowUser() func(uid int) bool {
	if runtime.GOOS != "linux" || os.Getuid() != 0 {
		return nil
	}
	return func(uid int) bool { return uid == 0 || slices.Contains(a.conf().AllowUIDs, uid) }
}

// record appends to the audit trail. A trail that cannot be written is
// logged loudly and counted.
func (a *Agent) record(r audit.Record) error {
	if a.audit == nil {
		return nil
	}
	if err := a.audit.Append(r); err != nil {
		a.log.Error("failed to write the audit trail", "err", err)
		a.metrics.AuditFailed()
		return err
	}
	return nil
}

// recordRequired appends a record a sign request depends on: with
// audit.required (the default) a record that cannot be written fails the
// request, so nothing is signed that the trail does not show.
func (a *Agent) recordRequired(r audit.Record) error {
	err := a.record(r)
	if err == nil || !a.conf().Audit.IsRequired() {
		return nil
	}
	e := protocol.NewError(protocol.ReasonInternal, "The agent cannot write its audit trail, so it signs nothing; the disk may be full. Ask your administrator to free space (docs/security.md).")
	e.Data.Detail = "audit trail: " + truncate(err.Error(), 200)
	return e
}
