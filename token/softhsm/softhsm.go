// Package softhsm provisions SoftHSM2 tokens with keys generated on the
// token and certificates from a software CA, for the integration tests and
// the demo. It talks PKCS#11 to SoftHSM itself (C_InitToken, C_InitPIN,
// C_GenerateKeyPair, C_CreateObject), so nothing but the SoftHSM module is
// needed. It must not run while another owner in the same process has the
// module initialised.
package softhsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/miekg/pkcs11"
)

// ModulePaths are where Debian installs the SoftHSM2 module.
var ModulePaths = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
}

// ErrNotInstalled means the SoftHSM2 module is not on this machine.
var ErrNotInstalled = errors.New("SoftHSM2 is not installed: run scripts/install-deps.sh (Debian package softhsm2)")

// Module returns the path of the installed SoftHSM2 module.
func Module() (string, error) {
	for _, p := range ModulePaths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

// Store is a SoftHSM2 token directory and its configuration file.
type Store struct {
	// Conf is the softhsm2.conf path; SOFTHSM2_CONF must name it in every
	// process that loads the module for this store.
	Conf string
	// Module is the SoftHSM2 module path.
	Module string
}

// NewStore creates (or reuses) a token store under dir.
func NewStore(dir string) (*Store, error) {
	mod, err := Module()
	if err != nil {
		return nil, err
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create the token directory: %w", err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	text := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, fmt.Errorf("failed to write %s: %w", conf, err)
	}
	return &Store{Conf: conf, Module: mod}, nil
}

// Env returns the environment entry that points SoftHSM at this store.
func (s *Store) Env() string { return "SOFTHSM2_CONF=" + s.Conf }

// KeySpec describes one key pair and its certificate.
type KeySpec struct {
	Label string
	// ID is the CKA_ID shared by key and certificate.
	ID []byte
	// Type is RSA-2048, RSA-3072, EC-P256 or EC-P384.
	Type string
	// AlwaysAuthenticate sets CKA_ALWAYS_AUTHENTICATE on the private key.
	AlwaysAuthenticate bool
	Subject            pkix.Name
	KeyUsage           x509.KeyUsage
	// ExtKeyUsage defaults to emailProtection.
	ExtKeyUsage []x509.ExtKeyUsage
	// Email goes into the subject alternative name (S/MIME: mail
	// programs match it with the sender).
	Email     []string
	NotBefore time.Time
	NotAfter  time.Time
}

// TokenSpec describes a token to create.
type TokenSpec struct {
	Label string
	PIN   string
	SOPIN string
	Keys  []KeySpec
	// ExtraCerts are stored without a key, as issuers' certificates.
	ExtraCerts []*x509.Certificate
}

// Token is a created token.
type Token struct {
	Serial string
	Certs  []*x509.Certificate
}

// CreateToken initialises a free slot as a new token, generates each key
// pair on it and stores a certificate for each, issued by ca.
func (s *Store) CreateToken(spec TokenSpec, ca *CA) (*Token, error) {
	if err := os.Setenv("SOFTHSM2_CONF", s.Conf); err != nil {
		return nil, err
	}
	return createToken(s.Module, -1, spec, ca)
}

// CreateTokenOn initialises the token in slot of another PKCS#11 module
// (openCryptoki's software token, say, whose SO PIN starts as 87654321)
// the same way: it is wiped, given spec's PINs, keys and certificates.
func CreateTokenOn(module string, slot uint, spec TokenSpec, ca *CA) (*Token, error) {
	return createToken(module, int(slot), spec, ca)
}

// createToken initialises slot, or a free slot when slot < 0.
func createToken(module string, slotNum int, spec TokenSpec, ca *CA) (*Token, error) {
	ctx := pkcs11.New(module)
	if ctx == nil {
		return nil, fmt.Errorf("failed to load %s", module)
	}
	defer ctx.Destroy()
	if err := ctx.Initialize(); err != nil {
		return nil, fmt.Errorf("failed to initialise %s: %w", module, err)
	}
	defer ctx.Finalize()

	slot := uint(slotNum)
	if slotNum < 0 {
		var err error
		if slot, err = freeSlot(ctx); err != nil {
			return nil, err
		}
	}
	if err := ctx.InitToken(slot, spec.SOPIN, spec.Label); err != nil {
		return nil, fmt.Errorf("failed to initialise the token: %w", err)
	}
	// SoftHSM moves a freshly initialised token to a new slot id.
	slot, serial, err := findLabel(ctx, spec.Label)
	if err != nil {
		return nil, err
	}
	sh, err := ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return nil, fmt.Errorf("failed to open a session: %w", err)
	}
	defer ctx.CloseSession(sh)
	if err := ctx.Login(sh, pkcs11.CKU_SO, spec.SOPIN); err != nil {
		return nil, fmt.Errorf("failed to log in as SO: %w", err)
	}
	if err := ctx.InitPIN(sh, spec.PIN); err != nil {
		return nil, fmt.Errorf("failed to set the user PIN: %w", err)
	}
	if err := ctx.Logout(sh); err != nil {
		return nil, err
	}
	if err := ctx.Login(sh, pkcs11.CKU_USER, spec.PIN); err != nil {
		return nil, fmt.Errorf("failed to log in as user: %w", err)
	}
	defer ctx.Logout(sh)

	tok := &Token{Serial: serial}
	for _, k := range spec.Keys {
		pub, err := generate(ctx, sh, k)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k.Label, err)
		}
		cert, err := ca.Issue(pub, k)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k.Label, err)
		}
		if err := storeCert(ctx, sh, k, cert); err != nil {
			return nil, fmt.Errorf("key %s: %w", k.Label, err)
		}
		tok.Certs = append(tok.Certs, cert)
	}
	for i, c := range spec.ExtraCerts {
		if err := storeCert(ctx, sh, KeySpec{Label: fmt.Sprintf("CA %d", i+1)}, c); err != nil {
			return nil, err
		}
	}
	return tok, nil
}

