package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/agent/instance"
	"github.com/tte-agent/tte-agent/agent/listen"
	"github.com/tte-agent/tte-agent/agent/metrics"
	"github.com/tte-agent/tte-agent/agent/syslog"
	"github.com/tte-agent/tte-agent/agent/upload"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/token"
)

// uploadMemMax is the largest document kept in memory; larger ones are
// spooled to disk from their first byte.
const uploadMemMax = 1 << 20

// Daemon is a running agent: its tokens, listener and WebSocket server.
type Daemon struct {
	Agent    *Agent
	tokens   *token.Provider
	listener net.Listener
	server   *wsserver.Server
	done     chan error
	stop     context.CancelFunc // ends the slot watcher
	watching chan struct{}
	// anchoring is closed when the anchoring loop has ended (nil without
	// a TSA).
	anchoring chan struct{}
	metrics   *metrics.Server // nil when [metrics] listen is ""
	// localSocket is the browser extension's channel, "" when off.
	localSocket string
	failed      atomic.Pointer[error]

	unlock  func()            // releases the one-agent-per-user lock
	forward *syslog.Forwarder // nil without [audit] syslog
	events  *syslog.EventLog  // nil without [audit] eventlog

	closeOnce sync.Once
	closeErr  error
}

// Start loads the configured modules, binds the listen address and serves
// in the background until Close.
func Start(cfg *config.Config, prompt Prompter, log *slog.Logger) (*Daemon, error) {
	switch {
	case len(cfg.PKCS11.Modules) == 0:
		log.Warn("no PKCS#11 module configured or found at the usual places; install the token's driver or set [pkcs11] modules (docs/deployment.md)")
	case cfg.PKCS11.Discovered:
		log.Info("no PKCS#11 module configured; using the ones found at the usual places", "modules", cfg.PKCS11.Modules)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(cfg.Limits.HeapBytes)
	}
	// One agent per user: a second one would take the next port of the
	// range and empty this one's spool.
	unlock, err := instance.Lock(cfg.Uploads.Dir + ".lock")
	if err != nil {
		return nil, err
	}
	tokens, err := token.Open(cfg.PKCS11.Modules, log)
	if err != nil {
		unlock()
		return nil, err
	}
	l, taken, err := listen.Range(cfg.Listen, cfg.ListenPorts)
	if err != nil {
		tokens.Close()
		unlock()
		return nil, err
	}
	if len(taken) > 0 {
		log.Info("ports taken by other users' agents or other programs; pages find this agent with /v1/hello", "taken", taken, "listening", l.Addr().String())
	}
	// The spool is opened (and emptied of a crashed run's files) only once
	// the port is ours: a second agent must not delete the first's files.
	store, err := upload.Open(cfg.Uploads.Dir, uploadMemMax, cfg.Uploads.MemoryBytes)
	if err != nil {
		l.Close()
		tokens.Close()
		unlock()
		return nil, err
	}
	store.SetQuota(cfg.Uploads.QuotaBytes)
	var fwd *syslog.Forwarder
	if cfg.Audit.Syslog != "" {
		if fwd, err = syslog.New(cfg.Audit.Syslog, cfg.Audit.SyslogCA, log); err != nil {
			l.Close()
			tokens.Close()
			unlock()
			return nil, err
		}
		log.Info("audit records also go to the syslog collector", "collector", cfg.Audit.Syslog)
	}
	var events *syslog.EventLog
	if cfg.Audit.EventLog {
		if events, err = syslog.OpenEventLog(); err != nil {
			l.Close()
			tokens.Close()
			unlock()
			return nil, err
		}
	}
	opts := audit.Options{MaxBytes: cfg.Audit.MaxBytes, MaxTotalBytes: cfg.Audit.MaxTotalBytes, Log: log}
	if fwd != nil || events != nil {
		opts.OnWrite = func(line []byte) {
			if fwd != nil {
				fwd.Send(line)
			}
			if events != nil {
				events.Send(line)
			}
		}
	}
	trail, err := audit.Open(cfg.Audit.Path, opts)
	if err != nil {
		if events != nil {
			events.Close()
		}
		if fwd != nil {
			fwd.Close(context.Background())
		}
		l.Close()
		tokens.Close()
		unlock()
		return nil, err
	}
	a := New(cfg, tokens, store, prompt, log)
	if os.Getuid() == 0 && runtime.GOOS == "linux" && len(cfg.AllowUIDs) == 0 {
		log.Warn("running as root with no allow_users: only root's own pages are served; name the kiosk user in the policy (allow_users = [\"kiosk\"])")
	}
	a.audit = trail
	var srv *wsserver.Server
	a.metrics = metrics.New(Version, func() int { return srv.Connections() })
	a.metrics.AuditRecords(func() float64 { seq, _ := trail.Head(); return float64(seq) })
	a.refusals = audit.NewRefusals(refusalInterval, func(r audit.Record) { _ = a.record(r) })
	_ = a.record(audit.Record{Event: audit.EventStart, Detail: "tte-agent " + Version})
	srv = wsserver.New(wsserver.Config{
		Limits:      a.Limits(),
		UID:         UID(),
		AllowUser:   a.AllowUser(),
		Log:         log,
		IdleTimeout: time.Duration(cfg.Limits.ConnectionIdle),
		Refused: func(origin, host, why string) {
			a.metrics.Rejected("forbidden")
			a.refused(audit.Record{Origin: origin, Outcome: "forbidden", Detail: why}, host)
		},
	}, a)
	ctx, stop := context.WithCancel(context.Background())
	d := &Daemon{Agent: a, tokens: tokens, listener: l, server: srv, done: make(chan error, 1), stop: stop, watching: make(chan struct{}), unlock: unlock, forward: fwd, events: events}
	if addr := *cfg.Metrics.Listen; addr != "" {
		d.metrics, err = a.metrics.Serve(addr, cfg.Metrics.WebConfig, d.healthy, log)
		switch {
		case errors.Is(err, listen.ErrPortTaken):
			// Metrics are for the administrator; signing goes on. On a
			// shared machine the first user's agent serves them.
			log.Warn("the metrics port is taken (another user's agent, or another program): metrics are off for this agent, signing goes on", "addr", addr, "err", err)
			d.metrics = nil
		case err != nil:
			stop()
			l.Close()
			trail.Close()
			tokens.Close()
			unlock()
			return nil, err
		default:
			log.Info("metrics listening", "addr", d.metrics.Addr().String(), "tls", cfg.Metrics.WebConfig != "")
		}
	}
	// Pages hold at most Limits.Connections; the rest of the cap is room
	// for handshakes in progress. Beyond it connections are closed at
	// once, so that no flood exhausts the process's file descriptors.
	capped := listen.Cap(l, 2*cfg.Limits.Connections+16, func() { a.metrics.Rejected("connections") })
	go func() {
		err := srv.Serve(capped)
		if err != nil {
			d.failed.Store(&err)
		}
		d.done <- err
	}()
	if sock := cfg.Native.Socket; sock != "off" && sock != "" && (runtime.GOOS == "linux" || runtime.GOOS == "windows") {
		// The browser extension's channel; without it pages still reach
		// the agent over the WebSocket.
		if ll, err := wsserver.ListenLocal(sock); err != nil {
			log.Warn("the browser extension's local channel is off", "socket", sock, "err", err)
		} else {
			d.localSocket = sock
			go srv.ServeLocal(ll)
			log.Info("local channel for the browser extension", "socket", sock)
		}
	}
	if a.tsa != nil {
		d.anchoring = make(chan struct{})
		go func() {
			defer close(d.anchoring)
			a.anchorTrail(ctx, time.Duration(cfg.Audit.AnchorInterval))
		}()
	}
	go func() {
		defer close(d.watching)
		a.watchTokens(ctx, time.Duration(cfg.PKCS11.Poll), time.Duration(cfg.PKCS11.Rescan), func(toks []protocol.Token) {
			srv.Broadcast(protocol.NotifyTokensChanged, protocol.TokensList{Tokens: toks})
		})
	}()
	log.Info("tte-agent listening", "url", d.URL(), "version", Version, "origins", len(cfg.Origins))
	return d, nil
}

