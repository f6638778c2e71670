package protocol

import "encoding/json"

// Revocation statuses on the wire.
const (
	RevocationGood        = "good"
	RevocationRevoked     = "revoked"
	RevocationUnavailable = "unavailable" // no responder or CRL answered usably
	RevocationUnchecked   = "unchecked"   // [revocation] mode = "off"
)

// RevocationInfo is what the agent knows of a certificate's revocation.
type RevocationInfo struct {
	// Status is good, revoked, unavailable or unchecked.
	Status string `json:"status"`
	// Source is "ocsp" or "crl" when a status was had.
	Source string `json:"source,omitempty"`
	// ThisUpdate and NextUpdate (RFC 3339) bound the answer.
	ThisUpdate string `json:"thisUpdate,omitempty"`
	NextUpdate string `json:"nextUpdate,omitempty"`
	// RevokedAt (RFC 3339) and Reason (RFC 5280 name) when revoked.
	RevokedAt string `json:"revokedAt,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Detail says why no status was had, or what the signature lacks
	// because of it, in English, for developers.
	Detail string `json:"detail,omitempty"`
}

// CertificatesStatusParams are the params of certificates.status.
type CertificatesStatusParams struct {
	CertificateID string `json:"certificateId"`
}

// Validate implements Validator.
func (p *CertificatesStatusParams) Validate() *Error {
	if p.CertificateID == "" || len(p.CertificateID) > 256 {
		return BadRequest("params.certificateId: required, at most 256 bytes")
	}
	return nil
}

// CertificateStatus is the result of certificates.status.
type CertificateStatus struct {
	CertificateID string `json:"certificateId"`
	// Trusted and TrustDetail as in certificates.list; Chain names the
	// chain's subjects from the certificate to the anchor.
	Trusted     bool     `json:"trusted"`
	TrustDetail string   `json:"trustDetail,omitempty"`
	Chain       []string `json:"chain,omitempty"`
	// Revocation is the certificate's status now.
	Revocation RevocationInfo `json:"revocation"`
}

// PDFExtendParams are the params of pdf.extend.
type PDFExtendParams struct {
	Items []SignItem `json:"items"`
	// Level is B-LT (validation data) or B-LTA (and a document
	// time-stamp); default B-LTA.
	Level Level `json:"level"`
	// VRI as in sign.pdf.
	VRI bool `json:"vri"`
}

// Validate implements Validator.
func (p *PDFExtendParams) Validate() *Error {
	switch p.Level {
	case "":
		p.Level = LevelBLTA
	case LevelBLT, LevelBLTA:
	default:
		return BadRequest("params.level: %q; pdf.extend makes B-LT or B-LTA", truncate(string(p.Level), 16))
	}
	return uploadItems(p.Items, "pdf.extend")
}

// uploadItems checks a list of upload-only items.
func uploadItems(items []SignItem, method string) *Error {
	if len(items) == 0 {
		return BadRequest("params.items: at least one item is required")
	}
	seen := map[uint64]bool{}
	for i, it := range items {
		if it.UploadID == nil || it.Name != "" || it.Digest != nil {
			return BadRequest("params.items[%d]: %s takes uploaded documents only: {\"uploadId\": N}", i, method)
		}
		if seen[*it.UploadID] {
			return BadRequest("params.items[%d]: upload %d is listed twice", i, *it.UploadID)
		}
		seen[*it.UploadID] = true
	}
	return nil
}

// VerifyItem is one document to verify: a PDF, or a CMS signature with
// its detached content (ContentUploadID) when it does not encapsulate it.
type VerifyItem struct {
	UploadID        *uint64 `json:"uploadId"`
	ContentUploadID *uint64 `json:"contentUploadId"`
}

// DocumentVerifyParams are the params of document.verify.
type DocumentVerifyParams struct {
	Items []VerifyItem `json:"items"`
	// Online allows fetching revocation data the documents lack.
	Online bool `json:"online"`
	// Language of the report's messages: "id" (default) or "en".
	Language string `json:"language"`
}

// Validate implements Validator.
func (p *DocumentVerifyParams) Validate() *Error {
	if len(p.Items) == 0 {
		return BadRequest("params.items: at least one item is required")
	}
	seen := map[uint64]bool{}
	for i, it := range p.Items {
		if it.UploadID == nil {
			return BadRequest("params.items[%d].uploadId: required", i)
		}
		for _, id := range []*uint64{it.UploadID, it.ContentUploadID} {
			if id == nil {
				continue
			}
			if seen[*id] {
				return BadRequest("params.items[%d]: upload %d is listed twice", i, *id)
			}
			seen[*id] = true
		}
	}
	switch p.Language {
	case "":
		p.Language = "id"
	case "id", "en":
	default:
		return BadRequest("params.language: \"id\" or \"en\"")
	}
	return nil
}

// DocumentVerifyResult is the result of document.verify.
type DocumentVerifyResult struct {
	// Valid is true when every item holds signatures and all are valid.
	Valid bool `json:"valid"`
	// Reports has one report per item, as `tte-agent verify --json`
	// prints them (docs/protocol.md describes the fields).
	Reports json.RawMessage `json:"reports"`
	// Text is the same reports for people, in the requested language.
	Text string `json:"text"`
}
