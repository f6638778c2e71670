package token

import (
	"crypto"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"unsafe"

	"github.com/miekg/pkcs11"
)

// Session is one logged-in session on a token, for one request. PKCS#11
// login state belongs to the token, not the session: the caller must not
// let two Sessions on one token overlap, or one request would sign with
// another's login. A Session is not safe for concurrent use.
type Session struct {
	info Info
	ctx  *pkcs11.Ctx
	sh   pkcs11.SessionHandle
	// closed makes Close release the module's use lock once.
	closed bool
	// forked sessions share their parent's login and do not log out.
	forked bool
}

// Login opens a session on the token with the serial and logs the user in
// with pin, which is used for this call only and not kept. For a token with
// a protected authentication path (a PIN pad) pass an empty pin: the token
// asks for it itself.
//
// The token's PIN flags are read first: a locked PIN returns ErrPINLocked
// without a login attempt. A refused PIN returns a *PINError wrapping
// ErrPINIncorrect with the status the token reports afterwards. A token
// not present returns ErrNotFound.
func (p *Provider) Login(serial string, pin []byte) (*Session, error) {
	t, err := p.Token(serial)
	if err != nil {
		return nil, err
	}
	if t.PINStatus == PINLocked {
		return nil, &PINError{Status: PINLocked, Err: ErrPINLocked}
	}
	// The module stays in use, and is never rescanned, until Close.
	t.mod.use.RLock()
	ctx := t.mod.ctx
	sh, err := ctx.OpenSession(t.slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		t.mod.use.RUnlock()
		return nil, fmt.Errorf("failed to open a session on token %s: %w", serial, classify(err))
	}
	s := &Session{info: t, ctx: ctx, sh: sh}
	err = login(ctx, sh, pkcs11.CKU_USER, pin)
	if errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)) {
		// A login left behind (by a crashed request or another
		// application sharing the module) must not serve this request:
		// log out and log in again with this request's PIN.
		_ = ctx.Logout(sh)
		err = login(ctx, sh, pkcs11.CKU_USER, pin)
	}
	if err != nil {
		ctx.CloseSession(sh)
		t.mod.use.RUnlock()
		return nil, p.loginError(serial, err)
	}
	return s, nil
}

// loginError classifies a failed login and attaches the PIN status the
// token reports now.
func (p *Provider) loginError(serial string, err error) error {
	err = classify(err)
	if !errors.Is(err, ErrPINIncorrect) && !errors.Is(err, ErrPINLocked) {
		return fmt.Errorf("failed to log in to token %s: %w", serial, err)
	}
	status := PINStatus("")
	if t, terr := p.Token(serial); terr == nil {
		status = t.PINStatus
	}
	if errors.Is(err, ErrPINLocked) {
		status = PINLocked
	}
	return &PINError{Status: status, Err: err}
}

func login(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle, userType uint, pin []byte) error {
	// unsafe.String avoids a copy of the PIN on the Go heap that could not
	// be wiped; the caller wipes pin. miekg/pkcs11 copies it into C memory
	// for the call and frees it.
	return ctx.Login(sh, userType, unsafe.String(unsafe.SliceData(pin), len(pin)))
}

// Fork opens another session on the same token for signing in parallel.
// PKCS#11 login state belongs to the token, so the new session is logged
// in as long as s is; keys found in s work in it too (object handles are
// per application). Close it before s. Tokens that allow one session, or
// whose driver serialises anyway, may refuse: callers then sign with s
// alone.
func (s *Session) Fork() (*Session, error) {
	s.info.mod.use.RLock()
	sh, err := s.ctx.OpenSession(s.info.slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		s.info.mod.use.RUnlock()
		return nil, fmt.Errorf("failed to open another session: %w", classify(err))
	}
	return &Session{info: s.info, ctx: s.ctx, sh: sh, forked: true}, nil
}

// Token returns the token the session is on.
func (s *Session) Token() Info { return s.info }

// Key is a private key found in a logged-in session.
type Key struct {
	handle pkcs11.ObjectHandle
	// EC is true for an EC key, false for RSA.
	EC bool
	// AlwaysAuthenticate is true when the key needs a context-specific
	// login before every signature (CKA_ALWAYS_AUTHENTICATE).
	AlwaysAuthenticate bool
}

// Key finds the private key under keyID, or returns ErrNotFound.
func (s *Session) Key(keyID []byte) (*Key, error) {
	hs, err := findObjects(s.ctx, s.sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_ID, keyID),
	})
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("private key %x: %w", keyID, ErrNotFound)
	}
	attrs, err := s.ctx.GetAttributeValue(s.sh, hs[0], []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to read the key type: %w", classify(err))
	}
	k := &Key{handle: hs[0]}
	switch kt := bytesToUint(attrs[0].Value); kt {
	case pkcs11.CKK_RSA:
	case pkcs11.CKK_EC:
		k.EC = true
	default:
		return nil, fmt.Errorf("private key %x has unsupported key type %#x", keyID, kt)
	}
	// CKA_ALWAYS_AUTHENTICATE is optional; a module that does not know it
	// answers CKR_ATTRIBUTE_TYPE_INVALID, which means false.
	aa, err := s.ctx.GetAttributeValue(s.sh, hs[0], []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_AUTHENTICATE, nil),
	})
	if err == nil && len(aa[0].Value) == 1 && aa[0].Value[0] != 0 {
		k.AlwaysAuthenticate = true
	}
	return k, nil
}

