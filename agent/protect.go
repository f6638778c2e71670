package agent

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/agent/consent"
	"github.com/tte-agent/tte-agent/agent/upload"
	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/envelope"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/revocation"
	"github.com/tte-agent/tte-agent/token"
	"github.com/tte-agent/tte-agent/trust"
)

// ErrRecipientRevoked means a recipient's certificate is revoked.
var ErrRecipientRevoked = errors.New("the recipient's certificate is revoked: they can no longer be trusted with the document")

// CheckRecipient checks a recipient's certificate as the agent checks a
// signer's: key usage, validity now, and under the revocation mode its
// chain to a trust anchor and its OCSP/CRL status. Mode require refuses
// what cannot be checked; prefer calls warn and goes on; off checks
// neither. `tte-agent encrypt` and document.encrypt share it.
func CheckRecipient(ctx context.Context, mode string, store *trust.Store, rc *revocation.Checker, c *x509.Certificate, now time.Time, warn func(string)) error {
	if err := envelope.CheckRecipient(c); err != nil {
		return err
	}
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return fmt.Errorf("%w: %s is valid from %s to %s", envelope.ErrRecipient, c.Subject.CommonName, c.NotBefore.Format(time.DateOnly), c.NotAfter.Format(time.DateOnly))
	}
	if mode == config.RevocationOff {
		return nil
	}
	unchecked := func(why error) error {
		if mode == config.RevocationRequire {
			return fmt.Errorf("%w: %s cannot be checked ([revocation] mode = require): %v", envelope.ErrRecipient, c.Subject.CommonName, why)
		}
		warn(fmt.Sprintf("%s's certificate was not checked for revocation: %v", c.Subject.CommonName, why))
		return nil
	}
	chain, err := store.Chain(ctx, c, nil, now)
	if err != nil {
		return unchecked(err)
	}
	if len(chain) < 2 {
		return unchecked(errors.New("a trust anchor itself is no recipient"))
	}
	res, err := rc.Check(ctx, c, chain[1])
	if err != nil {
		return unchecked(err)
	}
	if res.Status == revocation.Revoked {
		return fmt.Errorf("%w (%s since %s, %s)", ErrRecipientRevoked, c.Subject.CommonName, res.RevokedAt.Format(time.DateOnly), revocation.ReasonText(res.Reason))
	}
	if res.Status != revocation.Good {
		return unchecked(fmt.Errorf("its status is %v", res.Status))
	}
	return nil
}

// ctxReader stops reading a document when its request ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// inline decides whether a result of size bytes goes in the answer: at
// most protocol.InlineItemBytes each and protocol.InlineAnswerBytes in
// all; the rest are held for download.
type inline struct{ used int64 }

func (in *inline) take(size int64) bool {
	if size > protocol.InlineItemBytes || in.used+size > protocol.InlineAnswerBytes {
		return false
	}
	in.used += size
	return true
}

// spoolError says what to do when the spool cannot take a result.
func spoolError(err error, size int64) error {
	if errors.Is(err, upload.ErrSpoolFull) {
		return tooLarge(fmt.Sprintf("the agent's document spool cannot hold a result of %d bytes (its quota, uploads.quota_bytes, or the disk's free space is used up); fetch or discard earlier results, or ask the administrator to free disk space", size))
	}
	return err
}

func signItems(items []protocol.ProtectItem) []protocol.SignItem {
	out := make([]protocol.SignItem, len(items))
	for i, it := range items {
		out[i].UploadID = it.UploadID
	}
	return out
}

