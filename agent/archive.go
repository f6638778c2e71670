package agent

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/agent/config"
	"github.com/tte-agent/tte-agent/cms"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/revocation"
	"github.com/tte-agent/tte-agent/token"
	"github.com/tte-agent/tte-agent/trust"
)

// newTrust returns the trust store and revocation checker of cfg. Both
// share one HTTP client whose timeout is revocation.timeout.
func newTrust(cfg *config.Config, onFetch func(kind string, err error)) (*trust.Store, *revocation.Checker) {
	client := &http.Client{Timeout: time.Duration(cfg.Revocation.Timeout)}
	var aia *http.Client
	if cfg.Trust.FetchAIA() {
		aia = client
	}
	inter := append(slices.Clone(cfg.Trust.ParsedIntermediates), cfg.Certificates.Parsed...)
	store := trust.NewStore(cfg.Trust.ParsedAnchors, inter, aia)
	rc := revocation.NewChecker(client)
	rc.MaxCRL = cfg.Revocation.MaxCRLBytes
	rc.OnFetch = onFetch
	return store, rc
}

// signerCheck is what the agent learnt of a signer certificate before its
// dialog.
type signerCheck struct {
	// chain runs from the certificate to its trust anchor when trusted,
	// else holds what is known of its issuers.
	chain   []*x509.Certificate
	trusted bool
	// status is the certificate's revocation answer, nil when none.
	status *revocation.Result
	info   protocol.RevocationInfo
}

// checkReuse is how long a signer's good check is reused (never past its
// revocation answer's nextUpdate): a page signing one letter after another
// costs one chain validation and token read a minute, not one a request.
const checkReuse = time.Minute

type cachedCheck struct {
	sc    *signerCheck
	until time.Time
}

// checkSigner checks a signer certificate before the dialog: its chain to
// a trust anchor (when anchors are configured) and its revocation status
// as [revocation] mode says. A revoked certificate is refused and audited
// as an incident. carried returns the issuers the token holds; it is
// called only when the certificate's last good check is not reused.
func (a *Agent) checkSigner(ctx context.Context, cert token.Certificate, carried func() []*x509.Certificate, origin, method string) (*signerCheck, error) {
	key := fingerprint(cert.Cert)
	a.cmu.Lock()
	c, ok := a.checks[key]
	a.cmu.Unlock()
	if ok && time.Now().Before(c.until) {
		return c.sc, nil
	}
	sc, err := a.checkSignerNow(ctx, cert, carried(), origin, method)
	if err != nil || sc.info.Status == protocol.RevocationUnavailable {
		return sc, err
	}
	until := time.Now().Add(checkReuse)
	if sc.status != nil && !sc.status.NextUpdate.IsZero() && sc.status.NextUpdate.Before(until) {
		until = sc.status.NextUpdate
	}
	a.cmu.Lock()
	if len(a.checks) > 256 {
		clear(a.checks) // a bound, not a policy: certificates are few
	}
	a.checks[key] = cachedCheck{sc: sc, until: until}
	a.cmu.Unlock()
	return sc, nil
}

func (a *Agent) checkSignerNow(ctx context.Context, cert token.Certificate, carried []*x509.Certificate, origin, method string) (*signerCheck, error) {
	conf := a.conf()
	sc := &signerCheck{chain: append([]*x509.Certificate{cert.Cert}, carried...)}
	now := time.Now()
	if len(conf.Trust.ParsedAnchors) > 0 {
		chain, err := a.trust.Chain(ctx, cert.Cert, carried, now)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			e := protocol.NewError(protocol.ReasonCertificateInvalid, "This certificate does not lead to a certificate authority the administrator trusts; its signatures would not be valid. Ask the administrator.")
			e.Data.Detail = err.Error()
			return nil, e
		}
		sc.chain, sc.trusted = chain, true
	}
	if conf.Revocation.Mode == config.RevocationOff {
		sc.info = protocol.RevocationInfo{Status: protocol.RevocationUnchecked, Detail: "revocation checking is off ([revocation] mode = \"off\")"}
		return sc, nil
	}
	issuer := issuerOf(cert.Cert, sc.chain, conf.Certificates.Parsed)
	var r *revocation.Result
	err := fmt.Errorf("%w: the issuer's certificate (%s) is neither on the token nor configured", revocation.ErrUnavailable, cert.Cert.Issuer.CommonName)
	if issuer != nil {
		r, err = a.revoc.Check(ctx, cert.Cert, issuer)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		a.metrics.Revocation("unavailable")
		if conf.Revocation.Mode == config.RevocationRequire {
			e := protocol.NewError(protocol.ReasonUpstreamFailed, "The certificate's revocation status could not be checked, and the administrator requires it; try again later.")
			e.Data.Detail = err.Error()
			return nil, e
		}
		a.log.Warn("no revocation status for the signer; signing without long-term validation data", "subject", cert.Cert.Subject.CommonName, "err", err)
		sc.info = protocol.RevocationInfo{Status: protocol.RevocationUnavailable, Detail: err.Error()}
		return sc, nil
	}
	sc.status, sc.info = r, wireRevocation(r)
	if r.Status == revocation.Revoked {
		a.metrics.Revocation("revoked")
		detail := fmt.Sprintf("revoked on %s (%s), according to its %s", r.RevokedAt.UTC().Format(time.RFC3339), revocation.ReasonText(r.Reason), r.Source)
		_ = a.record(audit.Record{Event: audit.EventIncident, Origin: origin, Method: method, Certificate: fingerprint(cert.Cert),
			Subject: cert.Cert.Subject.String(), Outcome: "certificate_revoked", Detail: detail})
		markAudited(ctx)
		e := protocol.NewError(protocol.ReasonCertificateInvalid, "This certificate has been revoked and can no longer sign. Ask the certificate authority (BSrE) or the administrator for a new one.")
		e.Data.Detail = detail
		return nil, e
	}
	a.metrics.Revocation("good")
	return sc, nil
}

