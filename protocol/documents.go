package protocol

// DocumentUploadParams are the params of document.upload.
type DocumentUploadParams struct {
	Name      string `json:"name"`
	Size      *int64 `json:"size"`
	MediaType string `json:"mediaType"`
}

// Validate implements Validator. The size limit is the agent's to check.
func (p *DocumentUploadParams) Validate() *Error {
	if err := validName(p.Name); err != nil {
		return BadRequest("params.name: %v", err)
	}
	if p.Size == nil || *p.Size < 0 {
		return BadRequest("params.size is required: the document's length in bytes")
	}
	if len(p.MediaType) > 255 {
		return BadRequest("params.mediaType is longer than 255 bytes")
	}
	return nil
}

// DocumentUploadResult is the result of document.upload.
type DocumentUploadResult struct {
	UploadID uint64 `json:"uploadId"`
	// UploadURL is the fast path: PUT the document's bytes there (once,
	// from this page's origin) instead of sending binary frames.
	UploadURL string `json:"uploadUrl,omitempty"`
}

// DocumentDiscardParams are the params of document.discard.
type DocumentDiscardParams struct {
	UploadID *uint64 `json:"uploadId"`
	// DownloadID releases a held result instead.
	DownloadID *uint64 `json:"downloadId"`
}

// Validate implements Validator.
func (p *DocumentDiscardParams) Validate() *Error {
	if (p.UploadID == nil) == (p.DownloadID == nil) {
		return BadRequest("params: exactly one of uploadId and downloadId is required")
	}
	return nil
}

// NotifyDocumentError is sent when a binary frame is refused; the upload
// it names is discarded.
const NotifyDocumentError = "document.error"

// DocumentError is the params of a document.error notification.
type DocumentError struct {
	UploadID uint64 `json:"uploadId"`
	Error    *Error `json:"error"`
}

// DocumentUploadURLParams are the params of document.uploadUrl.
type DocumentUploadURLParams struct {
	UploadIDs []uint64 `json:"uploadIds"`
}

// Validate checks the params.
func (p *DocumentUploadURLParams) Validate() *Error {
	if len(p.UploadIDs) == 0 {
		return BadRequest("params.uploadIds: name at least one upload")
	}
	seen := map[uint64]bool{}
	for i, id := range p.UploadIDs {
		if seen[id] {
			return BadRequest("params.uploadIds[%d]: upload %d is named twice", i, id)
		}
		seen[id] = true
	}
	return nil
}

// DocumentUploadURLResult is the result of document.uploadUrl.
type DocumentUploadURLResult struct {
	UploadURL string `json:"uploadUrl"`
}
