package token

import (
	"crypto"
	"crypto/ecdh"
	"crypto/rsa"
	"encoding/asn1"
	"fmt"
	"io"

	"github.com/miekg/pkcs11"
)

var oaepParams = map[crypto.Hash][2]uint{
	crypto.SHA1:   {pkcs11.CKM_SHA_1, pkcs11.CKG_MGF1_SHA1},
	crypto.SHA256: {pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256},
}

// Decrypt decrypts an RSA key-transport block with the key (C_Decrypt):
// PKCS#1 v1.5 when oaepHash is 0, else RSA-OAEP with that hash and MGF1 of
// the same. pin is used only for a key that needs a context-specific login.
func (s *Session) Decrypt(k *Key, ciphertext []byte, oaepHash crypto.Hash, pin []byte) ([]byte, error) {
	if k.EC {
		return nil, fmt.Errorf("an EC key agrees on keys, it does not decrypt")
	}
	mech := pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)
	if oaepHash != 0 {
		p, ok := oaepParams[oaepHash]
		if !ok {
			return nil, fmt.Errorf("unsupported hash %v for RSA-OAEP", oaepHash)
		}
		mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_OAEP, pkcs11.NewOAEPParams(p[0], p[1], pkcs11.CKZ_DATA_SPECIFIED, nil))
	}
	if err := s.ctx.DecryptInit(s.sh, []*pkcs11.Mechanism{mech}, k.handle); err != nil {
		return nil, fmt.Errorf("failed to start decrypting: %w", classify(err))
	}
	if k.AlwaysAuthenticate {
		if err := login(s.ctx, s.sh, pkcs11.CKU_CONTEXT_SPECIFIC, pin); err != nil {
			_, _ = s.ctx.Decrypt(s.sh, ciphertext) // ends the operation
			return nil, fmt.Errorf("failed the key's own login: %w", classify(err))
		}
	}
	out, err := s.ctx.Decrypt(s.sh, ciphertext)
	if err != nil {
		return nil, fmt.Errorf("failed to decrypt: %w", classify(err))
	}
	return out, nil
}

// ECDH returns the ECDH shared secret (the x coordinate, CKD_NULL) of the
// key and a peer's uncompressed point, through C_DeriveKey with
// CKM_ECDH1_DERIVE into a session object that is read and destroyed at
// once: the token's private key never leaves it.
func (s *Session) ECDH(k *Key, peer []byte, pin []byte) ([]byte, error) {
	if !k.EC {
		return nil, fmt.Errorf("an RSA key decrypts, it does not agree on keys")
	}
	if len(peer) < 3 || peer[0] != 4 || len(peer)%2 != 1 {
		return nil, fmt.Errorf("the peer's public key is not an uncompressed point")
	}
	size := (len(peer) - 1) / 2
	mech := pkcs11.NewMechanism(pkcs11.CKM_ECDH1_DERIVE, pkcs11.NewECDH1DeriveParams(pkcs11.CKD_NULL, nil, peer))
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_GENERIC_SECRET),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, size),
	}
	if k.AlwaysAuthenticate {
		// Derivation has no Init step to follow: the context-specific
		// login goes right before it.
		if err := login(s.ctx, s.sh, pkcs11.CKU_CONTEXT_SPECIFIC, pin); err != nil {
			return nil, fmt.Errorf("failed the key's own login: %w", classify(err))
		}
	}
	h, err := s.ctx.DeriveKey(s.sh, []*pkcs11.Mechanism{mech}, k.handle, tmpl)
	if err != nil && !k.AlwaysAuthenticate {
		// PKCS#11 v2.20 left open whether pPublicData is the raw point or
		// its DER OCTET STRING; some card middleware takes only the
		// latter. Try it before giving up (not after a context-specific
		// login, which one attempt used up).
		if wrapped, werr := asn1.Marshal(peer); werr == nil {
			mech = pkcs11.NewMechanism(pkcs11.CKM_ECDH1_DERIVE, pkcs11.NewECDH1DeriveParams(pkcs11.CKD_NULL, nil, wrapped))
			if h2, err2 := s.ctx.DeriveKey(s.sh, []*pkcs11.Mechanism{mech}, k.handle, tmpl); err2 == nil {
				h, err = h2, nil
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("failed to derive the shared secret: %w", classify(err))
	}
	defer s.ctx.DestroyObject(s.sh, h)
	attrs, err := s.ctx.GetAttributeValue(s.sh, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
	if err != nil {
		return nil, fmt.Errorf("failed to read the shared secret: %w", classify(err))
	}
	return attrs[0].Value, nil
}

// RSADecrypter is a token's RSA key as a crypto.Decrypter: PKCS#1 v1.5,
// or OAEP when opts are *rsa.OAEPOptions (the hash and the MGF1 hash must
// be the same).
type RSADecrypter struct {
	Session *Session
	Key     *Key
	Pub     crypto.PublicKey
	PIN     []byte
}

// Public returns the key's public half.
func (d RSADecrypter) Public() crypto.PublicKey { return d.Pub }

// Decrypt implements crypto.Decrypter.
func (d RSADecrypter) Decrypt(_ io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	if o, ok := opts.(*rsa.OAEPOptions); ok {
		if o.MGFHash != 0 && o.MGFHash != o.Hash || len(o.Label) != 0 {
			return nil, fmt.Errorf("RSA-OAEP with MGF1-%v or a label is not supported", o.MGFHash)
		}
		return d.Session.Decrypt(d.Key, msg, o.Hash, d.PIN)
	}
	return d.Session.Decrypt(d.Key, msg, 0, d.PIN)
}

// ECDHAgreer is a token's EC key agreeing on a shared secret, as
// crypto/ecdh's private keys do.
type ECDHAgreer struct {
	Session *Session
	Key     *Key
	PIN     []byte
}

// ECDH returns the shared secret with remote.
func (a ECDHAgreer) ECDH(remote *ecdh.PublicKey) ([]byte, error) {
	return a.Session.ECDH(a.Key, remote.Bytes(), a.PIN)
}