// documentEncrypt is document.encrypt: documents encrypted to the
// recipients' certificates, each checked first; no token, no dialog.
func (a *Agent) documentEncrypt(ctx context.Context, p *wsserver.Peer, req protocol.Request) (any, error) {
	defer a.consumeNamed(p, req.Params)
	if !a.permits(p, protocol.CapEncrypt) {
		return nil, notPermitted(protocol.CapEncrypt)
	}
	var params protocol.DocumentEncryptParams
	if err := protocol.DecodeParams(req.Params, &params); err != nil {
		return nil, err
	}
	if err := a.checkItemCount(len(params.Items)); err != nil {
		return nil, err
	}
	docs, err := a.takeDocuments(p, signItems(params.Items), protocol.CapEncrypt)
	if err != nil {
		return nil, err
	}
	defer docs.remove()
	var certs []*x509.Certificate
	for i, der := range params.Recipients {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, protocol.BadRequest("params.recipients[%d]: not a DER certificate: %v", i, err)
		}
		err = CheckRecipient(ctx, a.conf().Revocation.Mode, a.trust, a.revoc, c, time.Now(), func(w string) { a.log.Warn("encrypting to an unchecked recipient", "detail", w) })
		if err != nil {
			if ctx.Err() != nil {
				return nil, a.contextError(ctx, ctx.Err(), 0)
			}
			e := protocol.NewError(protocol.ReasonCertificateInvalid, "A recipient's certificate cannot receive encrypted documents; see the detail, and ask the recipient for a current certificate.")
			e.Data.Detail = fmt.Sprintf("params.recipients[%d]: %v", i, err)
			return nil, e
		}
		certs = append(certs, c)
	}
	opts := envelope.Options{Cipher: envelope.Cipher(params.Cipher), RSAPadding: envelope.RSAPadding(params.RSAPadding)}
	res := protocol.DocumentEncryptResult{Items: make([]protocol.EncryptedItem, len(docs.uploads))}
	var in inline
	kept := a.heldFor(p).request()
	defer kept.undo()
	for i, u := range docs.uploads {
		if err := a.awaitUpload(ctx, i, u); err != nil {
			return nil, err
		}
		enc, err := envelope.NewEncryptor(certs, opts, u.Size)
		if err != nil {
			return nil, err
		}
		content := ctxReader{ctx, io.NewSectionReader(u, 0, u.Size)}
		item := protocol.EncryptedItem{Name: docs.names[i], Size: enc.Size()}
		if in.take(enc.Size()) {
			var buf bytes.Buffer
			buf.Grow(int(enc.Size()))
			err = enc.Encrypt(&buf, content)
			item.Envelope = buf.Bytes()
		} else {
			// A large document is encrypted into the spool (ciphertext
			// only) and held for download: memory stays bounded.
			var out *upload.Upload
			if out, err = a.store.NewResult(docs.names[i]+".p7m", enc.Size()); err != nil {
				return nil, spoolError(err, enc.Size())
			}
			if err = enc.Encrypt(out, content); err == nil {
				item.Held, err = kept.hold(enc.Size(),
					func() (io.Reader, error) { return io.NewSectionReader(out, 0, out.Size), nil }, out.Remove)
			} else {
				out.Remove()
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, a.contextError(ctx, ctx.Err(), i)
			}
			return nil, err
		}
		res.Items[i] = item
		// Its plaintext goes at once, not with the request's end.
		u.Remove()
	}
	kept.done()
	return res, nil
}

