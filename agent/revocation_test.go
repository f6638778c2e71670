package agent_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/agent/audit"
	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/protocol"
	"github.com/tte-agent/tte-agent/revocation/revtest"
	"github.com/tte-agent/tte-agent/tsa/tsatest"
)

// A revoked signer is refused before any dialog, audited as an incident
// and counted.
func TestRevokedSignerRefused(t *testing.T) {
	pki := startPKI(t, revtest.Options{})
	tsaSrv := tsatest.Start(t)
	h := archiveHarness(t, pki, tsaSrv, "prefer")
	pki.Revoke(h.certs[0], 1) // keyCompromise: the token was reported lost
	c := h.dial(testOrigin)
	id := c.upload("surat.pdf", corpusFile(t, "go-minimal.pdf"), 3000)
	_, e := c.call("sign.pdf", map[string]any{"certificateId": h.certID(rsaID), "items": []any{map[string]any{"uploadId": id}}})
	wantError(t, e, protocol.ReasonCertificateInvalid)
	if !strings.Contains(e.Data.Detail, "revoked on") || !strings.Contains(e.Data.Detail, "keyCompromise") {
		t.Errorf("detail %q does not say revoked, when and why", e.Data.Detail)
	}
	if n := len(h.fake.Shown(t)); n != 0 {
		t.Errorf("%d dialogs shown for a revoked certificate", n)
	}
	// sign.digest is refused the same way.
	_, e = c.call("sign.digest", map[string]any{"certificateId": h.certID(rsaID), "items": []any{map[string]any{"name": "x", "digest": make([]byte, 32)}}})
	wantError(t, e, protocol.ReasonCertificateInvalid)
	incidents := 0
	for _, r := range auditRecords(t, h) {
		if r.Event == audit.EventIncident && r.Outcome == "certificate_revoked" {
			incidents++
		}
	}
	if incidents != 2 {
		t.Errorf("%d revocation incidents in the audit trail, want 2", incidents)
	}
	if m := scrape(t, h); !strings.Contains(m, `tte_agent_revocation_checks_total{status="revoked"} 2`) {
		t.Errorf("metrics do not count the revoked certificate:\n%s", grepLines(m, "revocation"))
	}
	// The other certificate still signs.
	id = c.upload("surat.pdf", corpusFile(t, "go-minimal.pdf"), 3000)
	mustCall[protocol.SignPDFResult](c, "sign.pdf", map[string]any{"certificateId": h.certID(p256ID), "items": []any{map[string]any{"uploadId": id}}})
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// What happens when the status cannot be had from OCSP, or at all, under
// each mode; a delegated responder; an expired intermediate.
func TestRevocationSources(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      revtest.Options
		ocsp, crl revtest.Mode
		mode      string
		// want is the level reached, or the error reason.
		level  protocol.Level
		reason protocol.Reason
		source string
		detail string
	}{
		{name: "OCSP down: CRL fallback", ocsp: revtest.Down, mode: "require", level: protocol.LevelBLT, source: "crl"},
		{name: "OCSP unknown: CRL fallback", ocsp: revtest.Unknown, mode: "require", level: protocol.LevelBLT, source: "crl"},
		{name: "delegated responder", opts: revtest.Options{Delegated: true}, mode: "require", level: protocol.LevelBLT, source: "ocsp"},
		{name: "nothing reachable, prefer", ocsp: revtest.Unknown, crl: revtest.Down, mode: "prefer", level: protocol.LevelBT, detail: "signed at B-T"},
		{name: "nothing reachable, require", ocsp: revtest.Down, crl: revtest.Down, mode: "require", reason: protocol.ReasonUpstreamFailed},
		{name: "nothing reachable, off", ocsp: revtest.Down, crl: revtest.Down, mode: "off", level: protocol.LevelBT, detail: "signed at B-T"},
		{name: "expired intermediate", opts: revtest.Options{ExpiredIntermediate: true}, mode: "prefer", reason: protocol.ReasonCertificateInvalid, detail: "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := startPKI(t, tc.opts)
			tsaSrv := tsatest.Start(t)
			h := archiveHarness(t, pki, tsaSrv, tc.mode)
			pki.SetOCSP(tc.ocsp)
			pki.SetCRL(tc.crl)
			c := h.dial(testOrigin)
			orig := corpusFile(t, "cairo.pdf")
			id := c.upload("surat.pdf", orig, 3000)
			raw, e := c.call("sign.pdf", map[string]any{"certificateId": h.certID(p256ID), "level": "B-LT", "items": []any{map[string]any{"uploadId": id}}})
			if tc.reason != "" {
				wantError(t, e, tc.reason)
				if !strings.Contains(e.Data.Detail, tc.detail) {
					t.Errorf("detail %q lacks %q", e.Data.Detail, tc.detail)
				}
				if n := len(h.fake.Shown(t)); n != 0 {
					t.Errorf("%d dialogs before a refusal", n)
				}
				return
			}
			if e != nil {
				t.Fatalf("sign.pdf: %v (%s)", e, e.Data.Detail)
			}
			res := decode[protocol.SignPDFResult](t, raw)
			it := res.Items[0]
			if it.Level != tc.level {
				t.Errorf("level %s, want %s (revocation %+v)", it.Level, tc.level, res.Revocation)
			}
			if tc.source != "" && (res.Revocation.Source != tc.source || res.Revocation.Status != "good") {
				t.Errorf("revocation %+v, want good from %s", res.Revocation, tc.source)
			}
			if tc.detail != "" && !strings.Contains(res.Revocation.Detail, tc.detail) {
				t.Errorf("the result does not say why the level is lower: %+v", res.Revocation)
			}
			path, _ := writeSigned(t, orig, it)
			anchors := []string{pki.RootFile, tsaSrv.CAFile}
			rep := verifyOffline(t, path, anchors...)
			if tc.level == protocol.LevelBLT {
				if !rep.Valid || rep.Signatures[0].Level != "B-LT" {
					t.Errorf("our verifier:\n%s", reportText(rep))
				}
				checkWithOpenSSL(t, path, anchors...)
			} else if rep.Valid {
				t.Errorf("a B-T signature without revocation data verified offline:\n%s", reportText(rep))
			}
		})
	}
}

