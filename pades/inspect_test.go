package pades_test

import (
	"bytes"
	"context"
	"crypto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/pades"
)

// signedWithDSS returns a corpus PDF with a (dummy) signature, a DSS and
// a document time-stamp revision: every structure Inspect reads.
func signedWithDSS(t testing.TB, name string) []byte {
	t.Helper()
	orig, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u, err := pades.Prepare(ctx, bytes.NewReader(orig), int64(len(orig)), pades.Options{Time: time.Now(), Name: "Budi", ContentsSize: 2048})
	if err != nil {
		t.Fatal(err)
	}
	fake := []byte{0x30, 0x03, 0x02, 0x01, 0x07}
	upd, _ := u.Finish(fake)
	doc := append(append([]byte{}, orig...), upd...)
	dss, err := pades.AddDSS(ctx, bytes.NewReader(doc), int64(len(doc)), pades.ValidationData{
		Certs: [][]byte{[]byte("cert-1")}, OCSPs: [][]byte{[]byte("ocsp-1")}, CRLs: [][]byte{[]byte("crl-1")},
		VRI: []pades.VRI{{Signature: fake, Certs: [][]byte{[]byte("cert-1")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	doc = append(doc, dss...)
	d, err := pades.Prepare(ctx, bytes.NewReader(doc), int64(len(doc)), pades.Options{DocTimeStamp: true, ContentsSize: 2048})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Digest(crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	dts, _ := d.Finish(fake)
	return append(doc, dts...)
}

// Inspect finds the signature, the DSS (kept and added to) and the
// document time-stamp, for files ending in tables and in streams.
func TestInspect(t *testing.T) {
	for _, name := range []string{"go-minimal.pdf", "qpdf-objstm.pdf", "go-incremental.pdf"} {
		t.Run(name, func(t *testing.T) {
			doc := signedWithDSS(t, name)
			ins, err := pades.Inspect(context.Background(), bytes.NewReader(doc), int64(len(doc)))
			if err != nil {
				t.Fatal(err)
			}
			if len(ins.Fields) != 2 || ins.Fields[0].DocTimeStamp || !ins.Fields[1].DocTimeStamp || ins.Fields[1].SignedEnd() != int64(len(doc)) {
				t.Fatalf("fields %+v", ins.Fields)
			}
			if ins.Fields[0].SignerName != "Budi" || len(ins.Fields[0].Contents) != 5 {
				t.Errorf("signature %+v", ins.Fields[0])
			}
			if len(ins.DSS.Certs) != 1 || string(ins.DSS.OCSPs[0]) != "ocsp-1" || string(ins.DSS.CRLs[0]) != "crl-1" {
				t.Errorf("DSS %+v", ins.DSS)
			}
			if !strings.Contains(string(doc), "/VRI<</"+pades.VRIKey([]byte{0x30, 0x03, 0x02, 0x01, 0x07})) {
				t.Error("no /VRI entry")
			}
			// A second DSS update keeps the first's content.
			more, err := pades.AddDSS(context.Background(), bytes.NewReader(doc), int64(len(doc)), pades.ValidationData{Certs: [][]byte{[]byte("cert-2")}})
			if err != nil {
				t.Fatal(err)
			}
			doc2 := append(append([]byte{}, doc...), more...)
			ins, err = pades.Inspect(context.Background(), bytes.NewReader(doc2), int64(len(doc2)))
			if err != nil || len(ins.DSS.Certs) != 2 || len(ins.DSS.OCSPs) != 1 {
				t.Fatalf("second DSS: %+v %v", ins.DSS, err)
			}
			// Validation data and a document time-stamp are not changes a
			// signature forbids.
			changes, err := pades.Changes(context.Background(), bytes.NewReader(doc2), int64(len(doc2)), ins.Fields[0].SignedEnd(), false)
			if err != nil || len(changes) != 0 {
				t.Errorf("changes after the signature: %v %v", changes, err)
			}
		})
	}
}

// FuzzInspect: no input makes Inspect or Changes panic or hang.
func FuzzInspect(f *testing.F) {
	f.Add(signedWithDSS(f, "go-minimal.pdf"))
	f.Add(signedWithDSS(f, "qpdf-objstm.pdf"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), testscale.D(time.Second))
		defer cancel()
		testscale.Within(t, 4*time.Second, "inspecting the document", func() {
			ins, err := pades.Inspect(ctx, bytes.NewReader(data), int64(len(data)))
			if err != nil || len(ins.Fields) == 0 {
				return
			}
			end := ins.Fields[0].SignedEnd()
			if end > 0 && end <= int64(len(data)) {
				pades.Changes(ctx, bytes.NewReader(data), int64(len(data)), end, false)
			}
		})
	})
}
