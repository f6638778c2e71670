// Package token owns the PKCS#11 side of tte-agent: it loads modules, lists
// slots, tokens and their PIN status, finds certificate and private key
// pairs, logs in for one request and signs digests. It knows nothing of
// WebSockets or dialogs, and it never keeps a PIN: a PIN is passed into the
// one call that needs it.
package token

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/miekg/pkcs11"
)

// Sentinel errors that callers branch on. Errors returned by this package
// wrap one of them where it applies, and the module's own return code too.
var (
	// ErrPINIncorrect means the token refused the PIN; errors.As with
	// *PINError gives the token's PIN status after the attempt.
	ErrPINIncorrect = errors.New("incorrect PIN")
	// ErrPINLocked means the token's user PIN is locked; no login was tried.
	ErrPINLocked = errors.New("PIN locked")
	// ErrRemoved means the token went away during the operation.
	ErrRemoved = errors.New("token removed")
	// ErrNotFound means no token, certificate or key matches.
	ErrNotFound = errors.New("not found")
)

// PINError reports a failed login with the PIN status the token reports
// after the attempt.
type PINError struct {
	Status PINStatus
	Err    error
}

func (e *PINError) Error() string {
	return fmt.Sprintf("%v (PIN status now %s)", e.Err, e.Status)
}

// Unwrap returns the underlying sentinel and module error.
func (e *PINError) Unwrap() error { return e.Err }

// Provider owns the loaded PKCS#11 modules. Its methods are safe for
// concurrent use; login state is per token, so callers serialise requests
// per token themselves (see Session).
type Provider struct {
	log     *slog.Logger
	modules []*module

	smu   sync.Mutex
	slots map[string]slotRef     // by token serial
	certs map[string]cachedCerts // by token serial
}

type module struct {
	path string
	ctx  *pkcs11.Ctx
	mu   sync.Mutex // guards finalized
	done bool
	// use is read-held by every call into the module and for the whole
	// life of a session; Rescan takes it for writing only when it is free,
	// so a module is never re-initialised under a request.
	use sync.RWMutex
}

// Open loads and initialises the PKCS#11 modules at paths. It fails if any
// of them cannot be loaded, naming the module, and closes the ones already
// loaded.
func Open(paths []string, log *slog.Logger) (*Provider, error) {
	p := &Provider{log: log, slots: map[string]slotRef{}, certs: map[string]cachedCerts{}}
	for _, path := range paths {
		ctx := pkcs11.New(path)
		if ctx == nil {
			p.Close()
			return nil, fmt.Errorf("failed to load PKCS#11 module %s: the file is missing or not a PKCS#11 library", path)
		}
		if err := ctx.Initialize(); err != nil {
			// Another owner in this process (a test, the benchmark's
			// crypto11 baseline) may have initialised it already; the
			// module is usable then, and we must not finalize it later.
			if !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
				ctx.Destroy()
				p.Close()
				return nil, fmt.Errorf("failed to initialise PKCS#11 module %s: %w", path, err)
			}
			log.Warn("PKCS#11 module was already initialised in this process", "module", path)
		}
		p.modules = append(p.modules, &module{path: path, ctx: ctx})
		log.Info("loaded PKCS#11 module", "module", path)
	}
	return p, nil
}

// Modules returns the paths of the loaded modules.
func (p *Provider) Modules() []string {
	out := make([]string, len(p.modules))
	for i, m := range p.modules {
		out[i] = m.path
	}
	return out
}

// Close finalises and unloads every module.
func (p *Provider) Close() error {
	var errs []error
	for _, m := range p.modules {
		m.mu.Lock()
		if !m.done {
			m.done = true
			if err := m.ctx.Finalize(); err != nil {
				errs = append(errs, fmt.Errorf("failed to finalize %s: %w", m.path, err))
			}
			m.ctx.Destroy()
		}
		m.mu.Unlock()
	}
	return errors.Join(errs...)
}

// classify wraps a module error with the sentinel callers branch on.
func classify(err error) error {
	var rv pkcs11.Error
	if !errors.As(err, &rv) {
		return err
	}
	switch rv {
	case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE:
		return fmt.Errorf("%w: %w", ErrPINIncorrect, err)
	case pkcs11.CKR_PIN_LOCKED:
		return fmt.Errorf("%w: %w", ErrPINLocked, err)
	case pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_PRESENT,
		pkcs11.CKR_DEVICE_ERROR, pkcs11.CKR_SESSION_HANDLE_INVALID,
		pkcs11.CKR_SESSION_CLOSED, pkcs11.CKR_SLOT_ID_INVALID,
		pkcs11.CKR_TOKEN_NOT_RECOGNIZED, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED:
		// A pulled USB token answers any of these depending on the
		// driver and on the moment it is pulled; p11-kit's client
		// answers CKR_DEVICE_ERROR when its server goes away; a module
		// whose re-initialisation failed answers
		// CKR_CRYPTOKI_NOT_INITIALIZED until it is initialised again.
		return fmt.Errorf("%w: %w", ErrRemoved, err)
	}
	return err
}

// Rescan re-initialises every module that no request is using, so that
// tokens created since it was initialised are seen: SoftHSM, and some
// vendor modules, read their token list only in C_Initialize. A module in
// use is left alone and rescanned at a later call.
func (p *Provider) Rescan() {
	for _, m := range p.modules {
		if !m.use.TryLock() {
			continue
		}
		if err := m.reinit(); err != nil {
			p.log.Warn("failed to re-initialise a PKCS#11 module", "module", m.path, "err", err)
		}
		m.use.Unlock()
	}
}

// reinit finalizes and initialises the module again, dropping every
// session and login it had. Provider state keyed by slot is forgotten.
func (m *module) reinit() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return errors.New("module closed")
	}
	_ = m.ctx.Finalize()
	return m.ctx.Initialize()
}