func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// A B-T document is extended to B-LTA later without a token or dialog,
// by an origin allowed only to extend and verify.
func TestExtendAndVerifyMethods(t *testing.T) {
	pki := startPKI(t, revtest.Options{})
	tsaSrv := tsatest.Start(t)
	const archive = "https://arsip.example.go.id:8443"
	h := newHarness(t, harnessOpts{pki: pki, tsaURL: tsaSrv.URL, extra: fmt.Sprintf(`[[origins]]
origin = %q
allow = ["extend", "verify"]
[trust]
anchors = [%q, %q]
`, archive, pki.RootFile, tsaSrv.CAFile)})
	c := h.dial(testOrigin)
	orig := corpusFile(t, "ghostscript.pdf")
	id := c.upload("surat.pdf", orig, 3000)
	res := mustCall[protocol.SignPDFResult](c, "sign.pdf", map[string]any{"certificateId": h.certID(rsaID), "level": "B-T", "items": []any{map[string]any{"uploadId": id}}})
	_, signed := writeSigned(t, orig, res.Items[0])

	// The signing origin may not extend; the archive may not sign.
	_, e := c.call("pdf.extend", map[string]any{"items": []any{map[string]any{"uploadId": c.upload("x.pdf", signed, 3000)}}})
	wantError(t, e, protocol.ReasonNotPermitted)
	ar := h.dial(archive)
	_, e = ar.call("sign.pdf", map[string]any{"certificateId": h.certID(rsaID), "items": []any{map[string]any{"uploadId": ar.upload("y.pdf", signed, 3000)}}})
	wantError(t, e, protocol.ReasonNotPermitted)

	shown := len(h.fake.Shown(t))
	ext := mustCall[protocol.SignPDFResult](ar, "pdf.extend", map[string]any{"level": "B-LTA", "items": []any{map[string]any{"uploadId": ar.upload("surat.pdf", signed, 3000)}}})
	if len(h.fake.Shown(t)) != shown {
		t.Error("pdf.extend showed a dialog")
	}
	path, extended := writeSigned(t, signed, ext.Items[0])
	rep := verifyOffline(t, path, pki.RootFile, tsaSrv.CAFile)
	if !rep.Valid || len(rep.Signatures) != 2 || rep.Signatures[0].Level != "B-LTA" {
		t.Errorf("extended document:\n%s", reportText(rep))
	}
	checkWithOpenSSL(t, path, pki.RootFile, tsaSrv.CAFile)

	// document.verify says the same, in Indonesian by default.
	v := mustCall[protocol.DocumentVerifyResult](ar, "document.verify", map[string]any{"items": []any{map[string]any{"uploadId": ar.upload("surat.pdf", extended, 3000)}}})
	if !v.Valid || !strings.Contains(v.Text, "SAH") || !strings.Contains(v.Text, "B-LTA") {
		t.Errorf("document.verify: valid %v\n%s", v.Valid, v.Text)
	}
	tampered := append([]byte{}, extended...)
	tampered[200] ^= 1
	v = mustCall[protocol.DocumentVerifyResult](ar, "document.verify", map[string]any{"language": "en", "items": []any{map[string]any{"uploadId": ar.upload("tampered.pdf", tampered, 3000)}}})
	if v.Valid || !strings.Contains(v.Text, "NOT VALID") {
		t.Errorf("a tampered document verified:\n%s", v.Text)
	}
	// certificates.status and certificates.list say the chain is trusted
	// and the certificate good.
	st := mustCall[protocol.CertificateStatus](c, "certificates.status", map[string]any{"certificateId": h.certID(rsaID)})
	if !st.Trusted || st.Revocation.Status != "good" || len(st.Chain) != 3 {
		t.Errorf("certificates.status: %+v", st)
	}
	list := mustCall[protocol.CertificatesList](c, "certificates.list", nil)
	for _, cert := range list.Certificates {
		if !cert.Trusted && !strings.Contains(cert.TrustDetail, "expired") {
			t.Errorf("%s untrusted: %s", cert.Subject, cert.TrustDetail)
		}
	}
}

