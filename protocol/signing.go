package protocol

import (
	"bytes"
	"encoding/json"
	"io"
	"unicode/utf8"
)

// Level is a signature baseline level (ETSI EN 319 142-1 and 319 122-1):
// B-B, B-T, B-LT or B-LTA.
type Level string

// The levels of contract §3.
const (
	LevelBB   Level = "B-B"
	LevelBT   Level = "B-T"
	LevelBLT  Level = "B-LT"
	LevelBLTA Level = "B-LTA"
)

// Rank orders levels: B-B 1 … B-LTA 4, 0 for an unknown one.
func (l Level) Rank() int {
	switch l {
	case LevelBB:
		return 1
	case LevelBT:
		return 2
	case LevelBLT:
		return 3
	case LevelBLTA:
		return 4
	}
	return 0
}

// SignItem is one item of sign.cms or sign.pdf: an uploaded document, or
// (sign.cms only) a named digest.
type SignItem struct {
	UploadID *uint64 `json:"uploadId"`
	Name     string  `json:"name"`
	Digest   []byte  `json:"digest"`
}

// SignCMSParams are the params of sign.cms. SignatureAlgorithm is our
// addition (the contract lists none for sign.cms): RSA keys may ask for
// RSA-PSS.
type SignCMSParams struct {
	CertificateID      string             `json:"certificateId"`
	HashAlgorithm      HashAlgorithm      `json:"hashAlgorithm"`
	SignatureAlgorithm SignatureAlgorithm `json:"signatureAlgorithm"`
	Level              Level              `json:"level"`
	Items              []SignItem         `json:"items"`
}

// Validate implements Validator: it fills in SHA-256 and B-B.
func (p *SignCMSParams) Validate() *Error {
	if err := validCommon(p.CertificateID, &p.HashAlgorithm, p.SignatureAlgorithm); err != nil {
		return err
	}
	switch p.Level {
	case "":
		p.Level = LevelBB
	case LevelBB, LevelBT, LevelBLT:
	case LevelBLTA:
		return BadRequest("params.level: sign.cms makes at most B-LT (archive time-stamps v3 are not made; see docs/formats.md); ask for B-LT and keep the CMS with its content in an archive that time-stamps its holdings")
	default:
		return BadRequest("params.level: %q; sign.cms produces B-B, B-T or B-LT", truncate(string(p.Level), 16))
	}
	if len(p.Items) == 0 {
		return BadRequest("params.items: at least one item is required")
	}
	seen := map[uint64]bool{}
	size := p.HashAlgorithm.Hash().Size()
	for i, it := range p.Items {
		switch {
		case it.UploadID != nil && (it.Name != "" || it.Digest != nil):
			return BadRequest("params.items[%d]: either uploadId, or name and digest, not both", i)
		case it.UploadID != nil:
			if seen[*it.UploadID] {
				return BadRequest("params.items[%d]: upload %d is listed twice", i, *it.UploadID)
			}
			seen[*it.UploadID] = true
		default:
			if err := validName(it.Name); err != nil {
				return BadRequest("params.items[%d].name: %v", i, err)
			}
			if len(it.Digest) != size {
				return BadRequest("params.items[%d].digest: a %s digest is %d bytes, got %d", i, p.HashAlgorithm, size, len(it.Digest))
			}
		}
	}
	return nil
}

// validCommon checks and completes what every sign method shares.
func validCommon(certID string, hash *HashAlgorithm, alg SignatureAlgorithm) *Error {
	if certID == "" {
		return BadRequest("params.certificateId is required")
	}
	if len(certID) > 512 {
		return BadRequest("params.certificateId is too long")
	}
	if *hash == "" {
		*hash = SHA256
	}
	if hash.Hash() == 0 {
		return BadRequest("params.hashAlgorithm: unknown %q; use SHA-256, SHA-384 or SHA-512", truncate(string(*hash), 32))
	}
	switch alg {
	case "", RSAPKCS1v15, RSAPSS, ECDSA:
	default:
		return BadRequest("params.signatureAlgorithm: unknown %q; use RSA-PKCS1-v1_5, RSA-PSS or ECDSA", truncate(string(alg), 32))
	}
	return nil
}

// CMSItem is one signed item of sign.cms.
type CMSItem struct {
	Name string `json:"name"`
	CMS  []byte `json:"cms"`
	// Level is the level the signature reached.
	Level Level `json:"level"`
}

