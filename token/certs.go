package token

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/pkcs11"
)

// Certificate is an X.509 certificate on a token whose private key is on
// the same token under the same CKA_ID.
type Certificate struct {
	// ID is "<token serial>/<CKA_ID in lowercase hex>": stable across
	// restarts and re-insertion.
	ID string
	// Token is the serial of the token that holds it.
	Token string
	// KeyID is the CKA_ID shared by the certificate and its key.
	KeyID []byte
	// Label is the certificate object's CKA_LABEL.
	Label string
	Cert  *x509.Certificate
}

// CertificateID returns the protocol's id for a certificate on a token.
func CertificateID(serial string, keyID []byte) string {
	return serial + "/" + hex.EncodeToString(keyID)
}

// ParseCertificateID splits a certificate id into token serial and CKA_ID.
func ParseCertificateID(id string) (serial string, keyID []byte, err error) {
	i := strings.LastIndexByte(id, '/')
	if i <= 0 || i == len(id)-1 {
		return "", nil, fmt.Errorf("certificate id %q is not <serial>/<hex CKA_ID>: %w", id, ErrNotFound)
	}
	hexID := id[i+1:]
	if strings.ToLower(hexID) != hexID {
		return "", nil, fmt.Errorf("certificate id %q: CKA_ID must be lowercase hex: %w", id, ErrNotFound)
	}
	keyID, err = hex.DecodeString(hexID)
	if err != nil {
		return "", nil, fmt.Errorf("certificate id %q: CKA_ID is not hex: %w", id, ErrNotFound)
	}
	return id[:i], keyID, nil
}

// Certificates lists the certificates with a key on every present token,
// read afresh. A token that fails while it is read is left out and logged.
func (p *Provider) Certificates() ([]Certificate, error) {
	toks, err := p.Tokens()
	if err != nil {
		return nil, err
	}
	var out []Certificate
	for _, t := range toks {
		certs, err := p.tokenCertificates(t)
		if err != nil {
			p.log.Warn("failed to read certificates", "token", t.Serial, "err", err)
			continue
		}
		p.remember(t, certs)
		out = append(out, certs...)
	}
	return out, nil
}

// certCacheLife bounds how long a token's certificate list is reused
// between reads. Reading it costs several object searches (0.1 ms each on
// SoftHSM, more on a card); a certificate that appears on the token is
// seen by certificates.list at once, and by sign requests within this.
const certCacheLife = 30 * time.Second

// cachedCerts is a token's certificate list as read at a time and slot.
type cachedCerts struct {
	at    time.Time
	slot  slotRef
	certs []Certificate
}

func (p *Provider) remember(t Info, certs []Certificate) {
	p.smu.Lock()
	defer p.smu.Unlock()
	p.certs[t.Serial] = cachedCerts{at: time.Now(), slot: slotRef{mod: t.mod, slot: t.slot}, certs: certs}
}

// Certificate returns the certificate with the id, or an error wrapping
// ErrNotFound. The token itself is always read (it must be present); its
// certificate list is reused while fresh and from the same slot, and read
// again before an id is declared unknown.
func (p *Provider) Certificate(id string) (Certificate, error) {
	serial, keyID, err := ParseCertificateID(id)
	if err != nil {
		return Certificate{}, err
	}
	t, err := p.Token(serial)
	if err != nil {
		return Certificate{}, err
	}
	find := func(certs []Certificate) (Certificate, bool) {
		for _, c := range certs {
			if string(c.KeyID) == string(keyID) {
				return c, true
			}
		}
		return Certificate{}, false
	}
	p.smu.Lock()
	cached, ok := p.certs[serial]
	p.smu.Unlock()
	if ok && time.Since(cached.at) < certCacheLife && cached.slot == (slotRef{mod: t.mod, slot: t.slot}) {
		if c, ok := find(cached.certs); ok {
			return c, nil
		}
	}
	certs, err := p.tokenCertificates(t)
	if err != nil {
		return Certificate{}, err
	}
	p.remember(t, certs)
	if c, ok := find(certs); ok {
		return c, nil
	}
	return Certificate{}, fmt.Errorf("certificate %q: %w", id, ErrNotFound)
}

// rawCert is one X.509 certificate object on a token.
type rawCert struct {
	keyID []byte
	label string
	cert  *x509.Certificate
}

