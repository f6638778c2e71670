// Package config owns tte-agent's configuration: the TOML file of protocol
// contract §5, its defaults and its validation. A configuration that loads
// is safe to run: loopback listen address, exact origins, known
// capabilities, bounded limits.
package config

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration.
type Config struct {
	Listen string `toml:"listen"`
	// ListenPorts is how many ports, from listen's on, the agent tries in
	// order when one is taken (another user's agent on a shared machine or
	// terminal server); pages find their own user's agent with GET
	// /v1/hello (docs/protocol.md). 1 keeps the agent on listen's port.
	ListenPorts int      `toml:"listen_ports"`
	PKCS11      PKCS11   `toml:"pkcs11"`
	Pinentry    Pinentry `toml:"pinentry"`
	Origins     []Origin `toml:"origins"`
	TSA         TSA      `toml:"tsa"`
	Audit       Audit    `toml:"audit"`
	Metrics     Metrics  `toml:"metrics"`
	Limits      Limits   `toml:"limits"`
	Uploads     Uploads  `toml:"uploads"`
	// Certificates holds issuer certificates to include in signatures
	// when the token does not carry them.
	Certificates Certificates `toml:"certificates"`
	// Trust names the trust anchors that signer and time-stamp chains
	// must reach.
	Trust Trust `toml:"trust"`
	// Revocation says how the signer's certificate is checked before
	// signing.
	Revocation Revocation `toml:"revocation"`
	// Native configures the local channel of the browser extension.
	Native Native `toml:"native"`

	// AllowUsers names the users (login names or numeric uids) whose pages
	// an agent run as root may serve (a kiosk); others are refused. An
	// agent run by an ordinary user serves that user alone and ignores it.
	AllowUsers []string `toml:"allow_users"`
	// AllowUIDs holds AllowUsers resolved after Load.
	AllowUIDs []int `toml:"-"`

	// PolicyPath is the administrator's policy applied by LoadWithPolicy,
	// "" when there was none.
	PolicyPath string `toml:"-"`
	// Notes says what the policy overrode or refused, for the log.
	Notes []string `toml:"-"`
}

// Certificates configures the issuer chain included in signatures.
type Certificates struct {
	// Chain lists PEM files of CA certificates (e.g. the BSrE
	// intermediate and root).
	Chain []string `toml:"chain"`
	// Parsed holds the certificates of Chain after Load.
	Parsed []*x509.Certificate `toml:"-"`
}

// Native configures the local channel through which the native-messaging
// host (`tte-agent native-host`, started by the browser for the tte-agent
// extension) reaches the user's agent.
type Native struct {
	// Socket is the private Unix socket (0600; only the agent's own user
	// may connect, by its peer credentials); default: the uploads
	// directory's path with ".sock". On Windows a named pipe whose ACL
	// admits the user alone; default \\.\pipe\tte-agent-HASH, from the
	// uploads directory. "off" turns the channel off.
	Socket string `toml:"socket"`
}

// Uploads configures where received documents wait until they are signed.
type Uploads struct {
	// Dir is a private spool directory; default: "uploads" in the user's
	// state directory. Files left there by a crash are removed at start.
	Dir string `toml:"dir"`
	// MemoryBytes is how much all documents kept in memory may take
	// together; larger documents and the overflow go to Dir.
	MemoryBytes int64 `toml:"memory_bytes"`
	// IdleTimeout is how long a sign request waits for more bytes of an
	// incomplete upload before it refuses it as a size mismatch.
	IdleTimeout Duration `toml:"idle_timeout"`
	// QuotaBytes bounds what all spooled documents together may declare;
	// 0 (the default) takes a quarter of the spool disk's free space at
	// start. 64 MiB of the disk are always left free.
	QuotaBytes int64 `toml:"quota_bytes"`
}

// PKCS11 lists the modules to load.
type PKCS11 struct {
	// Modules are PKCS#11 library paths; empty means DefaultModules.
	Modules []string `toml:"modules"`
	// Discovered reports that Modules were found by DefaultModules, not
	// configured.
	Discovered bool `toml:"-"`
	// Sessions is how many sessions sign one request in parallel; 0
	// means 4. Set 1 for tokens that misbehave with several sessions.
	Sessions int `toml:"sessions"`
	// Poll is how often the slot watcher reads the token list to push
	// tokens.changed; default 1s.
	Poll Duration `toml:"poll"`
	// Rescan is how often modules no request is using are initialised
	// again so that tokens they only read at start (SoftHSM) are seen;
	// default "0s", off: each re-initialisation costs a module like
	// SoftHSM a reload of its tokens and the agent some resident memory,
	// and PC/SC modules (OpenSC, vendor drivers) list new tokens anyway.
	Rescan Duration `toml:"rescan"`
}

