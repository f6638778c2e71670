package agent

import (
	"crypto"
	"io"

	"github.com/tte-agent/tte-agent/token"
)

// tokenSigner is a crypto.Signer over a key in a logged-in session, for
// the signature format builders. It holds the request's PIN only for keys
// that need a context-specific login, and lives no longer than the request.
type tokenSigner struct {
	s   *token.Session
	k   *token.Key
	pub crypto.PublicKey
	pin []byte
}

var _ crypto.Signer = tokenSigner{}

func (t tokenSigner) Public() crypto.PublicKey { return t.pub }

func (t tokenSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return t.s.Sign(t.k, digest, opts, t.pin)
}
