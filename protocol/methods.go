package protocol

import (
	"crypto"
	"fmt"
	"unicode/utf8"
)

// Method names of contract §3.
const (
	MethodAgentInfo        = "agent.info"
	MethodTokensList       = "tokens.list"
	MethodCertificatesList = "certificates.list"
	MethodDocumentUpload   = "document.upload"
	MethodDocumentDiscard  = "document.discard"
	MethodSignDigest       = "sign.digest"
	MethodSignCMS          = "sign.cms"
	MethodSignPDF          = "sign.pdf"
	MethodRequestCancel    = "request.cancel"
	// Our additions for long-term validity.
	MethodCertificatesStatus = "certificates.status"
	MethodPDFExtend          = "pdf.extend"
	MethodDocumentVerify     = "document.verify"
	// MethodDocumentUploadURL returns one HTTP upload URL for several
	// uploads, whose bytes follow one another in one request body.
	MethodDocumentUploadURL = "document.uploadUrl"

	NotifyProgress      = "progress"
	NotifyTokensChanged = "tokens.changed"
)

// Capability is what an origin is allowed to do.
type Capability string

// The capabilities of contract §5.
const (
	CapDocuments Capability = "documents"
	CapDigest    Capability = "digest"
	// CapExtend allows pdf.extend: validation data and document
	// time-stamps added to signed PDFs, with no key and no dialog.
	CapExtend Capability = "extend"
	// CapVerify allows document.verify.
	CapVerify Capability = "verify"
)

// HashAlgorithm names a digest algorithm on the wire.
type HashAlgorithm string

// The hash algorithms of contract §2.
const (
	SHA256 HashAlgorithm = "SHA-256"
	SHA384 HashAlgorithm = "SHA-384"
	SHA512 HashAlgorithm = "SHA-512"
)

// Hash returns the Go hash, or 0 for an unknown name.
func (h HashAlgorithm) Hash() crypto.Hash {
	switch h {
	case SHA256:
		return crypto.SHA256
	case SHA384:
		return crypto.SHA384
	case SHA512:
		return crypto.SHA512
	}
	return 0
}

// SignatureAlgorithm names a signature scheme on the wire.
type SignatureAlgorithm string

// The signature algorithms of contract §2. The empty value means the key's
// default: RSA-PKCS1-v1_5 for RSA keys, ECDSA for EC keys.
const (
	RSAPKCS1v15 SignatureAlgorithm = "RSA-PKCS1-v1_5"
	RSAPSS      SignatureAlgorithm = "RSA-PSS"
	ECDSA       SignatureAlgorithm = "ECDSA"
)

// MaxNameBytes bounds an item name.
const MaxNameBytes = 1024

// Limits are the agent's limits as agent.info reports them.
type Limits struct {
	TextFrameBytes   int64 `json:"textFrameBytes"`
	BinaryFrameBytes int64 `json:"binaryFrameBytes"`
	DocumentBytes    int64 `json:"documentBytes"`
	Items            int   `json:"items"`
	Uploads          int   `json:"uploads"`
	Connections      int   `json:"connections"`
	// OriginConnections is how many of Connections one origin may hold.
	OriginConnections int `json:"originConnections,omitempty"`
}

// PerOrigin returns OriginConnections, or three quarters of Connections
// (at least one) when it is not set.
func (l Limits) PerOrigin() int {
	if l.OriginConnections > 0 {
		return l.OriginConnections
	}
	return max(1, l.Connections*3/4)
}

// AgentInfo is the result of agent.info.
type AgentInfo struct {
	Name     string       `json:"name"`
	Version  string       `json:"version"`
	Protocol int          `json:"protocol"`
	Origin   string       `json:"origin"`
	Allow    []Capability `json:"allow"`
	Formats  []string     `json:"formats"`
	// Levels are the signature levels this agent can make now: B-B
	// always; B-T, B-LT and B-LTA only with a time-stamping authority.
	Levels []Level `json:"levels"`
	Limits Limits  `json:"limits"`
	// Transport is how the page reaches the agent: "websocket", or
	// "native" through the browser extension and native messaging.
	Transport string `json:"transport"`
}

// Token describes one token, in tokens.list and tokens.changed.
type Token struct {
	ID                string `json:"id"`
	Label             string `json:"label"`
	Manufacturer      string `json:"manufacturer"`
	Model             string `json:"model"`
	Serial            string `json:"serial"`
	PINStatus         string `json:"pinStatus"`
	ProtectedAuthPath bool   `json:"protectedAuthPath"`
}