// Pinentry configures the consent and PIN dialog.
type Pinentry struct {
	// Program is an Assuan pinentry program (GnuPG convention).
	Program string `toml:"program"`
	// Timeout bounds how long a dialog stays open.
	Timeout Duration `toml:"timeout"`
	// Language of the dialog: "id" (Bahasa Indonesia, default) or "en".
	Language string `toml:"language"`
}

// Origin is one web application allowed to call the agent.
type Origin struct {
	// Origin is scheme://host[:port], byte-for-byte as browsers send it.
	Origin string `toml:"origin"`
	// Allow lists its capabilities: "documents", "digest".
	Allow []string `toml:"allow"`
}

// TSA configures the RFC 3161 time-stamping authority.
type TSA struct {
	URL string `toml:"url"`
}

// Audit configures the audit trail.
type Audit struct {
	// Path is the trail's file; default: audit.log in the state directory.
	Path string `toml:"path"`
	// MaxBytes rotates the file when it grows past this size.
	MaxBytes int64 `toml:"max_bytes"`
	// MaxTotalBytes bounds the trail's files together: the oldest are
	// summarised into the trail, then deleted. Default 100 MiB.
	MaxTotalBytes int64 `toml:"max_total_bytes"`
	// Required (default true) fails a sign request whose audit record
	// cannot be written.
	Required *bool `toml:"required"`
	// AnchorInterval is how often the chain's head is time-stamped when a
	// TSA is configured (also at start); default 24h.
	AnchorInterval Duration `toml:"anchor_interval"`
	// Syslog, "tcp://HOST:PORT" or "tls://HOST:PORT", also sends every
	// record to a central collector as RFC 5424 (docs/deployment.md).
	Syslog string `toml:"syslog"`
	// SyslogCA is the collector's CA certificate for tls:// (PEM).
	SyslogCA string `toml:"syslog_ca"`
	// EventLog (Windows) also writes every record to the Application
	// event log, source tte-agent.
	EventLog bool `toml:"eventlog"`
}

// IsRequired reports audit.required, true unless set false.
func (a Audit) IsRequired() bool { return a.Required == nil || *a.Required }

// Metrics configures the Prometheus listener.
type Metrics struct {
	// Listen is host:port; "" turns the listener off. An address off
	// loopback needs WebConfig with TLS and basic auth.
	Listen *string `toml:"listen"`
	// WebConfig is a Prometheus exporter-toolkit web configuration file
	// (tls_server_config, basic_auth_users).
	WebConfig string `toml:"web_config"`
}

// Limits bound what one page may send. Zero values take the defaults of
// contract §1.
type Limits struct {
	TextFrameBytes   int64 `toml:"text_frame_bytes"`
	BinaryFrameBytes int64 `toml:"binary_frame_bytes"`
	DocumentBytes    int64 `toml:"document_bytes"`
	Items            int   `toml:"items"`
	Uploads          int   `toml:"uploads"`
	Connections      int   `toml:"connections"`
	// DialogQueue is how many sign requests may wait for the dialog while
	// one is shown; more are answered busy.
	DialogQueue int `toml:"dialog_queue"`
	// HeapBytes is a soft limit for the agent's Go heap (GOMEMLIMIT, which
	// takes precedence when set): the garbage collector works harder near
	// it, keeping the resident size small during large batches.
	HeapBytes int64 `toml:"heap_bytes"`
	// OriginConnections is how many of Connections one origin may hold;
	// default three quarters.
	OriginConnections int `toml:"origin_connections"`
	// ConnectionIdle closes a connection without messages or running
	// requests for this long; default 10m.
	ConnectionIdle Duration `toml:"connection_idle"`
	// Parses is how many PDFs are parsed at once across all requests.
	Parses int `toml:"parses"`
	// ParseTime is the CPU time one PDF's parse may take.
	ParseTime Duration `toml:"parse_time"`
	// ParseMemoryBytes is how much one PDF's parse may grow the heap
	// beyond the document's own size.
	ParseMemoryBytes int64 `toml:"parse_memory_bytes"`
}

