// Package envelope makes and opens CMS envelopes (RFC 5652
// EnvelopedData with AES-256-CBC, RFC 5083 AuthEnvelopedData with
// AES-256-GCM): documents encrypted to the certificates of their
// recipients, that only their private keys — on their tokens — open. RSA
// recipients get the content key by key transport (RSA-OAEP with SHA-256,
// or PKCS #1 v1.5 for older readers), EC recipients by ephemeral-static
// ECDH key agreement (RFC 5753: dhSinglePass-stdDH-sha256kdf-scheme, the
// key wrapped with AES-256 key wrap). It is pure over its inputs: opening
// takes the recipient's key as a crypto.Decrypter or an ECDH function, so
// that a token does the private-key operation.
package envelope

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
)

// Object identifiers.
var (
	oidData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEnvelopedData     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidAuthEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 23}
	oidAES256CBC         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidAES256GCM         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 46}
	oidAES256Wrap        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 45}
	oidRSAEncryption     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAOAEP           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 7}
	oidMGF1              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidECPublicKey       = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDHSHA256KDF     = asn1.ObjectIdentifier{1, 3, 132, 1, 11, 1}
)

type gcmParameters struct {
	Nonce  []byte
	ICVLen int `asn1:"optional,default:12"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type keyTransRecipientInfo struct {
	Version                int
	RID                    asn1.RawValue // issuerAndSerialNumber or [0] subjectKeyIdentifier
	KeyEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedKey           []byte
}

type rsaOAEPParams struct {
	Hash pkix.AlgorithmIdentifier `asn1:"explicit,tag:0"`
	MGF  pkix.AlgorithmIdentifier `asn1:"explicit,tag:1"`
}

// keyAgreeRecipientInfo is [1] IMPLICIT in the RecipientInfo CHOICE.
type keyAgreeRecipientInfo struct {
	Version                int
	Originator             asn1.RawValue // [0] EXPLICIT OriginatorIdentifierOrKey, read and written by hand
	UKM                    []byte        `asn1:"optional,explicit,tag:1"`
	KeyEncryptionAlgorithm pkix.AlgorithmIdentifier
	RecipientEncryptedKeys []recipientEncryptedKey
}

type recipientEncryptedKey struct {
	RID          asn1.RawValue // issuerAndSerialNumber or [0] rKeyId
	EncryptedKey []byte
}

// originatorPublicKey is [1] IMPLICIT in OriginatorIdentifierOrKey.
type originatorPublicKey struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

type eccCMSSharedInfo struct {
	KeyInfo     pkix.AlgorithmIdentifier
	EntityUInfo []byte `asn1:"optional,explicit,tag:0"`
	SuppPubInfo []byte `asn1:"explicit,tag:2"`
}
