package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/prometheus/exporter-toolkit/web"
	agentlisten "github.com/tte-agent/tte-agent/agent/listen"
	"go.yaml.in/yaml/v2"
)

// ErrInsecure means a metrics listener off loopback without TLS and basic
// auth.
var ErrInsecure = errors.New("a metrics listener on a non-loopback address needs [metrics] web_config with TLS (cert_file, key_file) and basic_auth_users")

// Check validates a metrics listen address and its web config file (the
// Prometheus exporter-toolkit format): loopback may go without one; any
// other address needs one with TLS and at least one basic-auth user.
func Check(listen, webConfig string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("metrics listen %q: %w", listen, err)
	}
	ip := net.ParseIP(host)
	loopback := ip != nil && ip.IsLoopback()
	if webConfig == "" {
		if !loopback {
			return fmt.Errorf("metrics listen %q: %w", listen, ErrInsecure)
		}
		return nil
	}
	if err := web.Validate(webConfig); err != nil {
		return fmt.Errorf("metrics web_config %s: %w", webConfig, err)
	}
	data, err := os.ReadFile(webConfig)
	if err != nil {
		return err
	}
	var c web.Config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("metrics web_config %s: %w", webConfig, err)
	}
	tls := c.TLSConfig.TLSCertPath != "" || c.TLSConfig.TLSCert != ""
	if !loopback && (!tls || len(c.Users) == 0) {
		return fmt.Errorf("metrics listen %q with %s: %w", listen, webConfig, ErrInsecure)
	}
	return nil
}

// Server is a running metrics listener.
type Server struct {
	http *http.Server
	addr net.Addr
	done chan error
}

// Serve checks listen and webConfig (see Check), binds and serves
// /metrics and /healthz in the background. healthy reports the agent's
// own state for /healthz.
func (m *Metrics) Serve(listen, webConfig string, healthy func() error, log *slog.Logger) (*Server, error) {
	if err := Check(listen, webConfig); err != nil {
		return nil, err
	}
	l, err := agentlisten.TCP(listen)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w (set [metrics] listen, or \"\" to turn metrics off)", err)
	}
	// A scraper needs a connection or two; a flood of idle ones must not
	// take the process's file descriptors from the WebSocket listener.
	l = agentlisten.Cap(l, maxConns, func() { m.rejected.WithLabelValues("metrics_connections").Inc() })
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := healthy(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	var h http.Handler = mux
	if webConfig == "" {
		// On loopback without TLS a DNS-rebinding page could otherwise
		// read subject names and token serials: the Host must be the
		// listener's own address, as on the WebSocket. A LAN listener
		// with TLS and basic auth is reached by name and needs no check.
		h = hostOnly(l.Addr().(*net.TCPAddr).Port, mux)
	}
	s := &Server{http: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}, addr: l.Addr(), done: make(chan error, 1)}
	go func() {
		s.done <- web.Serve(l, s.http, &web.FlagConfig{WebConfigFile: &webConfig}, log.With("component", "metrics"))
	}()
	return s, nil
}

// maxConns bounds the metrics listener's open connections.
const maxConns = 16

// hostOnly answers 421 to a request whose Host is not a loopback name of
// port, exactly.
func hostOnly(port int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !agentlisten.LoopbackHost(r.Host, port) {
			http.Error(w, "wrong Host: scrape the agent at 127.0.0.1 and its port", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.addr }

// Close stops the listener.
func (s *Server) Close() error { return s.http.Close() }