func bytesToUint(b []byte) uint {
	var v uint
	// PKCS#11 CK_ULONG values come in host byte order (little-endian on
	// every platform we build for).
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint(b[i])
	}
	return v
}

// digestInfoPrefix is the DER DigestInfo header that RSA PKCS#1 v1.5 puts
// before the digest (RFC 8017 §9.2, note 1).
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

var pssParams = map[crypto.Hash][2]uint{
	crypto.SHA256: {pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256},
	crypto.SHA384: {pkcs11.CKM_SHA384, pkcs11.CKG_MGF1_SHA384},
	crypto.SHA512: {pkcs11.CKM_SHA512, pkcs11.CKG_MGF1_SHA512},
}

// Sign signs a digest with the key, as crypto.Signer would: opts.HashFunc()
// names the digest's hash; *rsa.PSSOptions selects RSA-PSS (salt length
// equal to the hash length, MGF1 with the same hash), otherwise an RSA key
// signs PKCS#1 v1.5. An EC key signs ECDSA and the signature is DER, as in
// X.509 and CMS. pin is used only for a key that needs a context-specific
// login and is not kept.
func (s *Session) Sign(k *Key, digest []byte, opts crypto.SignerOpts, pin []byte) ([]byte, error) {
	h := opts.HashFunc()
	if h.Size() != len(digest) {
		return nil, fmt.Errorf("digest is %d bytes, %v needs %d", len(digest), h, h.Size())
	}
	var mech *pkcs11.Mechanism
	input := digest
	switch pss, isPSS := opts.(*rsa.PSSOptions); {
	case k.EC:
		mech = pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)
	case isPSS:
		if pss.SaltLength != rsa.PSSSaltLengthEqualsHash && pss.SaltLength != h.Size() {
			return nil, fmt.Errorf("RSA-PSS salt length must equal the hash length")
		}
		p, ok := pssParams[h]
		if !ok {
			return nil, fmt.Errorf("unsupported hash %v for RSA-PSS", h)
		}
		mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, pkcs11.NewPSSParams(p[0], p[1], uint(h.Size())))
	default:
		prefix, ok := digestInfoPrefix[h]
		if !ok {
			return nil, fmt.Errorf("unsupported hash %v for RSA PKCS#1 v1.5", h)
		}
		input = append(append(make([]byte, 0, len(prefix)+len(digest)), prefix...), digest...)
		mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)
	}
	if err := s.ctx.SignInit(s.sh, []*pkcs11.Mechanism{mech}, k.handle); err != nil {
		return nil, fmt.Errorf("failed to start signing: %w", classify(err))
	}
	if k.AlwaysAuthenticate {
		if err := login(s.ctx, s.sh, pkcs11.CKU_CONTEXT_SPECIFIC, pin); err != nil {
			// A failed context-specific login leaves the sign operation
			// active (SoftHSM answers CKR_OPERATION_ACTIVE to the next
			// call); C_Sign ends it, whatever it answers.
			_, _ = s.ctx.Sign(s.sh, input)
			return nil, fmt.Errorf("failed the key's own login: %w", classify(err))
		}
	}
	sig, err := s.ctx.Sign(s.sh, input)
	if err != nil {
		return nil, fmt.Errorf("failed to sign: %w", classify(err))
	}
	if k.EC {
		return ecdsaDER(sig)
	}
	return sig, nil
}

// ecdsaDER converts PKCS#11's r‖s ECDSA signature to the DER
// Ecdsa-Sig-Value of X.509 and CMS.
func ecdsaDER(sig []byte) ([]byte, error) {
	if len(sig) == 0 || len(sig)%2 != 0 {
		return nil, fmt.Errorf("token returned a malformed ECDSA signature of %d bytes", len(sig))
	}
	n := len(sig) / 2
	return asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:]),
	})
}

// Close logs out and closes the session (a forked session only closes). Errors from a token already gone
// are not reported: there is nothing left to log out of.
func (s *Session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	defer s.info.mod.use.RUnlock()
	if s.forked {
		if err := s.ctx.CloseSession(s.sh); err != nil && !errors.Is(classify(err), ErrRemoved) {
			return fmt.Errorf("failed to close the session: %w", classify(err))
		}
		return nil
	}
	lerr := s.ctx.Logout(s.sh)
	cerr := s.ctx.CloseSession(s.sh)
	if lerr != nil && !errors.Is(lerr, pkcs11.Error(pkcs11.CKR_USER_NOT_LOGGED_IN)) {
		if errors.Is(classify(lerr), ErrRemoved) {
			return nil
		}
		return fmt.Errorf("failed to log out: %w", classify(lerr))
	}
	if cerr != nil && !errors.Is(classify(cerr), ErrRemoved) {
		return fmt.Errorf("failed to close the session: %w", classify(cerr))
	}
	return nil
}