// SignCMSResult is the result of sign.cms.
type SignCMSResult struct {
	Items []CMSItem `json:"items"`
	// Revocation is what the agent learnt of the signer's certificate
	// before signing.
	Revocation *RevocationInfo `json:"revocation,omitempty"`
}

// Appearance asks for a visible PDF signature.
type Appearance struct {
	// Page is 1-based; without rect, 0 means the last page.
	Page int `json:"page"`
	// Rect places the box; without it the agent places a Size box where
	// it covers no earlier signature.
	Rect []float64 `json:"rect"`
	Size []float64 `json:"size"`
	// Anchor places the box at the first occurrence of this text in the
	// page's text (every page searched when page is absent), moved by
	// Offset [dx, dy] points.
	Anchor string    `json:"anchor"`
	Offset []float64 `json:"offset"`
	// AnchorAll puts the signature at every occurrence (at most 500).
	AnchorAll bool     `json:"anchorAll"`
	Text      []string `json:"text"`
	// QR is the text or URL the agent draws as a QR code.
	QR string `json:"qr"`
	// Image is a PNG or JPEG: an upload or base64 data.
	Image *AppearanceImage `json:"image"`
	// Layout is "image-left" (default) or "image-top".
	Layout string `json:"layout"`
	// Preset "bsre" draws BSrE's footer block: QR code and sentence.
	Preset string `json:"preset"`
	// Frame draws a thin border; default true, false for the preset.
	Frame *bool `json:"frame"`
}

// MaxImageData bounds base64 image data in a request.
const MaxImageData = 2 << 20

// AppearanceImage is an image of an appearance: exactly one of UploadID
// (from document.upload) and Data.
type AppearanceImage struct {
	UploadID *uint64 `json:"uploadId"`
	Data     []byte  `json:"data"`
}

// SignPDFParams are the params of sign.pdf. SignatureAlgorithm is our
// addition, as for sign.cms.
type SignPDFParams struct {
	CertificateID      string             `json:"certificateId"`
	HashAlgorithm      HashAlgorithm      `json:"hashAlgorithm"`
	SignatureAlgorithm SignatureAlgorithm `json:"signatureAlgorithm"`
	Level              Level              `json:"level"`
	Items              []SignItem         `json:"items"`
	Reason             string             `json:"reason"`
	Location           string             `json:"location"`
	ContactInfo        string             `json:"contactInfo"`
	Appearance         *Appearance        `json:"appearance"`
	// VRI adds a per-signature /VRI entry to the DSS at B-LT and above
	// (optional in PAdES; some validators, pdfcpu among them, refuse it).
	VRI bool `json:"vri"`
	// Certify makes the signature a certification signature with DocMDP
	// permissions P (1, 2 or 3); 0 or absent: an approval signature.
	Certify int `json:"certify"`
	// Field signs the template's empty signature field of this name.
	Field string `json:"field"`
}

// MaxPDFText bounds reason, location and contact info.
const MaxPDFText = 256