// Duration is a time.Duration written as "120s" or "2m".
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Defaults of contract §1 and §5.
const (
	DefaultListen      = "127.0.0.1:14545"
	DefaultListenPorts = 10
	DefaultMetrics     = "127.0.0.1:14546"
	DefaultProgram     = "pinentry"
	DefaultTimeout     = 120 * time.Second
	DefaultPoll        = time.Second
	DefaultTextFrame   = 1 << 20
	DefaultBinaryFrame = 4 << 20
	DefaultDocument    = 512 << 20
	DefaultItems       = 1000
	DefaultUploads     = 8
	DefaultConnections = 16
	DefaultDialogQueue = 4
	DefaultUploadMem   = 8 << 20
	DefaultHeap        = 32 << 20
	DefaultParseTime   = time.Second
	DefaultParseMemory = 8 << 20
)

// DefaultParses is how many PDFs are parsed at once by default: one per
// core, at most 4.
func DefaultParses() int { return min(4, runtime.NumCPU()) }

// Capabilities an origin may be given.
var Capabilities = []string{"documents", "digest", "extend", "verify", "encrypt", "decrypt"}

// Load reads, completes and validates the configuration file at path.
func Load(path string) (*Config, error) {
	var c Config
	if err := decode(path, &c); err != nil {
		return nil, err
	}
	if err := c.complete(); err != nil {
		return nil, fmt.Errorf("configuration %s: %w", path, err)
	}
	return &c, nil
}

