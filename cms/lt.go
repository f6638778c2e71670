package cms

import (
	"encoding/asn1"
	"errors"
	"fmt"
)

// Attributes of CAdES B-LT (ETSI EN 319 122-1 §5.5.2 and §5.5.3).
var (
	OIDAttrCertValues       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 23}
	OIDAttrRevocationValues = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 24}
	oidOCSPBasic            = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
)

// revocationValues is RFC 5126 §6.3.4's RevocationValues.
type revocationValues struct {
	CRLs  []asn1.RawValue `asn1:"explicit,optional,tag:0"`
	OCSPs []asn1.RawValue `asn1:"explicit,optional,tag:1"`
}

// AddValidationData adds certificate-values (certs, DER) and
// revocation-values (DER CRLs and OCSP answers) as unsigned attributes:
// with a signature time-stamp, the signature is CAdES-BASELINE-LT.
func (s *SignedData) AddValidationData(certs, crls, ocsps [][]byte) error {
	if len(certs) > 0 {
		var vals []asn1.RawValue
		for _, c := range certs {
			vals = append(vals, asn1.RawValue{FullBytes: c})
		}
		if err := s.addUnsigned(mustAttr(OIDAttrCertValues, vals)); err != nil {
			return err
		}
	}
	if len(crls)+len(ocsps) == 0 {
		return nil
	}
	var rv revocationValues
	for _, c := range crls {
		rv.CRLs = append(rv.CRLs, asn1.RawValue{FullBytes: c})
	}
	for _, o := range ocsps {
		basic, err := BasicOCSP(o)
		if err != nil {
			return err
		}
		rv.OCSPs = append(rv.OCSPs, asn1.RawValue{FullBytes: basic})
	}
	return s.addUnsigned(mustAttr(OIDAttrRevocationValues, rv))
}

// ocspResponse is RFC 6960's OCSPResponse.
type ocspResponse struct {
	Status asn1.Enumerated
	Bytes  responseBytes `asn1:"explicit,tag:0,optional"`
}

type responseBytes struct {
	Type     asn1.ObjectIdentifier
	Response []byte
}

// BasicOCSP returns the BasicOCSPResponse inside a successful DER
// OCSPResponse: what revocation-values holds.
func BasicOCSP(resp []byte) ([]byte, error) {
	var r ocspResponse
	if rest, err := asn1.Unmarshal(resp, &r); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("not an OCSP response: %v", err)
	}
	if r.Status != 0 || !r.Bytes.Type.Equal(oidOCSPBasic) {
		return nil, errors.New("not a successful basic OCSP response")
	}
	return r.Bytes.Response, nil
}

// WrapOCSP turns a BasicOCSPResponse back into a successful
// OCSPResponse, the form OCSP parsers and the PDF DSS take.
func WrapOCSP(basic []byte) ([]byte, error) {
	return asn1.Marshal(ocspResponse{Status: 0, Bytes: responseBytes{Type: oidOCSPBasic, Response: basic}})
}