func freeSlot(ctx *pkcs11.Ctx) (uint, error) {
	slots, err := ctx.GetSlotList(false)
	if err != nil {
		return 0, err
	}
	for _, s := range slots {
		ti, err := ctx.GetTokenInfo(s)
		if err == nil && ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			return s, nil
		}
	}
	return 0, errors.New("no free SoftHSM slot")
}

func findLabel(ctx *pkcs11.Ctx, label string) (uint, string, error) {
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return 0, "", err
	}
	for _, s := range slots {
		ti, err := ctx.GetTokenInfo(s)
		if err == nil && strings.TrimRight(ti.Label, " ") == label {
			return s, strings.TrimRight(ti.SerialNumber, " "), nil
		}
	}
	return 0, "", fmt.Errorf("token %q not found after initialisation", label)
}

var curveOIDs = map[string]asn1.ObjectIdentifier{
	"EC-P256": {1, 2, 840, 10045, 3, 1, 7},
	"EC-P384": {1, 3, 132, 0, 34},
}

func generate(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle, k KeySpec) (crypto.PublicKey, error) {
	common := func(private bool) []*pkcs11.Attribute {
		return []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_ID, k.ID),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, k.Label),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, private),
		}
	}
	pubT := common(false)
	privT := append(common(true),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_AUTHENTICATE, k.AlwaysAuthenticate),
	)
	pubT = append(pubT, pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true))
	// Every key may also open documents encrypted to its certificate, as
	// an ASN's token key does (decrypt for RSA, derive for EC).
	if strings.HasPrefix(k.Type, "RSA") {
		privT = append(privT, pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true))
		pubT = append(pubT, pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true))
	} else {
		privT = append(privT, pkcs11.NewAttribute(pkcs11.CKA_DERIVE, true))
	}
	var mech *pkcs11.Mechanism
	switch k.Type {
	case "RSA-2048", "RSA-3072":
		bits := 2048
		if k.Type == "RSA-3072" {
			bits = 3072
		}
		mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)
		pubT = append(pubT,
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, bits),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
	case "EC-P256", "EC-P384":
		params, _ := asn1.Marshal(curveOIDs[k.Type])
		mech = pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)
		pubT = append(pubT, pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params))
	default:
		return nil, fmt.Errorf("unknown key type %q", k.Type)
	}
	pubH, _, err := ctx.GenerateKeyPair(sh, []*pkcs11.Mechanism{mech}, pubT, privT)
	if err != nil {
		return nil, fmt.Errorf("failed to generate the key pair: %w", err)
	}
	if mech.Mechanism == pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN {
		a, err := ctx.GetAttributeValue(sh, pubH, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS, nil),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, nil),
		})
		if err != nil {
			return nil, err
		}
		return &rsa.PublicKey{
			N: new(big.Int).SetBytes(a[0].Value),
			E: int(new(big.Int).SetBytes(a[1].Value).Int64()),
		}, nil
	}
	a, err := ctx.GetAttributeValue(sh, pubH, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil)})
	if err != nil {
		return nil, err
	}
	var point []byte
	if _, err := asn1.Unmarshal(a[0].Value, &point); err != nil {
		return nil, fmt.Errorf("failed to parse CKA_EC_POINT: %w", err)
	}
	curve := elliptic.P256()
	if k.Type == "EC-P384" {
		curve = elliptic.P384()
	}
	return ecdsa.ParseUncompressedPublicKey(curve, point)
}