// Validate implements Validator: it fills in SHA-256 and B-B.
func (p *SignPDFParams) Validate() *Error {
	if err := validCommon(p.CertificateID, &p.HashAlgorithm, p.SignatureAlgorithm); err != nil {
		return err
	}
	switch p.Level {
	case "":
		p.Level = LevelBB
	case LevelBB, LevelBT, LevelBLT, LevelBLTA:
	default:
		return BadRequest("params.level: %q; sign.pdf produces B-B, B-T, B-LT or B-LTA", truncate(string(p.Level), 16))
	}
	if len(p.Items) == 0 {
		return BadRequest("params.items: at least one item is required")
	}
	seen := map[uint64]bool{}
	for i, it := range p.Items {
		if it.UploadID == nil || it.Name != "" || it.Digest != nil {
			return BadRequest("params.items[%d]: sign.pdf signs uploaded documents only: {\"uploadId\": N}", i)
		}
		if seen[*it.UploadID] {
			return BadRequest("params.items[%d]: upload %d is listed twice", i, *it.UploadID)
		}
		seen[*it.UploadID] = true
	}
	for name, v := range map[string]string{"reason": p.Reason, "location": p.Location, "contactInfo": p.ContactInfo} {
		if len(v) > MaxPDFText || !utf8.ValidString(v) {
			return BadRequest("params.%s: at most %d bytes of UTF-8", name, MaxPDFText)
		}
	}
	if p.Certify < 0 || p.Certify > 3 {
		return BadRequest("params.certify: 1 (no changes), 2 (form filling and signing) or 3 (also annotations)")
	}
	if len(p.Field) > 256 || !utf8.ValidString(p.Field) {
		return BadRequest("params.field: at most 256 bytes of UTF-8")
	}
	if a := p.Appearance; a != nil && p.Field != "" && len(a.Rect) != 0 {
		return BadRequest("params.appearance.rect: a named field is drawn in its own widget; leave rect out")
	}
	if a := p.Appearance; a != nil {
		if len(a.Anchor) > 256 || !utf8.ValidString(a.Anchor) {
			return BadRequest("params.appearance.anchor: at most 256 bytes of UTF-8")
		}
		if len(a.Offset) != 0 && (len(a.Offset) != 2 || a.Anchor == "") {
			return BadRequest("params.appearance.offset: two numbers [dx, dy], with anchor")
		}
		if a.AnchorAll && a.Anchor == "" {
			return BadRequest("params.appearance.anchorAll: needs anchor")
		}
		if a.Anchor != "" && len(a.Rect) != 0 {
			return BadRequest("params.appearance: anchor places the box; leave rect out (give size)")
		}
		switch {
		case len(a.Rect) == 0:
			if len(a.Size) != 0 && len(a.Size) != 2 {
				return BadRequest("params.appearance.size: two numbers [width, height] in points")
			}
			if a.Page < 0 {
				return BadRequest("params.appearance.page: pages count from 1 (0 or absent: the last page)")
			}
		case len(a.Rect) != 4:
			return BadRequest("params.appearance.rect: four numbers [llx, lly, urx, ury] on the page as shown")
		case len(a.Size) != 0:
			return BadRequest("params.appearance.size: give rect or size, not both")
		case a.Page < 1:
			return BadRequest("params.appearance.page: pages count from 1")
		}
		if im := a.Image; im != nil {
			if (im.UploadID == nil) == (im.Data == nil) {
				return BadRequest("params.appearance.image: give either uploadId or data (base64), not both")
			}
			if len(im.Data) > MaxImageData {
				return BadRequest("params.appearance.image.data: at most %d bytes", MaxImageData)
			}
			if im.UploadID != nil {
				for i, it := range p.Items {
					if *it.UploadID == *im.UploadID {
						return BadRequest("params.appearance.image.uploadId: upload %d is also params.items[%d]", *im.UploadID, i)
					}
				}
			}
		}
	}
	return nil
}

// PDFItem is one signed PDF: the incremental update to append.
type PDFItem struct {
	Name       string `json:"name"`
	Update     []byte `json:"update"`
	SignedSize int64  `json:"signedSize"`
	// Level is the level the document reached.
	Level Level `json:"level"`
	// Finish, when Update is nil, makes Update as the result is written,
	// so that a batch's updates are never all in memory at once.
	Finish func() ([]byte, error) `json:"-"`
}

// SignPDFResult is the result of sign.pdf and pdf.extend.
type SignPDFResult struct {
	Items []PDFItem `json:"items"`
	// Revocation is what the agent learnt of the signer's certificate
	// before signing (sign.pdf only).
	Revocation *RevocationInfo `json:"revocation,omitempty"`
}

// MarshalJSON is WriteJSON into one buffer.
func (r SignPDFResult) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	err := r.WriteJSON(&b)
	return b.Bytes(), err
}

// WriteJSON writes the result as JSON one item at a time, so that a batch
// of signed documents is never all encoded in one buffer (it is
// megabytes of base64). The bytes are those encoding/json writes.
func (r SignPDFResult) WriteJSON(w io.Writer) error {
	if _, err := io.WriteString(w, `{"items":[`); err != nil {
		return err
	}
	for i, it := range r.Items {
		if i > 0 {
			if _, err := io.WriteString(w, ","); err != nil {
				return err
			}
		}
		if it.Update == nil && it.Finish != nil {
			u, err := it.Finish()
			if err != nil {
				return err
			}
			it.Update = u
			r.Items[i].Finish = nil // what it kept is no longer needed
		}
		b, err := json.Marshal(it)
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(w, "]"); err != nil {
		return err
	}
	if r.Revocation != nil {
		b, err := json.Marshal(r.Revocation)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, `,"revocation":`); err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "}")
	return err
}