// TokensList is the result of tokens.list and the params of tokens.changed.
type TokensList struct {
	Tokens []Token `json:"tokens"`
}

// CertificatesListParams are the optional filters of certificates.list.
type CertificatesListParams struct {
	ValidOnly bool   `json:"validOnly"`
	KeyUsage  string `json:"keyUsage"`
}

// KeyUsages are the X.509 key usage names, in bit order.
var KeyUsages = []string{
	"digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
	"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly",
}

// Validate implements Validator.
func (p *CertificatesListParams) Validate() *Error {
	if p.KeyUsage == "" {
		return nil
	}
	for _, k := range KeyUsages {
		if k == p.KeyUsage {
			return nil
		}
	}
	return BadRequest("params.keyUsage: unknown key usage %q; use one of %v", truncate(p.KeyUsage, 64), KeyUsages)
}

// Certificate describes a certificate whose private key is on a token.
type Certificate struct {
	ID           string   `json:"id"`
	TokenID      string   `json:"tokenId"`
	Subject      string   `json:"subject"`
	Issuer       string   `json:"issuer"`
	SerialNumber string   `json:"serialNumber"`
	NotBefore    string   `json:"notBefore"`
	NotAfter     string   `json:"notAfter"`
	DaysLeft     int      `json:"daysLeft"`
	KeyType      string   `json:"keyType"`
	KeyUsage     []string `json:"keyUsage"`
	Certificate  []byte   `json:"certificate"`
	// Trusted says whether the certificate chains to one of the
	// administrator's trust anchors now; TrustDetail says why not.
	Trusted     bool   `json:"trusted"`
	TrustDetail string `json:"trustDetail,omitempty"`
}

// CertificatesList is the result of certificates.list.
type CertificatesList struct {
	Certificates []Certificate `json:"certificates"`
}

// DigestItem is one digest to sign.
type DigestItem struct {
	Name   string `json:"name"`
	Digest []byte `json:"digest"`
}

// SignDigestParams are the params of sign.digest.
type SignDigestParams struct {
	CertificateID      string             `json:"certificateId"`
	HashAlgorithm      HashAlgorithm      `json:"hashAlgorithm"`
	SignatureAlgorithm SignatureAlgorithm `json:"signatureAlgorithm"`
	Items              []DigestItem       `json:"items"`
}

// Validate implements Validator. It fills in the default hash algorithm.
// The item count limit is the agent's to check, since it is configurable.
func (p *SignDigestParams) Validate() *Error {
	if err := validCommon(p.CertificateID, &p.HashAlgorithm, p.SignatureAlgorithm); err != nil {
		return err
	}
	h := p.HashAlgorithm.Hash()
	if len(p.Items) == 0 {
		return BadRequest("params.items: at least one item is required")
	}
	for i, it := range p.Items {
		if err := validName(it.Name); err != nil {
			return BadRequest("params.items[%d].name: %v", i, err)
		}
		if len(it.Digest) != h.Size() {
			return BadRequest("params.items[%d].digest: a %s digest is %d bytes, got %d", i, p.HashAlgorithm, h.Size(), len(it.Digest))
		}
	}
	return nil
}

func validName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("required: the user sees it in the consent dialog")
	case len(s) > MaxNameBytes:
		return fmt.Errorf("longer than %d bytes", MaxNameBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("not valid UTF-8")
	}
	return nil
}

// Signature is one signed item.
type Signature struct {
	Name      string `json:"name"`
	Signature []byte `json:"signature"`
}

// SignDigestResult is the result of sign.digest.
type SignDigestResult struct {
	Certificate []byte      `json:"certificate"`
	Items       []Signature `json:"items"`
}

// CancelParams are the params of request.cancel.
type CancelParams struct {
	ID *ID `json:"id"`
}

// Validate implements Validator.
func (p *CancelParams) Validate() *Error {
	if p.ID == nil || p.ID.IsZero() {
		return BadRequest("params.id is required: the id of the request to cancel")
	}
	return nil
}

// Stage is a step of a sign request, reported in progress notifications.
type Stage string

// The stages of contract §3.
const (
	StageReceiving    Stage = "receiving"
	StageAwaitingUser Stage = "awaiting_user"
	StageSigning      Stage = "signing"
	StageTimestamping Stage = "timestamping"
)

// Progress is the params of a progress notification.
type Progress struct {
	ID    ID    `json:"id"`
	Stage Stage `json:"stage"`
	Done  int   `json:"done"`
	Total int   `json:"total"`
}
