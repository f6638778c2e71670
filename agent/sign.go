package agent

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/agent/consent"
	"github.com/tte-agent/tte-agent/agent/pinentry"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/token"
)

// signRequest is a validated sign request, ready for consent.
type signRequest struct {
	peer    *wsserver.Peer
	id      protocol.ID
	method  string
	cert    token.Certificate
	consent consent.Request
	total   int
	// prog, when set, carries on the request's progress (after a
	// receiving stage, say).
	prog *progress
	// audited returns the items for the audit trail (names and digests,
	// never content); called when the request ends.
	audited func() []audit.Item
}

// signFunc signs the request's items in a logged-in session. pin is only
// for keys that need a context-specific login; it is wiped after.
type signFunc func(ctx context.Context, s *token.Session, k *token.Key, pin []byte, prog *progress) error

// findCertificate resolves a certificate id and checks that it may sign
// now.
func (a *Agent) findCertificate(id string) (token.Certificate, error) {
	c, err := a.tokens.Certificate(id)
	if errors.Is(err, token.ErrNotFound) {
		e := protocol.NewError(protocol.ReasonCertificateNotFound, "No certificate with this id is on a token that is present; insert the token or list the certificates again.")
		return token.Certificate{}, e
	}
	if err != nil {
		return token.Certificate{}, a.tokenError(err, 0)
	}
	return c, checkCertificate(c.Cert, time.Now())
}

// checkCertificate refuses certificates outside their validity or without
// a signing key usage.
func checkCertificate(c *x509.Certificate, now time.Time) error {
	invalid := func(detail string) error {
		e := protocol.NewError(protocol.ReasonCertificateInvalid, "This certificate cannot sign now; renew it or choose another.")
		e.Data.Detail = detail
		return e
	}
	switch {
	case now.Before(c.NotBefore):
		return invalid("not valid before " + c.NotBefore.UTC().Format(time.RFC3339))
	case now.After(c.NotAfter):
		return invalid("expired on " + c.NotAfter.UTC().Format(time.RFC3339))
	case c.KeyUsage != 0 && c.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0:
		return invalid("its key usage allows neither digitalSignature nor nonRepudiation")
	}
	return nil
}

// signerOpts picks the signature scheme for the certificate's key.
func signerOpts(c *x509.Certificate, alg protocol.SignatureAlgorithm, h crypto.Hash) (crypto.SignerOpts, error) {
	switch c.PublicKey.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "", protocol.RSAPKCS1v15:
			return h, nil
		case protocol.RSAPSS:
			return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}, nil
		}
		return nil, protocol.BadRequest("params.signatureAlgorithm: %s does not fit the certificate's RSA key; use RSA-PKCS1-v1_5 or RSA-PSS", alg)
	default:
		if alg == "" || alg == protocol.ECDSA {
			return h, nil
		}
		return nil, protocol.BadRequest("params.signatureAlgorithm: %s does not fit the certificate's EC key; use ECDSA", alg)
	}
}