func storeCert(ctx *pkcs11.Ctx, sh pkcs11.SessionHandle, k KeySpec, cert *x509.Certificate) error {
	serial, err := asn1.Marshal(cert.SerialNumber)
	if err != nil {
		return err
	}
	_, err = ctx.CreateObject(sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_ID, k.ID),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, k.Label),
		pkcs11.NewAttribute(pkcs11.CKA_SUBJECT, cert.RawSubject),
		pkcs11.NewAttribute(pkcs11.CKA_ISSUER, cert.RawIssuer),
		pkcs11.NewAttribute(pkcs11.CKA_SERIAL_NUMBER, serial),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, cert.Raw),
	})
	if err != nil {
		return fmt.Errorf("failed to store the certificate: %w", err)
	}
	return nil
}

// CA is a software certificate authority for test and demo certificates.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// CRLURL, when set, goes into issued certificates' CRL distribution
	// points.
	CRLURL string
	// OCSPURL and IssuerURL, when set, go into issued certificates'
	// authority information access (OCSP responder, CA issuers).
	OCSPURL, IssuerURL string
}

// NewCA creates a self-signed P-256 CA valid for ten years.
func NewCA(name pkix.Name) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randSerial(),
		Subject:               name,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Issue issues an end-entity certificate for pub as k describes.
func (ca *CA) Issue(pub crypto.PublicKey, k KeySpec) (*x509.Certificate, error) {
	nb, na := k.NotBefore, k.NotAfter
	if nb.IsZero() {
		nb = time.Now().Add(-time.Hour)
	}
	if na.IsZero() {
		na = time.Now().AddDate(2, 0, 0)
	}
	ku := k.KeyUsage
	if ku == 0 {
		ku = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	}
	tmpl := &x509.Certificate{
		SerialNumber:   randSerial(),
		Subject:        k.Subject,
		NotBefore:      nb,
		NotAfter:       na,
		KeyUsage:       ku,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		EmailAddresses: k.Email,
	}
	if len(k.ExtKeyUsage) > 0 {
		tmpl.ExtKeyUsage = k.ExtKeyUsage
	}
	if ca.CRLURL != "" {
		tmpl.CRLDistributionPoints = []string{ca.CRLURL}
	}
	if ca.OCSPURL != "" {
		tmpl.OCSPServer = []string{ca.OCSPURL}
	}
	if ca.IssuerURL != "" {
		tmpl.IssuingCertificateURL = []string{ca.IssuerURL}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("failed to issue the certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

func randSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}

// WriteCertPEM writes cert to path as PEM.
func WriteCertPEM(path string, cert *x509.Certificate) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
}