// issuerOf finds cert's issuer among the given certificates (by name and
// signature).
func issuerOf(cert *x509.Certificate, lists ...[]*x509.Certificate) *x509.Certificate {
	for _, l := range lists {
		for _, c := range l {
			if !c.Equal(cert) && string(c.RawSubject) == string(cert.RawIssuer) && cert.CheckSignatureFrom(c) == nil {
				return c
			}
		}
	}
	return nil
}

func wireRevocation(r *revocation.Result) protocol.RevocationInfo {
	ri := protocol.RevocationInfo{Status: protocol.RevocationGood, Source: r.Source, ThisUpdate: r.ThisUpdate.UTC().Format(time.RFC3339)}
	if !r.NextUpdate.IsZero() {
		ri.NextUpdate = r.NextUpdate.UTC().Format(time.RFC3339)
	}
	switch r.Status {
	case revocation.Revoked:
		ri.Status, ri.RevokedAt, ri.Reason = protocol.RevocationRevoked, r.RevokedAt.UTC().Format(time.RFC3339), revocation.ReasonText(r.Reason)
	case revocation.Unknown:
		ri.Status = protocol.RevocationUnavailable
	}
	return ri
}

// errNoLTData means validation data for B-LT could not be gathered.
var errNoLTData = errors.New("long-term validation data could not be gathered")

// ltData is validation data for one signer and its time-stamps' TSAs.
type ltData struct {
	certs, ocsps, crls [][]byte
}

func (d *ltData) addCert(c *x509.Certificate) {
	if !slices.ContainsFunc(d.certs, func(b []byte) bool { return string(b) == string(c.Raw) }) {
		d.certs = append(d.certs, c.Raw)
	}
}

func (d *ltData) addAnswer(r *revocation.Result) {
	if r.OCSP != nil && !slices.ContainsFunc(d.ocsps, func(b []byte) bool { return string(b) == string(r.OCSP) }) {
		d.ocsps = append(d.ocsps, r.OCSP)
	}
	if r.CRL != nil && !slices.ContainsFunc(d.crls, func(b []byte) bool { return string(b) == string(r.CRL) }) {
		d.crls = append(d.crls, r.CRL)
	}
	if r.Responder != nil {
		d.addCert(r.Responder)
	}
}

// chainData adds a chain (to a trust anchor) and a revocation answer for
// every certificate in it but the anchor; first, when not nil, is the
// answer already had for chain[0].
func (a *Agent) chainData(ctx context.Context, d *ltData, chain []*x509.Certificate, first *revocation.Result) error {
	for i, c := range chain {
		d.addCert(c)
		if i == len(chain)-1 {
			break // the anchor
		}
		r := first
		if i > 0 || r == nil {
			var err error
			if r, err = a.revoc.Check(ctx, c, chain[i+1]); err != nil {
				return fmt.Errorf("%w: %q: %w", errNoLTData, c.Subject.CommonName, err)
			}
		}
		if r.Status == revocation.Revoked {
			return fmt.Errorf("%w: %q is revoked", errNoLTData, c.Subject.CommonName)
		}
		d.addAnswer(r)
		if r.Responder != nil && !revocation.NoCheck(r.Responder) {
			if rr, err := a.revoc.Check(ctx, r.Responder, chain[i+1]); err == nil {
				d.addAnswer(rr)
			}
		}
	}
	return nil
}