// sign runs one sign request: PIN status check, consent and PIN in the
// dialog, one login, the items, logout. Exactly one dialog and at most one
// login happen; a cancelled dialog means no login at all.
func (a *Agent) sign(ctx context.Context, r signRequest, fn signFunc) (err error) {
	log := a.log.With("conn", r.peer.ID, "origin", r.peer.Origin, "method", r.method, "certificate", r.cert.ID, "items", r.total)
	start := time.Now()
	prog := r.prog
	if prog == nil {
		prog = newProgress(r.peer, r.id, r.total)
	}
	fp := sha256.Sum256(r.cert.Cert.Raw)
	entry := audit.Record{Origin: r.peer.Origin, Method: r.method, Certificate: hex.EncodeToString(fp[:]),
		Subject: r.cert.Cert.Subject.CommonName, Count: r.total}
	markAudited(ctx)
	var signStart time.Time
	defer func() {
		reason := ""
		if err != nil {
			reason = outcome(err)
		} else if !signStart.IsZero() {
			a.metrics.SignTime(formatOf(r.method), time.Since(signStart))
		}
		a.metrics.Signed(formatOf(r.method), prog.done, reason)
		res := entry
		res.Event, res.Outcome = audit.EventResult, outcome(err)
		res.Count = prog.done
		if r.audited != nil {
			res.Items = r.audited()
		}
		if rerr := a.recordRequired(res); rerr != nil && err == nil {
			// Fail closed: signatures whose record is not in the trail are
			// not handed out.
			err = rerr
		}
	}()

	info, err := a.tokens.Token(r.cert.Token)
	if err != nil {
		return a.tokenError(err, 0)
	}
	if info.PINStatus == token.PINLocked {
		return pinLocked()
	}
	r.consent.PINStatus = string(info.PINStatus)
	r.consent.PINPad = info.ProtectedAuthPath
	r.consent.Subject = r.cert.Cert.Subject.CommonName
	r.consent.Issuer = r.cert.Cert.Issuer.CommonName
	r.consent.NotAfter = r.cert.Cert.NotAfter
	r.consent.Origin = r.peer.Origin

	prog.stage(protocol.StageAwaitingUser)
	shown := entry
	shown.Event = audit.EventDialog
	// dialog_shown is written once the dialog is really shown (not for a
	// request answered busy), and a request whose record cannot be
	// written never reaches the user (audit.required).
	pin, err := a.ask(ctx, r.consent, info.ProtectedAuthPath, func() error { return a.recordRequired(shown) })
	defer clear(pin)
	decision := entry
	decision.Event, decision.Outcome = audit.EventDecision, "consented"
	if err != nil {
		decision.Outcome = outcome(err)
	}
	a.record(decision)
	a.metrics.Dialog(decision.Outcome)
	if err != nil {
		log.Info("sign request ended at the dialog", "outcome", err)
		return err
	}
	log.Info("user consented", "after", time.Since(start))

	unlock, err := a.lockToken(ctx, r.cert.Token)
	if err != nil {
		return a.contextError(ctx, err, 0)
	}
	defer unlock()
	s, err := a.tokens.Login(r.cert.Token, pin)
	if err != nil {
		log.Info("login failed", "err", err)
		if errors.Is(err, token.ErrNotFound) {
			err = fmt.Errorf("%w: %w", token.ErrRemoved, err)
		}
		return a.tokenError(err, 0)
	}
	defer func() {
		if err := s.Close(); err != nil {
			log.Warn("logout failed", "err", err)
		}
	}()
	k, err := s.Key(r.cert.KeyID)
	if err != nil {
		if errors.Is(err, token.ErrNotFound) {
			return protocol.NewError(protocol.ReasonCertificateNotFound, "The token has the certificate but not its private key.")
		}
		return a.tokenError(err, 0)
	}
	if !k.AlwaysAuthenticate {
		clear(pin) // not needed past the login
	}
	log.Debug("logged in", "after", time.Since(start))
	prog.stage(protocol.StageSigning)
	signStart = time.Now()
	done, stopped := "signed", "signing stopped"
	if r.method == protocol.MethodDocumentDecrypt {
		done, stopped = "content keys recovered", "opening stopped"
	}
	if err := fn(ctx, s, k, pin, prog); err != nil {
		log.Info(stopped, "err", err, "completed", prog.done)
		return err
	}
	log.Info(done, "completed", prog.done, "after", time.Since(start))
	return nil
}

// ask shows the dialog, one at a time across all connections, and returns
// the PIN (nil for a PIN pad token).
func (a *Agent) ask(ctx context.Context, req consent.Request, pinPad bool, shown func() error) ([]byte, error) {
	select {
	case a.waiting <- struct{}{}:
	default:
		return nil, protocol.NewError(protocol.ReasonBusy, "Other signing requests are waiting for the user; try again when they are done.")
	}
	select {
	case a.dialog <- struct{}{}:
		<-a.waiting
	case <-ctx.Done():
		<-a.waiting
		return nil, a.contextError(ctx, ctx.Err(), 0)
	}
	defer func() { <-a.dialog }()
	if err := shown(); err != nil {
		return nil, err
	}

	// The dialog is laid out for where it is drawn: a terminal's size for
	// pinentry-curses, a window otherwise.
	var scr pinentry.Screen
	if s, ok := a.prompt.(interface{ Screen() pinentry.Screen }); ok {
		scr = s.Screen()
	}
	d, err := consent.DialogOn(a.conf().Pinentry.Language, req, scr)
	if err != nil {
		a.log.Error("the PIN dialog does not fit its screen", "rows", scr.Rows, "cols", scr.Cols, "err", err)
		return nil, dialogUnavailable(err)
	}
	var pin []byte
	if pinPad {
		err = a.prompt.Confirm(ctx, d)
	} else {
		pin, err = a.prompt.GetPIN(ctx, d)
	}
	switch {
	case err == nil:
		return pin, nil
	case errors.Is(err, pinentry.ErrCancelled):
		return nil, protocol.NewError(protocol.ReasonUserCancelled, "The user refused to sign.")
	case errors.Is(err, pinentry.ErrTimeout):
		return nil, protocol.NewError(protocol.ReasonTimeout, "Nobody answered the signing dialog in time; ask the user to try again.")
	case ctx.Err() != nil:
		return nil, a.contextError(ctx, err, 0)
	}
	a.log.Error("the PIN dialog failed", "program", a.conf().Pinentry.Program, "err", err)
	return nil, dialogUnavailable(err)
}