// decode reads the TOML file at path into c, refusing unknown keys.
func decode(path string, c *Config) error {
	md, err := toml.DecodeFile(path, c)
	if err != nil {
		return fmt.Errorf("failed to read configuration %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return fmt.Errorf("configuration %s: unknown keys %s (check the spelling against docs/protocol.md)", path, joinKeys(und))
	}
	return nil
}

// Default returns the configuration used when no file is given.
func Default() *Config {
	var c Config
	if err := c.complete(); err != nil {
		panic(err) // the zero configuration is always valid
	}
	return &c
}

func (c *Config) complete() error {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if err := checkLoopback(c.Listen); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if c.ListenPorts == 0 {
		c.ListenPorts = DefaultListenPorts
	}
	if c.ListenPorts < 1 || c.ListenPorts > 64 {
		return fmt.Errorf("listen_ports %d: must be between 1 and 64", c.ListenPorts)
	}
	if len(c.PKCS11.Modules) == 0 {
		c.PKCS11.Modules = DefaultModules()
		c.PKCS11.Discovered = true
	}
	if c.PKCS11.Sessions < 0 || c.PKCS11.Sessions > 64 {
		return fmt.Errorf("pkcs11.sessions %d: must be between 0 (automatic) and 64", c.PKCS11.Sessions)
	}
	if c.PKCS11.Poll == 0 {
		c.PKCS11.Poll = Duration(DefaultPoll)
	}
	if t := time.Duration(c.PKCS11.Poll); t < 100*time.Millisecond || t > time.Minute {
		return fmt.Errorf("pkcs11.poll %v: must be between 100ms and 1m", t)
	}
	if t := time.Duration(c.PKCS11.Rescan); t != 0 && (t < time.Second || t > time.Hour) {
		return fmt.Errorf("pkcs11.rescan %v: must be 0s (off) or between 1s and 1h", t)
	}
	if c.Pinentry.Program == "" && runtime.GOOS != "windows" {
		// On Windows no program means the native dialog.
		c.Pinentry.Program = DefaultProgram
	}
	if c.Pinentry.Timeout == 0 {
		c.Pinentry.Timeout = Duration(DefaultTimeout)
	}
	if t := time.Duration(c.Pinentry.Timeout); t < time.Second || t > 30*time.Minute {
		return fmt.Errorf("pinentry.timeout %v: must be between 1s and 30m", t)
	}
	switch c.Pinentry.Language {
	case "":
		c.Pinentry.Language = "id"
	case "id", "en":
	default:
		return fmt.Errorf("pinentry.language %q: use \"id\" or \"en\"", c.Pinentry.Language)
	}
	c.AllowUIDs = nil
	for _, name := range c.AllowUsers {
		uid, err := lookupUID(name)
		if err != nil {
			return fmt.Errorf("allow_users: %w", err)
		}
		c.AllowUIDs = append(c.AllowUIDs, uid)
	}
	seen := map[string]bool{}
	for i, o := range c.Origins {
		if err := CheckOrigin(o.Origin); err != nil {
			return fmt.Errorf("origins[%d]: %w", i, err)
		}
		if seen[o.Origin] {
			return fmt.Errorf("origins[%d]: %q is listed twice", i, o.Origin)
		}
		seen[o.Origin] = true
		for _, a := range o.Allow {
			if !slices.Contains(Capabilities, a) {
				return fmt.Errorf("origins[%d].allow: unknown capability %q; use %v", i, a, Capabilities)
			}
		}
	}
	for _, path := range c.Certificates.Chain {
		certs, err := readPEMCertificates(path)
		if err != nil {
			return fmt.Errorf("certificates.chain: %w", err)
		}
		c.Certificates.Parsed = append(c.Certificates.Parsed, certs...)
	}
	if err := c.completeArchive(); err != nil {
		return err
	}
	if c.TSA.URL != "" {
		u, err := url.Parse(c.TSA.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("tsa.url %q: must be an http or https URL", c.TSA.URL)
		}
	}
	if c.Metrics.Listen == nil {
		l := DefaultMetrics
		c.Metrics.Listen = &l
	}
	if c.Uploads.Dir == "" {
		state, err := StateDir()
		if err != nil {
			return fmt.Errorf("uploads.dir: no state directory: %w", err)
		}
		c.Uploads.Dir = filepath.Join(state, "uploads")
	}
	if c.Native.Socket == "" {
		// Beside the spool, as the instance lock: one per user, and the
		// native host finds it from the same configuration. Windows has
		// named pipes in a namespace of their own instead.
		c.Native.Socket = c.Uploads.Dir + ".sock"
		if runtime.GOOS == "windows" {
			sum := sha256.Sum256([]byte(strings.ToLower(c.Uploads.Dir)))
			c.Native.Socket = `\\.\pipe\tte-agent-` + hex.EncodeToString(sum[:8])
		}
	}
	if c.Uploads.MemoryBytes == 0 {
		c.Uploads.MemoryBytes = DefaultUploadMem
	}
	if c.Audit.Path == "" {
		state, err := StateDir()
		if err != nil {
			return fmt.Errorf("audit.path: no state directory: %w", err)
		}
		c.Audit.Path = filepath.Join(state, "audit.log")
	}
	if c.Audit.MaxBytes == 0 {
		c.Audit.MaxBytes = 10 << 20
	}
	if c.Audit.MaxBytes < 4096 {
		return fmt.Errorf("audit.max_bytes %d: must be at least 4096", c.Audit.MaxBytes)
	}
	if c.Audit.MaxTotalBytes == 0 {
		c.Audit.MaxTotalBytes = max(100<<20, 4*c.Audit.MaxBytes)
	}
	if c.Audit.MaxTotalBytes < 2*c.Audit.MaxBytes {
		return fmt.Errorf("audit.max_total_bytes %d: must be at least twice audit.max_bytes (%d)", c.Audit.MaxTotalBytes, c.Audit.MaxBytes)
	}
	if c.Audit.AnchorInterval == 0 {
		c.Audit.AnchorInterval = Duration(24 * time.Hour)
	}
	if t := time.Duration(c.Audit.AnchorInterval); t < time.Minute || t > 30*24*time.Hour {
		return fmt.Errorf("audit.anchor_interval %v: must be between 1m and 720h", t)
	}
	if c.Uploads.IdleTimeout == 0 {
		c.Uploads.IdleTimeout = Duration(30 * time.Second)
	}
	if t := time.Duration(c.Uploads.IdleTimeout); t < 100*time.Millisecond || t > 10*time.Minute {
		return fmt.Errorf("uploads.idle_timeout %v: must be between 100ms and 10m", t)
	}
	if c.Uploads.QuotaBytes < 0 {
		return fmt.Errorf("uploads.quota_bytes %d: must be 0 (a quarter of the free disk) or more", c.Uploads.QuotaBytes)
	}
	if c.Uploads.MemoryBytes < 0 || c.Uploads.MemoryBytes > 1<<30 {
		return fmt.Errorf("uploads.memory_bytes %d: must be between 1 and %d", c.Uploads.MemoryBytes, 1<<30)
	}
	return c.Limits.complete()
}

func (l *Limits) complete() error {
	def64 := func(v *int64, d, max int64, name string) error {
		if *v == 0 {
			*v = d
		}
		if *v < 1 || *v > max {
			return fmt.Errorf("limits.%s %d: must be between 1 and %d", name, *v, max)
		}
		return nil
	}
	defDur := func(v *Duration, d, lo, hi time.Duration, name string) error {
		if *v == 0 {
			*v = Duration(d)
		}
		if t := time.Duration(*v); t < lo || t > hi {
			return fmt.Errorf("limits.%s %v: must be between %v and %v", name, t, lo, hi)
		}
		return nil
	}
	def := func(v *int, d, max int, name string) error {
		x := int64(*v)
		err := def64(&x, int64(d), int64(max), name)
		*v = int(x)
		return err
	}
	return errors.Join(
		def64(&l.TextFrameBytes, DefaultTextFrame, 64<<20, "text_frame_bytes"),
		def64(&l.BinaryFrameBytes, DefaultBinaryFrame, 64<<20, "binary_frame_bytes"),
		def64(&l.DocumentBytes, DefaultDocument, 16<<30, "document_bytes"),
		def(&l.Items, DefaultItems, 100000, "items"),
		def(&l.Uploads, DefaultUploads, 1000, "uploads"),
		def(&l.Connections, DefaultConnections, 1000, "connections"),
		def(&l.DialogQueue, DefaultDialogQueue, 100, "dialog_queue"),
		def64(&l.HeapBytes, DefaultHeap, 16<<30, "heap_bytes"),
		def(&l.OriginConnections, max(1, l.Connections*3/4), l.Connections, "origin_connections"),
		defDur(&l.ConnectionIdle, 10*time.Minute, time.Second, 24*time.Hour, "connection_idle"),
		def(&l.Parses, DefaultParses(), 64, "parses"),
		defDur(&l.ParseTime, DefaultParseTime, 10*time.Millisecond, time.Minute, "parse_time"),
		def64(&l.ParseMemoryBytes, DefaultParseMemory, 4<<30, "parse_memory_bytes"),
	)
}

// checkLoopback refuses any listen address that is not a loopback IP
// literal with a port: the agent must never be reachable from the network.
func checkLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() || (host != "127.0.0.1" && host != "::1") {
		return fmt.Errorf("%q: the agent listens on 127.0.0.1 or [::1] only", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 { // 0: any free port, for tests
		return fmt.Errorf("%q: bad port", addr)
	}
	return nil
}

// CheckOrigin validates an origin as browsers serialise it:
// scheme://host[:port] with scheme http or https, a lowercase host, no
// default port, no path, query, user or trailing slash.
func CheckOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil {
		return fmt.Errorf("origin %q: %v", o, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("origin %q: scheme must be http or https", o)
	case u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return fmt.Errorf("origin %q: must be scheme://host[:port] with no path, not even a trailing slash", o)
	case strings.ToLower(u.Host) != u.Host:
		return fmt.Errorf("origin %q: browsers send the host in lowercase", o)
	case u.Scheme == "https" && u.Port() == "443", u.Scheme == "http" && u.Port() == "80":
		return fmt.Errorf("origin %q: browsers omit the default port", o)
	case u.Scheme+"://"+u.Host != o:
		return fmt.Errorf("origin %q: is not in the form browsers send", o)
	}
	return nil
}

// Allowed returns the capabilities of origin, and false if the origin is
// not configured. Matching is byte-for-byte.
func (c *Config) Allowed(origin string) ([]string, bool) {
	for _, o := range c.Origins {
		if o.Origin == origin {
			return o.Allow, true
		}
	}
	return nil, false
}

// StateDir returns the user's state directory for tte-agent
// ($XDG_STATE_HOME/tte-agent, ~/.local/state/tte-agent, or
// %LocalAppData%\tte-agent).
func StateDir() (string, error) {
	if runtime.GOOS == "windows" {
		d, err := os.UserCacheDir() // %LocalAppData%
		if err != nil {
			return "", err
		}
		return filepath.Join(d, "tte-agent"), nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "tte-agent"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "state", "tte-agent"), nil
}

// readPEMCertificates reads every CERTIFICATE block of a PEM file.
func readPEMCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate in the file", path)
	}
	return out, nil
}

// lookupUID resolves a login name or a numeric uid.
func lookupUID(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("no user %q on this machine", name)
	}
	return strconv.Atoi(u.Uid)
}