// A responder that hangs costs only the requests that need it, and only
// [revocation] timeout: the CRL answers, and other pages are served
// meanwhile.
func TestSlowResponderDoesNotBlock(t *testing.T) {
	pki := startPKI(t, revtest.Options{})
	tsaSrv := tsatest.Start(t)
	timeout := testscale.D(500 * time.Millisecond)
	h := newHarness(t, harnessOpts{pki: pki, tsaURL: tsaSrv.URL, extra: fmt.Sprintf(`[trust]
anchors = [%q, %q]
[revocation]
mode = "require"
timeout = %q
`, pki.RootFile, tsaSrv.CAFile, timeout.String())})
	pki.SetOCSPDelay(testscale.D(30 * time.Second))
	c := h.dial(testOrigin)
	other := h.dial(testOrigin)
	orig := corpusFile(t, "go-minimal.pdf")
	id := c.upload("surat.pdf", orig, 3000)
	type answer struct {
		raw json.RawMessage
		err *protocol.Error
	}
	done := make(chan answer, 1)
	go func() {
		raw, err := c.call("sign.pdf", map[string]any{"certificateId": h.certID(rsaID), "level": "B-LT", "items": []any{map[string]any{"uploadId": id}}})
		done <- answer{raw, err}
	}()
	// While the first request waits for the responder, another page
	// lists tokens at once.
	start := time.Now()
	mustCall[protocol.TokensList](other, "tokens.list", nil)
	if d := time.Since(start); d > testscale.D(time.Second) {
		t.Errorf("tokens.list took %v while a revocation fetch hung", d)
	}
	select {
	case a := <-done:
		if a.err != nil {
			t.Fatalf("sign.pdf: %v (%s)", a.err, a.err.Data.Detail)
		}
		res := decode[protocol.SignPDFResult](t, a.raw)
		if res.Revocation.Source != "crl" || res.Items[0].Level != protocol.LevelBLT {
			t.Errorf("after the OCSP timeout: %+v level %s", res.Revocation, res.Items[0].Level)
		}
	case <-time.After(testscale.D(15 * time.Second)):
		t.Fatal("sign.pdf did not finish after the OCSP timeout")
	}
}
