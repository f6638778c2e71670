package revtest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"time"
)

var (
	oidNonce    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	oidBasic    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidECDSA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

type certID struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	NameHash      []byte
	KeyHash       []byte
	Serial        *big.Int
}

type request struct {
	TBS struct {
		Version     int           `asn1:"explicit,tag:0,default:0,optional"`
		Requestor   asn1.RawValue `asn1:"explicit,tag:1,optional"`
		RequestList []struct {
			CertID certID
			Ext    []pkix.Extension `asn1:"explicit,tag:0,optional"`
		}
		Extensions []pkix.Extension `asn1:"explicit,tag:2,optional"`
	}
}

type revokedInfo struct {
	Time   time.Time       `asn1:"generalized"`
	Reason asn1.Enumerated `asn1:"explicit,tag:0"`
}

type responseData struct {
	Version     int `asn1:"optional,explicit,default:0,tag:0"`
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   []asn1.RawValue
	Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type basicResponse struct {
	TBS       asn1.RawValue
	Algorithm pkix.AlgorithmIdentifier
	Signature asn1.BitString
	Certs     []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

// answer builds a signed OCSP answer to a DER request, echoing its nonce.
func (p *PKI) answer(body []byte, unknown bool) ([]byte, error) {
	var req request
	if _, err := asn1.Unmarshal(body, &req); err != nil || len(req.TBS.RequestList) != 1 {
		return nil, errors.New("malformed OCSP request")
	}
	id := req.TBS.RequestList[0].CertID
	if !bytes.Equal(id.KeyHash, keyHash(p.Inter)) {
		unknown = true // not one of ours
	}
	now := time.Now().Truncate(time.Second)
	status := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0} // good: [0] IMPLICIT NULL
	p.mu.Lock()
	rv, isRevoked := p.revoked[id.Serial.String()]
	p.mu.Unlock()
	switch {
	case unknown:
		status = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2}
	case isRevoked:
		inner, _ := asn1.Marshal(revokedInfo{Time: rv.at.UTC(), Reason: asn1.Enumerated(rv.reason)})
		var seq asn1.RawValue
		asn1.Unmarshal(inner, &seq)
		status = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: seq.Bytes}
	}
	single, err := asn1.Marshal(struct {
		CertID     certID
		Status     asn1.RawValue
		ThisUpdate time.Time `asn1:"generalized"`
		NextUpdate time.Time `asn1:"generalized,explicit,tag:0"`
	}{id, status, now.Add(-time.Minute).UTC(), now.Add(time.Hour).UTC()})
	if err != nil {
		return nil, err
	}
	signer, key := p.Inter, p.InterKey
	if p.Responder != nil {
		signer, key = p.Responder, p.responderKey
	}
	rd := responseData{
		ResponderID: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: signer.RawSubject},
		ProducedAt:  now.UTC(),
		Responses:   []asn1.RawValue{{FullBytes: single}},
	}
	for _, e := range req.TBS.Extensions {
		if e.Id.Equal(oidNonce) {
			rd.Extensions = append(rd.Extensions, pkix.Extension{Id: oidNonce, Value: e.Value})
		}
	}
	tbs, err := asn1.Marshal(rd)
	if err != nil {
		return nil, err
	}
	h := crypto.SHA256.New()
	h.Write(tbs)
	sig, err := key.Sign(rand.Reader, h.Sum(nil), crypto.SHA256)
	if err != nil {
		return nil, err
	}
	br := basicResponse{TBS: asn1.RawValue{FullBytes: tbs}, Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidECDSA256},
		Signature: asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}}
	if p.Responder != nil {
		br.Certs = []asn1.RawValue{{FullBytes: p.Responder.Raw}}
	}
	basic, err := asn1.Marshal(br)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct {
		Status asn1.Enumerated
		Bytes  struct {
			Type     asn1.ObjectIdentifier
			Response []byte
		} `asn1:"explicit,tag:0"`
	}{0, struct {
		Type     asn1.ObjectIdentifier
		Response []byte
	}{oidBasic, basic}})
}