// dialogUnavailable is the answer when the consent dialog cannot be shown.
func dialogUnavailable(err error) *protocol.Error {
	e := protocol.NewError(protocol.ReasonDialogUnavailable, "The PIN dialog could not be shown, so nothing was signed: enlarge the terminal tte-agent runs in, or install a graphical pinentry (tte-agent doctor says more).")
	if errors.Is(err, consent.ErrNoRoom) || errors.Is(err, pinentry.ErrNoRoom) {
		e.Data.Detail = err.Error()
	}
	return e
}

// lockToken serialises requests on one token: PKCS#11 login state is the
// token's, so a second request must never run inside the first's login.
func (a *Agent) lockToken(ctx context.Context, serial string) (func(), error) {
	a.tmu.Lock()
	l, ok := a.tokenLocks[serial]
	if !ok {
		l = make(chan struct{}, 1)
		a.tokenLocks[serial] = l
	}
	a.tmu.Unlock()
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func pinLocked() error {
	e := protocol.NewError(protocol.ReasonPINLocked, "The token's PIN is locked; an administrator must unblock it before it can sign.")
	e.Data.PINStatus = string(token.PINLocked)
	return e
}

// tokenError turns a token error into the protocol's, after completed
// items.
func (a *Agent) tokenError(err error, completed int) error {
	var pe *token.PINError
	switch {
	case errors.Is(err, token.ErrPINLocked):
		return pinLocked()
	case errors.As(err, &pe) && errors.Is(err, token.ErrPINIncorrect):
		e := protocol.NewError(protocol.ReasonPINIncorrect, "The PIN is incorrect; nothing was signed. Check the PIN and try again.")
		e.Data.PINStatus = string(pe.Status)
		return e
	case errors.Is(err, token.ErrPINIncorrect):
		e := protocol.NewError(protocol.ReasonPINIncorrect, "The PIN is incorrect; check the PIN and try again.")
		return e.WithCompleted(completed)
	case errors.Is(err, token.ErrRemoved):
		return protocol.NewError(protocol.ReasonTokenRemoved, "The token was removed; insert it and sign again.").WithCompleted(completed)
	}
	return err
}

// outcome names how a request ended for the audit trail: "ok" or the
// protocol reason.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	if pe, ok := protocol.AsError(err); ok {
		return string(pe.Data.Reason)
	}
	if errors.Is(err, context.Canceled) {
		return "connection_closed"
	}
	return string(protocol.ReasonInternal)
}

type auditedKey struct{}

// withAuditMark lets sign() tell Serve that it recorded the request's end.
func withAuditMark(ctx context.Context) context.Context {
	return context.WithValue(ctx, auditedKey{}, new(bool))
}

func markAudited(ctx context.Context) {
	if b, ok := ctx.Value(auditedKey{}).(*bool); ok {
		*b = true
	}
}

func wasAudited(ctx context.Context) bool {
	b, ok := ctx.Value(auditedKey{}).(*bool)
	return ok && *b
}

// itemError answers a request that stopped after done items: cancelled
// when the page asked, else the token's error.
func (a *Agent) itemError(ctx context.Context, err error, done int) error {
	if ctx.Err() != nil {
		return a.contextError(ctx, err, done)
	}
	if pe, ok := protocol.AsError(err); ok {
		return pe.WithCompleted(done) // a document that failed mid-batch
	}
	return a.tokenError(err, done)
}

// contextError answers a request whose context ended: request.cancel
// gives cancelled; a closed connection needs no answer the page could read.
func (a *Agent) contextError(ctx context.Context, err error, completed int) error {
	if errors.Is(context.Cause(ctx), wsserver.ErrCancelRequested) {
		return protocol.NewError(protocol.ReasonCancelled, "The request was cancelled.").WithCompleted(completed)
	}
	return err
}