// allCertificates reads every X.509 certificate object on the token, with
// or without a key.
func (p *Provider) allCertificates(t Info, each func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle, c rawCert) error) error {
	t.mod.use.RLock()
	defer t.mod.use.RUnlock()
	ctx := t.mod.ctx
	sh, err := ctx.OpenSession(t.slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		return fmt.Errorf("failed to open a session: %w", classify(err))
	}
	defer ctx.CloseSession(sh)

	handles, err := findObjects(ctx, sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
	})
	if err != nil {
		return err
	}
	for _, h := range handles {
		attrs, err := ctx.GetAttributeValue(sh, h, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil),
		})
		if err != nil {
			return fmt.Errorf("failed to read a certificate: %w", classify(err))
		}
		cert, err := x509.ParseCertificate(attrs[1].Value)
		if err != nil {
			p.log.Warn("skipping unparsable certificate", "token", t.Serial, "label", string(attrs[2].Value), "err", err)
			continue
		}
		if err := each(ctx, sh, rawCert{keyID: attrs[0].Value, label: string(attrs[2].Value), cert: cert}); err != nil {
			return err
		}
	}
	return nil
}

func (p *Provider) tokenCertificates(t Info) ([]Certificate, error) {
	var out []Certificate
	var keyIDs map[string]bool
	err := p.allCertificates(t, func(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle, c rawCert) error {
		if len(c.keyID) == 0 {
			return nil // no CKA_ID: no way to pair it with a key
		}
		if keyIDs == nil {
			// One search per key class for the whole token, not per
			// certificate: C_FindObjectsInit is costly on SoftHSM
			// (docs/performance.md).
			var err error
			if keyIDs, err = keyIDsOnToken(ctx, sh); err != nil {
				return err
			}
		}
		if !keyIDs[string(c.keyID)] {
			return nil
		}
		out = append(out, Certificate{
			ID:    CertificateID(t.Serial, c.keyID),
			Token: t.Serial,
			KeyID: c.keyID,
			Label: c.label,
			Cert:  c.cert,
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Tokens return objects in no particular order; list them by CKA_ID so
	// pages and terminals show a stable list.
	slices.SortFunc(out, func(a, b Certificate) int { return bytes.Compare(a.KeyID, b.KeyID) })
	return out, nil
}

// Chain returns the issuers of c found among the certificates on its
// token and in extra, nearest first, each checked by signature; an empty
// chain is not an error. Tokens issued by a CA often carry its
// certificates; extra holds those an administrator configured.
func (p *Provider) Chain(c Certificate, extra ...*x509.Certificate) ([]*x509.Certificate, error) {
	t, err := p.Token(c.Token)
	if err != nil {
		return nil, err
	}
	pool := slices.Clone(extra)
	err = p.allCertificates(t, func(_ *pkcs11.Ctx, _ pkcs11.SessionHandle, rc rawCert) error {
		pool = append(pool, rc.cert)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var chain []*x509.Certificate
	cur := c.Cert
	for len(chain) < 8 && !bytes.Equal(cur.RawIssuer, cur.RawSubject) {
		i := slices.IndexFunc(pool, func(cand *x509.Certificate) bool {
			return bytes.Equal(cand.RawSubject, cur.RawIssuer) && cur.CheckSignatureFrom(cand) == nil
		})
		if i < 0 {
			break
		}
		cur = pool[i]
		chain = append(chain, cur)
	}
	return chain, nil
}

// keyIDsOnToken returns the CKA_IDs of the keys visible in the session.
// Many tokens hide private keys until login (CKA_PRIVATE), so a public key
// object under an id counts as evidence too; the private key itself is
// looked up after login, and its absence then is ErrNotFound.
func keyIDsOnToken(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle) (map[string]bool, error) {
	ids := map[string]bool{}
	for _, class := range []uint{pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY} {
		hs, err := findObjects(ctx, sh, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, class)})
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			a, err := ctx.GetAttributeValue(sh, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, nil)})
			if err == nil && len(a[0].Value) > 0 {
				ids[string(a[0].Value)] = true
			}
		}
	}
	return ids, nil
}

// maxObjects bounds a search; no token holds more keys than this.
const maxObjects = 4096

func findObjects(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle, tmpl []*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	if err := ctx.FindObjectsInit(sh, tmpl); err != nil {
		return nil, fmt.Errorf("failed to search objects: %w", classify(err))
	}
	var out []pkcs11.ObjectHandle
	var ferr error
	for len(out) < maxObjects {
		hs, _, err := ctx.FindObjects(sh, 64)
		if err != nil {
			ferr = fmt.Errorf("failed to search objects: %w", classify(err))
			break
		}
		if len(hs) == 0 {
			break
		}
		out = append(out, hs...)
	}
	if err := ctx.FindObjectsFinal(sh); err != nil && ferr == nil {
		ferr = fmt.Errorf("failed to finish an object search: %w", classify(err))
	}
	return out, ferr
}
