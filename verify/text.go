package verify

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// messages are the report's words by language ("id" default, "en").
var messages = map[string]map[string]string{
	"id": {
		"valid": "SAH", "invalid": "TIDAK SAH", "signatures": "tanda tangan",
		"signature": "Tanda tangan", "doctimestamp": "Cap waktu dokumen",
		"signer": "Penanda tangan", "tsa": "Otoritas cap waktu",
		"claimed": "Waktu yang dinyatakan", "stamped": "Waktu menurut cap waktu",
		"integrity": "Keutuhan", "intact": "utuh",
		"chain": "Rantai sertifikat", "trusted": "terpercaya",
		"revocation": "Status pencabutan", "notrevoked": "tidak dicabut saat penandatanganan",
		"embedded": "data tertanam", "online": "diperiksa daring",
		"timestamp": "Cap waktu tanda tangan", "ok": "sah",
		"level": "Level", "unchanged": "Perubahan sesudah ditandatangani", "none": "tidak ada",
		"whole": "mencakup seluruh dokumen", "partial": "mencakup revisi sebelumnya; sesudahnya ada tambahan",
		"error": "tidak dapat diperiksa",
	},
	"en": {
		"valid": "VALID", "invalid": "NOT VALID", "signatures": "signatures",
		"signature": "Signature", "doctimestamp": "Document time-stamp",
		"signer": "Signer", "tsa": "Time-stamping authority",
		"claimed": "Claimed signing time", "stamped": "Time-stamped at",
		"integrity": "Integrity", "intact": "intact",
		"chain": "Certificate chain", "trusted": "trusted",
		"revocation": "Revocation status", "notrevoked": "not revoked at signing time",
		"embedded": "embedded data", "online": "checked online",
		"timestamp": "Signature time-stamp", "ok": "valid",
		"level": "Level", "unchanged": "Changes after signing", "none": "none",
		"whole": "covers the whole document", "partial": "covers an earlier revision; later additions follow",
		"error": "cannot be verified",
	},
}

// WriteText writes reports for people, in lang ("id" or "en").
func WriteText(w io.Writer, reports []*Report, lang string) {
	m, ok := messages[lang]
	if !ok {
		m = messages["id"]
	}
	verdict := func(ok bool) string {
		if ok {
			return m["valid"]
		}
		return m["invalid"]
	}
	check := func(c Check, good string) string {
		if c.OK {
			return good
		}
		return "✗ " + c.Detail
	}
	at := func(t *time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") }
	for _, r := range reports {
		if r.Error != "" {
			fmt.Fprintf(w, "%s: %s (%s): %s\n", r.File, verdict(false), m["error"], r.Error)
			continue
		}
		fmt.Fprintf(w, "%s: %s (%d %s)\n", r.File, verdict(r.Valid), len(r.Signatures), m["signatures"])
		for i, s := range r.Signatures {
			kind, who := m["signature"], m["signer"]
			if s.Kind == KindDocTimestamp {
				kind, who = m["doctimestamp"], m["tsa"]
			}
			name := ""
			if s.Field != "" {
				name = " (" + s.Field + ")"
			}
			fmt.Fprintf(w, "  %s #%d%s: %s\n", kind, i+1, name, verdict(s.Valid))
			fmt.Fprintf(w, "    %s: %s\n", who, s.Signer)
			if s.ClaimedTime != nil {
				fmt.Fprintf(w, "    %s: %s\n", m["claimed"], at(s.ClaimedTime))
			}
			if s.TimestampTime != nil {
				fmt.Fprintf(w, "    %s: %s\n", m["stamped"], at(s.TimestampTime))
			}
			fmt.Fprintf(w, "    %s: %s\n", m["integrity"], check(s.Integrity, m["intact"]))
			if s.Timestamp != nil {
				fmt.Fprintf(w, "    %s: %s\n", m["timestamp"], check(*s.Timestamp, m["ok"]))
			}
			chain := m["trusted"]
			if len(s.ChainSubjects) > 0 {
				chain += " (" + strings.Join(commonNames(s.ChainSubjects), " → ") + ")"
			}
			fmt.Fprintf(w, "    %s: %s\n", m["chain"], check(s.Chain, chain))
			rev := m["notrevoked"]
			if s.RevocationSource != "" {
				rev += " (" + m[s.RevocationSource] + ")"
			}
			fmt.Fprintf(w, "    %s: %s\n", m["revocation"], check(s.Revocation, rev))
			unchanged := m["none"]
			if s.CoversWholeFile {
				unchanged += "; " + m["whole"]
			} else {
				unchanged += "; " + m["partial"]
			}
			fmt.Fprintf(w, "    %s: %s\n", m["unchanged"], check(s.Unchanged, unchanged))
			if s.Level != "" {
				fmt.Fprintf(w, "    %s: %s\n", m["level"], s.Level)
			}
		}
	}
}

// commonNames shortens distinguished names to their CN= part.
func commonNames(dns []string) []string {
	out := make([]string, len(dns))
	for i, dn := range dns {
		out[i] = dn
		for _, part := range strings.Split(dn, ",") {
			if strings.HasPrefix(part, "CN=") {
				out[i] = strings.TrimPrefix(part, "CN=")
			}
		}
	}
	return out
}