// tsaData adds the chain (built with store) of the TSA that signed a
// time-stamp token and revocation answers for it.
func (a *Agent) tsaData(ctx context.Context, store *trust.Store, d *ltData, token []byte) error {
	leaf, carried, err := tsaCertificates(token)
	if err != nil {
		return fmt.Errorf("%w: the time-stamp: %w", errNoLTData, err)
	}
	chain, err := store.Chain(ctx, leaf, carried, time.Now())
	if err != nil {
		return fmt.Errorf("%w: the time-stamping authority's certificate: %w", errNoLTData, err)
	}
	return a.chainData(ctx, d, chain, nil)
}

// ltDataFor gathers the validation data of a signer (checked before the
// dialog) and of the TSAs of tokens (one chain per distinct TSA).
func (a *Agent) ltDataFor(ctx context.Context, sc *signerCheck, tokens [][]byte) (*ltData, error) {
	if !sc.trusted {
		return nil, fmt.Errorf("%w: the signer's certificate does not chain to a configured trust anchor ([trust] anchors)", errNoLTData)
	}
	if sc.status == nil {
		return nil, fmt.Errorf("%w: %s", errNoLTData, sc.info.Detail)
	}
	d := &ltData{}
	if err := a.chainData(ctx, d, sc.chain, sc.status); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, tok := range tokens {
		leaf, _, err := tsaCertificates(tok)
		if err != nil {
			return nil, fmt.Errorf("%w: the time-stamp: %w", errNoLTData, err)
		}
		if seen[string(leaf.Raw)] {
			continue
		}
		seen[string(leaf.Raw)] = true
		if err := a.tsaData(ctx, a.trust, d, tok); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// fingerprint is a certificate's SHA-256, hex, as the audit trail names it.
func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// tsaCertificates returns the certificate that signed an RFC 3161 token
// and the others the token carries.
func tsaCertificates(token []byte) (*x509.Certificate, []*x509.Certificate, error) {
	p, err := cms.Parse(token)
	if err != nil {
		return nil, nil, err
	}
	s := p.Signers[0]
	if s.Cert == nil {
		return nil, nil, errors.New("the token does not carry the TSA's certificate")
	}
	return s.Cert, p.Certificates, nil
}

// trustOf says whether a token certificate chains to a trust anchor now.
func (a *Agent) trustOf(ctx context.Context, c token.Certificate) ([]*x509.Certificate, error) {
	if len(a.trust.Anchors()) == 0 {
		return nil, fmt.Errorf("%w: no trust anchors are configured ([trust] anchors)", trust.ErrUntrusted)
	}
	carried, _ := a.tokens.Chain(c, a.conf().Certificates.Parsed...)
	return a.trust.Chain(ctx, c.Cert, carried, time.Now())
}

func (a *Agent) certificatesStatus(ctx context.Context, req protocol.Request) (any, error) {
	var params protocol.CertificatesStatusParams
	if err := protocol.DecodeParams(req.Params, &params); err != nil {
		return nil, err
	}
	c, err := a.tokens.Certificate(params.CertificateID)
	if errors.Is(err, token.ErrNotFound) {
		return nil, protocol.NewError(protocol.ReasonCertificateNotFound, "No certificate with this id is on a token that is present; insert the token or list the certificates again.")
	}
	if err != nil {
		return nil, a.tokenError(err, 0)
	}
	res := protocol.CertificateStatus{CertificateID: params.CertificateID}
	chain, err := a.trustOf(ctx, c)
	if err == nil {
		res.Trusted = true
		for _, cc := range chain {
			res.Chain = append(res.Chain, cc.Subject.String())
		}
	} else {
		res.TrustDetail = err.Error()
	}
	if a.conf().Revocation.Mode == config.RevocationOff {
		res.Revocation = protocol.RevocationInfo{Status: protocol.RevocationUnchecked, Detail: "revocation checking is off ([revocation] mode = \"off\")"}
		return res, nil
	}
	carried, _ := a.tokens.Chain(c, a.conf().Certificates.Parsed...)
	issuer := issuerOf(c.Cert, chain, carried, a.conf().Trust.ParsedIntermediates)
	if issuer == nil {
		res.Revocation = protocol.RevocationInfo{Status: protocol.RevocationUnavailable, Detail: "the issuer's certificate is neither on the token nor configured"}
		return res, nil
	}
	r, err := a.revoc.Check(ctx, c.Cert, issuer)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res.Revocation = protocol.RevocationInfo{Status: protocol.RevocationUnavailable, Detail: err.Error()}
		return res, nil
	}
	res.Revocation = wireRevocation(r)
	return res, nil
}
