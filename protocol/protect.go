package protocol

// Document protection: documents encrypted to colleagues' certificates
// (document.encrypt, no token) and opened with the user's token
// (document.decrypt, one dialog and one login).

// Capabilities of document protection.
const (
	// CapEncrypt allows document.encrypt: no key, no PIN, no dialog.
	CapEncrypt Capability = "encrypt"
	// CapDecrypt allows document.decrypt: the user's token opens
	// documents encrypted to its certificate, after the user consents.
	CapDecrypt Capability = "decrypt"
)

// Methods of document protection.
const (
	MethodDocumentEncrypt = "document.encrypt"
	MethodDocumentDecrypt = "document.decrypt"
	// MethodDocumentDownload reads a held result in pieces: the route of
	// pages behind the browser extension, which reach no download URL.
	MethodDocumentDownload = "document.download"
)

// Results larger than these are held by the agent for download instead of
// sent in the answer (docs/protocol.md, "Results held for download").
const (
	// InlineItemBytes bounds one result sent in the answer.
	InlineItemBytes = 1 << 20
	// InlineAnswerBytes bounds the results of one answer together.
	InlineAnswerBytes = 8 << 20
	// MaxDownloadChunk bounds one document.download piece.
	MaxDownloadChunk = 1 << 20
)

// Held names a result the agent holds for the page: fetched from
// DownloadURL (GET, the connection's origin only) or read in pieces with
// document.download, and released with document.discard or when the
// connection closes. Both empty: the result is in the answer.
type Held struct {
	DownloadID  uint64 `json:"downloadId,omitempty"`
	DownloadURL string `json:"downloadUrl,omitempty"`
}

// DocumentDownloadParams are the params of document.download.
type DocumentDownloadParams struct {
	DownloadID *uint64 `json:"downloadId"`
	Offset     int64   `json:"offset"`
	Length     int64   `json:"length"`
}

// Validate implements Validator.
func (p *DocumentDownloadParams) Validate() *Error {
	if p.DownloadID == nil {
		return BadRequest("params.downloadId is required")
	}
	if p.Offset < 0 {
		return BadRequest("params.offset: 0 or more")
	}
	if p.Length < 1 || p.Length > MaxDownloadChunk {
		return BadRequest("params.length: 1 to %d bytes", MaxDownloadChunk)
	}
	return nil
}

// DocumentDownloadResult is a piece of a held result; EOF says it reaches
// the end.
type DocumentDownloadResult struct {
	Data []byte `json:"data"`
	EOF  bool   `json:"eof"`
}

// ProtectItem names an uploaded document.
type ProtectItem struct {
	UploadID *uint64 `json:"uploadId"`
}

func validateProtectItems(items []ProtectItem) *Error {
	if len(items) == 0 {
		return BadRequest("params.items: at least one item is required")
	}
	seen := map[uint64]bool{}
	for i, it := range items {
		if it.UploadID == nil {
			return BadRequest("params.items[%d].uploadId: required", i)
		}
		if seen[*it.UploadID] {
			return BadRequest("params.items[%d]: upload %d is listed twice", i, *it.UploadID)
		}
		seen[*it.UploadID] = true
	}
	return nil
}

// DocumentEncryptParams are the params of document.encrypt.
type DocumentEncryptParams struct {
	Items []ProtectItem `json:"items"`
	// Recipients are the recipients' certificates, DER (base64 in JSON).
	Recipients [][]byte `json:"recipients"`
	// Cipher is "AES-256-GCM" (default) or "AES-256-CBC".
	Cipher string `json:"cipher"`
	// RSAPadding is "RSA-OAEP" (default) or "RSA-PKCS1-v1_5".
	RSAPadding string `json:"rsaPadding"`
}

// MaxRecipients bounds the certificates of one document.encrypt.
const MaxRecipients = 100

// Validate implements Validator.
func (p *DocumentEncryptParams) Validate() *Error {
	if err := validateProtectItems(p.Items); err != nil {
		return err
	}
	if len(p.Recipients) == 0 || len(p.Recipients) > MaxRecipients {
		return BadRequest("params.recipients: 1 to %d certificates (DER, base64)", MaxRecipients)
	}
	switch p.Cipher {
	case "", "AES-256-GCM", "AES-256-CBC":
	default:
		return BadRequest("params.cipher: \"AES-256-GCM\" or \"AES-256-CBC\"")
	}
	switch p.RSAPadding {
	case "", "RSA-OAEP", "RSA-PKCS1-v1_5":
	default:
		return BadRequest("params.rsaPadding: \"RSA-OAEP\" or \"RSA-PKCS1-v1_5\"")
	}
	return nil
}

// EncryptedItem is one encrypted document: a DER CMS envelope.
type EncryptedItem struct {
	Name string `json:"name"`
	// Size is the envelope's length.
	Size int64 `json:"size"`
	// Envelope is the DER envelope, or absent when it is held.
	Envelope []byte `json:"envelope,omitempty"`
	Held
}

// DocumentEncryptResult is the result of document.encrypt.
type DocumentEncryptResult struct {
	Items []EncryptedItem `json:"items"`
}

// DocumentDecryptParams are the params of document.decrypt.
type DocumentDecryptParams struct {
	// CertificateID picks the certificate whose key opens the documents;
	// without it the agent finds the one they are encrypted to.
	CertificateID string        `json:"certificateId"`
	Items         []ProtectItem `json:"items"`
}

// Validate implements Validator.
func (p *DocumentDecryptParams) Validate() *Error {
	return validateProtectItems(p.Items)
}

// DecryptedItem is one opened document.
type DecryptedItem struct {
	Name string `json:"name"`
	// Size is the content's length.
	Size int64 `json:"size"`
	// Content is the document, or absent when it is held (or empty).
	Content []byte `json:"content,omitempty"`
	Held
}

// DocumentDecryptResult is the result of document.decrypt.
type DocumentDecryptResult struct {
	// CertificateID is the certificate whose key opened them.
	CertificateID string          `json:"certificateId"`
	Items         []DecryptedItem `json:"items"`
}