// Reload puts a new configuration in force without dropping connections;
// see Agent.Reload. It returns what needs a restart to take effect.
func (d *Daemon) Reload(next *config.Config) []string {
	notes := d.Agent.Reload(next)
	d.server.SetLimits(d.Agent.Limits())
	return notes
}

// healthy is /healthz: the WebSocket server still serves.
func (d *Daemon) healthy() error {
	if err := d.failed.Load(); err != nil {
		return fmt.Errorf("the WebSocket server failed: %w", *err)
	}
	return nil
}

// MetricsAddr is the metrics listener's address, nil when it is off.
func (d *Daemon) MetricsAddr() net.Addr {
	if d.metrics == nil {
		return nil
	}
	return d.metrics.Addr()
}

// URL returns the WebSocket URL pages connect to.
func (d *Daemon) URL() string {
	return fmt.Sprintf("ws://%s%s", d.listener.Addr(), wsserver.Path)
}

// Addr returns the bound address.
func (d *Daemon) Addr() net.Addr { return d.listener.Addr() }

// Done reports the server's end: nil after Close, an error if it failed.
func (d *Daemon) Done() <-chan error { return d.done }

// Close stops serving, closes every connection and unloads the modules.
// Later calls return the first's result.
func (d *Daemon) Close(ctx context.Context) error {
	d.closeOnce.Do(func() { d.closeErr = d.close(ctx) })
	return d.closeErr
}

func (d *Daemon) close(ctx context.Context) error {
	d.stop()
	<-d.watching
	if d.anchoring != nil {
		<-d.anchoring
	}
	if d.metrics != nil {
		d.metrics.Close()
	}
	serr := d.server.Shutdown(ctx)
	if d.localSocket != "" && runtime.GOOS != "windows" {
		os.Remove(d.localSocket) // a pipe goes with its listener
	}
	if c, ok := d.Agent.prompt.(interface{ Close() }); ok {
		c.Close()
	}
	// Every connection is closed, so its documents are gone; anything
	// left (a request that outlived the deadline) goes too.
	cerr := d.Agent.store.Clear()
	d.Agent.refusals.Close()
	_ = d.Agent.record(audit.Record{Event: audit.EventStop, Detail: "tte-agent " + Version})
	if d.Agent.audit != nil {
		d.Agent.audit.Close()
	}
	if d.events != nil {
		d.events.Close()
	}
	if d.forward != nil {
		// The stop record too, if the collector takes it in a moment.
		fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		d.forward.Close(fctx)
		cancel()
	}
	err := errors.Join(serr, cerr, d.tokens.Close())
	d.unlock()
	return err
}
