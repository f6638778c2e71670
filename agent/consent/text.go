package consent

import (
	"fmt"
	"strings"
	"time"
)

// text is the wording of the dialog in one language.
type text struct {
	title, prompt, ok, cancel      string
	asks, cert, issuer, validUntil string
	documents, digests, more       string
	reason, location, contact      string
	appearance                     string
	qr, image, bsreFooter          string
	pinHint, padHint               string
	countLow, finalTry             string
	// The dialog of document.decrypt: documents opened for a site.
	openTitle, openOK, openAsks, openDocs, openPIN, openPad string
	// localTool names the user's own command line as the asking party.
	localTool string
	months    [12]string
	decimal   string
}

var texts = map[string]*text{
	"id": {
		title:      "Tanda Tangan Elektronik (tte-agent)",
		prompt:     "PIN:",
		ok:         "Tanda tangani",
		cancel:     "Batal",
		asks:       "Situs berikut meminta tanda tangan elektronik Anda:",
		cert:       "Sertifikat",
		issuer:     "Penerbit",
		validUntil: "Berlaku sampai",
		documents:  "Dokumen yang ditandatangani: %d (total %s)",
		digests:    "Nilai hash yang ditandatangani: %d (%s)",
		reason:     "Alasan",
		location:   "Lokasi",
		contact:    "Kontak",
		appearance: "Teks tanda tangan yang tampil",
		qr:         "Kode QR berisi",
		image:      "dengan gambar (spesimen tanda tangan atau cap)",
		bsreFooter: "dengan catatan kaki BSrE: dokumen ditandatangani secara elektronik",
		more:       "dan %d lainnya",
		pinHint:    "Masukkan PIN token untuk menandatangani, atau pilih Batal untuk menolak.",
		padHint:    "Pilih Tanda tangani, lalu masukkan PIN pada PIN pad token. Pilih Batal untuk menolak.",
		countLow:   "Peringatan: sisa percobaan PIN tinggal sedikit. Jika PIN salah lagi beberapa kali, token terkunci dan harus dibuka oleh admin (PUK).",
		finalTry:   "PERINGATAN: ini percobaan PIN TERAKHIR. Jika PIN salah, token terkunci dan tidak bisa dipakai sampai dibuka oleh admin (PUK).",
		openTitle:  "Buka Dokumen Terenkripsi (tte-agent)",
		openOK:     "Buka",
		openAsks:   "Situs berikut meminta membuka dokumen yang dienkripsi untuk Anda:",
		openDocs:   "Dokumen yang dibuka: %d (total %s). Isinya akan diberikan kepada situs ini.",
		openPIN:    "Masukkan PIN token untuk membuka dokumen, atau pilih Batal untuk menolak.",
		openPad:    "Pilih Buka, lalu masukkan PIN pada PIN pad token. Pilih Batal untuk menolak.",
		localTool:  "tte-agent di baris perintah komputer ini (bukan situs web)",
		months:     [12]string{"Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober", "November", "Desember"},
		decimal:    ",",
	},
	"en": {
		title:      "Electronic Signature (tte-agent)",
		prompt:     "PIN:",
		ok:         "Sign",
		cancel:     "Cancel",
		asks:       "This site asks for your electronic signature:",
		cert:       "Certificate",
		issuer:     "Issuer",
		validUntil: "Valid until",
		documents:  "Documents to sign: %d (total %s)",
		digests:    "Hash values to sign: %d (%s)",
		reason:     "Reason",
		location:   "Location",
		contact:    "Contact",
		appearance: "Visible signature text",
		qr:         "QR code holding",
		image:      "with an image (signature specimen or seal)",
		bsreFooter: "with BSrE's footer: the document is signed electronically",
		more:       "and %d more",
		pinHint:    "Enter the token PIN to sign, or choose Cancel to refuse.",
		padHint:    "Choose Sign, then enter the PIN on the token's PIN pad. Choose Cancel to refuse.",
		countLow:   "Warning: few PIN tries are left. After a few more wrong PINs the token locks and an administrator must unblock it (PUK).",
		finalTry:   "WARNING: this is the LAST PIN try. If the PIN is wrong, the token locks and cannot be used until an administrator unblocks it (PUK).",
		openTitle:  "Open Encrypted Documents (tte-agent)",
		openOK:     "Open",
		openAsks:   "This site asks to open documents encrypted to you:",
		openDocs:   "Documents to open: %d (total %s). Their content will be given to this site.",
		openPIN:    "Enter the token PIN to open the documents, or choose Cancel to refuse.",
		openPad:    "Choose Open, then enter the PIN on the token's PIN pad. Choose Cancel to refuse.",
		localTool:  "tte-agent on this computer's command line (not a web site)",
		months:     [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		decimal:    ".",
	},
}

func (t *text) date(d time.Time) string {
	d = d.Local()
	return fmt.Sprintf("%d %s %d", d.Day(), t.months[d.Month()-1], d.Year())
}

func (t *text) size(n int64) string {
	units := []string{"B", "KB", "MB", "GB"}
	v := float64(n)
	u := 0
	for v >= 1000 && u < len(units)-1 {
		v /= 1000
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d %s", n, units[0])
	}
	return strings.Replace(fmt.Sprintf("%.1f %s", v, units[u]), ".", t.decimal, 1)
}