// documentDecrypt is document.decrypt: one dialog that names the site and
// the documents it will receive opened, one login, the token's key doing
// the key transport (C_Decrypt) or key agreement (C_DeriveKey), logout.
// The content keys never leave the agent; a document not encrypted to a
// certificate on the tokens is certificate_not_found before any dialog.
func (a *Agent) documentDecrypt(ctx context.Context, p *wsserver.Peer, req protocol.Request) (any, error) {
	defer a.consumeNamed(p, req.Params)
	if !a.permits(p, protocol.CapDecrypt) {
		return nil, notPermitted(protocol.CapDecrypt)
	}
	var params protocol.DocumentDecryptParams
	if err := protocol.DecodeParams(req.Params, &params); err != nil {
		return nil, err
	}
	if err := a.checkItemCount(len(params.Items)); err != nil {
		return nil, err
	}
	docs, err := a.takeDocuments(p, signItems(params.Items), protocol.CapDecrypt)
	if err != nil {
		return nil, err
	}
	defer docs.remove()
	n := len(docs.uploads)
	envs := make([]*envelope.Envelope, n)
	digests := make([]string, n)
	for i, u := range docs.uploads {
		if err := a.awaitUpload(ctx, i, u); err != nil {
			return nil, err
		}
		sum, err := u.Digest(crypto.SHA256)
		if err != nil {
			return nil, err
		}
		digests[i] = hex.EncodeToString(sum)
		// Only the recipients and algorithms are read into memory; the
		// content stays in the upload.
		if envs[i], err = envelope.ParseFrom(u, u.Size); err != nil {
			e := protocol.BadRequest("params.items[%d] (%s): %v", i, docs.names[i], err)
			e.Message = fmt.Sprintf("Document %q is not an encrypted document tte-agent can open (CMS EnvelopedData or AuthEnvelopedData).", docs.names[i])
			e.Data.Item, e.Data.Name = &i, docs.names[i]
			return nil, e
		}
	}
	cert, err := a.recipientCertificate(params.CertificateID, envs, docs.names)
	if err != nil {
		return nil, err
	}
	keys := make([][]byte, n)
	defer func() {
		for _, k := range keys {
			clear(k)
		}
	}()
	err = a.sign(ctx, signRequest{
		peer: p, id: req.ID, method: req.Method, cert: cert, total: n,
		consent: consent.Request{Decrypt: true, Items: docs.names, TotalBytes: docs.total},
		audited: func() []audit.Item {
			items := make([]audit.Item, n)
			for i := range items {
				items[i] = audit.Item{Name: docs.names[i], Digest: digests[i]}
			}
			return items
		},
	}, func(ctx context.Context, s *token.Session, k *token.Key, pin []byte, prog *progress) error {
		var key any = token.RSADecrypter{Session: s, Key: k, Pub: cert.Cert.PublicKey, PIN: pin}
		if k.EC {
			key = token.ECDHAgreer{Session: s, Key: k, PIN: pin}
		}
		for i, e := range envs {
			if ctx.Err() != nil {
				return a.contextError(ctx, ctx.Err(), i)
			}
			r, _ := e.For(cert.Cert)
			ck, err := r.ContentKey(key)
			if err != nil {
				if !r.EC && r.Padding == envelope.RSAOAEP && r.OAEPHash == crypto.SHA256 {
					// Many tokens (SoftHSM among them) do OAEP with SHA-1
					// only: say what the sender can do.
					err = fmt.Errorf("%w (the document uses RSA-OAEP with SHA-256, which this token may not support: ask the sender to encrypt with RSA-PKCS1-v1_5)", err)
				}
				return a.openError(err, i, docs.names[i])
			}
			keys[i] = ck
			prog.item()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The content is checked and decrypted after the logout: no token
	// needed. A large one is held for download and decrypted from its
	// envelope as the page reads it: no plaintext is written anywhere.
	res := protocol.DocumentDecryptResult{CertificateID: cert.ID, Items: make([]protocol.DecryptedItem, n)}
	var in inline
	kept := a.heldFor(p).request()
	defer kept.undo()
	for i, e := range envs {
		c, err := e.Unseal(ctx, keys[i])
		if err != nil {
			if ctx.Err() != nil {
				return nil, a.contextError(ctx, ctx.Err(), i)
			}
			return nil, a.openError(err, i, docs.names[i])
		}
		item := protocol.DecryptedItem{Name: docs.names[i], Size: c.Size}
		if in.take(c.Size) {
			item.Content = make([]byte, c.Size)
			_, err = io.ReadFull(ctxReader{ctx, c.Reader()}, item.Content)
			c.Close()
		} else {
			u := docs.uploads[i]
			docs.uploads[i] = nil // the held result owns the envelope now
			item.Held, err = kept.hold(c.Size, func() (io.Reader, error) { return c.Reader(), nil },
				func() { c.Close(); u.Remove() })
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, a.contextError(ctx, ctx.Err(), i)
			}
			return nil, a.openError(err, i, docs.names[i])
		}
		res.Items[i] = item
	}
	kept.done()
	return res, nil
}

// openError answers a document that did not open: the token refused, or
// the envelope was changed.
func (a *Agent) openError(err error, i int, name string) error {
	if pe, ok := protocol.AsError(err); ok {
		return pe
	}
	if errors.Is(err, envelope.ErrDecrypt) || errors.Is(err, envelope.ErrInvalid) {
		e := protocol.BadRequest("params.items[%d] (%s): %v", i, name, err)
		e.Message = fmt.Sprintf("Document %q does not open with this token's key: it was changed after it was encrypted, or encrypted with another key. Nothing was opened.", name)
		e.Data.Item, e.Data.Name = &i, name
		return e.WithCompleted(i)
	}
	return a.tokenError(err, i)
}

// recipientCertificate finds the token certificate every envelope is
// encrypted to: the one named, or the first present that all name.
func (a *Agent) recipientCertificate(id string, envs []*envelope.Envelope, names []string) (token.Certificate, error) {
	notFound := func(detail string) error {
		e := protocol.NewError(protocol.ReasonCertificateNotFound, "The document is not encrypted to a certificate on the tokens present: insert the token it was encrypted to, or ask the sender to encrypt it to your certificate.")
		e.Data.Detail = detail
		return e
	}
	var candidates []token.Certificate
	if id != "" {
		c, err := a.tokens.Certificate(id)
		if errors.Is(err, token.ErrNotFound) {
			return token.Certificate{}, notFound("no certificate " + id + " on the tokens present")
		}
		if err != nil {
			return token.Certificate{}, a.tokenError(err, 0)
		}
		candidates = []token.Certificate{c}
	} else {
		all, err := a.tokens.Certificates()
		if err != nil {
			return token.Certificate{}, a.tokenError(err, 0)
		}
		candidates = all
	}
	var missing string
	for _, c := range candidates {
		ok := true
		for i, e := range envs {
			if _, found := e.For(c.Cert); !found {
				ok, missing = false, fmt.Sprintf("params.items[%d] (%s) is not encrypted to %s", i, names[i], c.Cert.Subject.CommonName)
				break
			}
		}
		if ok {
			return c, nil
		}
	}
	if missing == "" {
		missing = "no token certificate is among the documents' recipients"
	}
	return token.Certificate{}, notFound(missing)
}
