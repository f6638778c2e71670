package pades_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tte-agent/tte-agent/appearance"
	"github.com/tte-agent/tte-agent/pades"
	"github.com/tte-agent/tte-agent/pades/padestest"
)

// Documents encrypted with an empty user password open in every viewer
// without a question, and Acrobat signs them when their permissions
// allow filling in forms: the agent signs them too, encrypting what it
// adds as the document is encrypted, and both signatures of a second
// signer stay valid.
func TestEncryptedDocuments(t *testing.T) {
	s := newSigner(t, false)
	dir := t.TempDir()
	encryptedFrom := func(in, name string, args ...string) string {
		out := filepath.Join(dir, name)
		cmd := append([]string{"--allow-weak-crypto", "--encrypt", "", "owner-secret"}, args...)
		cmd = append(cmd, "--", in, out)
		if b, err := exec.Command("qpdf", cmd...).CombinedOutput(); err != nil {
			t.Fatalf("qpdf %v: %v\n%s", cmd, err, b)
		}
		return out
	}
	encrypted := func(name string, args ...string) string {
		return encryptedFrom("testdata/go-minimal.pdf", name, args...)
	}
	img, err := appearance.ParseImage(seal(t))
	if err != nil {
		t.Fatal(err)
	}
	rect := [4]float64{40, 40, 400, 130}
	for _, tc := range []struct{ name, file string }{
		{"RC4 40-bit (R2)", encrypted("rc4-40.pdf", "40")},
		{"RC4 128-bit (R3)", encrypted("rc4-128.pdf", "128", "--use-aes=n")},
		{"AES-128 (R4)", encrypted("aes-128.pdf", "128", "--use-aes=y")},
		{"AES-256 (R6)", encrypted("aes-256.pdf", "256")},
		{"form with strings to keep (RC4 128-bit)", encryptedFrom("testdata/realworld/sf-libreoffice-form.pdf", "form.pdf", "128", "--use-aes=n")},
		{"real world: qpdf V4 AES", "testdata/realworld/qpdf-V4-aes.pdf"},
		{"real world: printing forbidden", "testdata/realworld/opf-encryption_noprinting.pdf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed, err := sign(t, s, tc.file, pades.Options{Reason: "Persetujuan", Appearance: &pades.Appearance{Page: 1, Rect: rect,
				Spec: appearance.Spec{Frame: true, Image: img, QR: verifyURL, Text: []string{"Ni Luh Putu Ayu Wijayanti, S.E., M.Ak."}}}})
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			r := padestest.Check(t, signed, s.caFile)
			if len(r.PdfsigValid) != 1 || !r.PdfsigValid[0] || !r.PdfsigTotal || len(r.PAdES) != 1 || r.PAdES[0] != "B-B" {
				t.Fatalf("after one signature: %s", r)
			}
			for _, tool := range []string{"pdftoppm", "mutool"} {
				page := render(t, tool, signed, 1)
				if in, _ := dark(page, box(page, rect)); in < 1000 {
					t.Errorf("%s: %d dark pixels in the box: the appearance is not drawn", tool, in)
				}
				side := rect[3] - rect[1]
				if got := decodeQR(t, page, box(page, [4]float64{rect[2] - side, rect[1], rect[2], rect[3]})); got != verifyURL {
					t.Errorf("%s: the QR code reads %q, want %q", tool, got, verifyURL)
				}
			}
			// The strings of the objects the update rewrites (the
			// catalog's /Lang here) read back as they were.
			before, _ := exec.Command("mutool", "show", tc.file, "trailer/Root/Lang").CombinedOutput()
			after, err := exec.Command("mutool", "show", signed, "trailer/Root/Lang").CombinedOutput()
			if err != nil || string(before) != string(after) {
				t.Errorf("the catalog's /Lang was %q, is %q (%v)", before, after, err)
			}
			s2 := newSigner(t, true)
			twice, err := sign(t, s2, signed, pades.Options{Reason: "Mengetahui", Appearance: &pades.Appearance{Auto: true, Size: [2]float64{200, 80},
				Spec: appearance.Spec{Text: []string{"Kepala Dinas"}}}})
			if err != nil {
				t.Fatalf("second signature refused: %v", err)
			}
			r = padestest.Check(t, twice, s.caFile, s2.caFile)
			if len(r.PdfsigValid) != 2 || !r.PdfsigValid[0] || !r.PdfsigValid[1] || !r.PdfsigTotal {
				t.Fatalf("after two signatures: %s", r)
			}
			// The agent's own verifier reads both: the CMS unencrypted,
			// the reasons decrypted.
			f, err := os.Open(twice)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			ins, err := pades.Inspect(context.Background(), f, st.Size())
			if err != nil || len(ins.Fields) != 2 {
				t.Fatalf("Inspect: %v", err)
			}
			for i, want := range []string{"Persetujuan", "Mengetahui"} {
				fd := ins.Fields[i]
				if fd.Reason != want || len(fd.Contents) == 0 || fd.Contents[0] != 0x30 {
					t.Errorf("signature %d: reason %q, CMS starts %x; want %q and a DER SEQUENCE", i, fd.Reason, fd.Contents[:min(4, len(fd.Contents))], want)
				}
			}
		})
	}
}

// Documents the agent cannot sign say why, with a Problem a page can
// tell the user in Indonesian.
func TestEncryptedRefusals(t *testing.T) {
	s := newSigner(t, false)
	dir := t.TempDir()
	locked := filepath.Join(dir, "no-forms.pdf")
	if b, err := exec.Command("qpdf", "--encrypt", "", "owner-secret", "256", "--form=n", "--annotate=n", "--modify=none", "--",
		"testdata/go-minimal.pdf", locked).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v\n%s", err, b)
	}
	for _, tc := range []struct {
		file string
		want pades.Problem
	}{
		{locked, pades.ProblemPermissions},
		{"testdata/realworld/sf-libreoffice-writer-password.pdf", pades.ProblemEncrypted},
		{"testdata/bad-encrypted.pdf", pades.ProblemEncrypted},
		{"testdata/realworld/opf-303226.pdf", pades.ProblemBrokenXref},
	} {
		_, err := sign(t, s, tc.file, pades.Options{})
		if !errors.Is(err, pades.ErrInvalid) || pades.ProblemOf(err) != tc.want {
			t.Errorf("%s: %v (problem %q), want problem %q", filepath.Base(tc.file), err, pades.ProblemOf(err), tc.want)
		}
	}
}
