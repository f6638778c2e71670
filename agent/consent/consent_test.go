package consent

import (
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/agent/pinentry"
)

func names(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestDialog(t *testing.T) {
	base := Request{
		Origin:        "https://eoffice.denpasarkota.go.id",
		Subject:       "Budi Santoso",
		Issuer:        "OSD BSrE",
		NotAfter:      time.Date(2027, 12, 31, 12, 0, 0, 0, time.Local),
		HashAlgorithm: "SHA-256",
	}
	tests := []struct {
		name    string
		lang    string
		mod     func(r *Request)
		want    []string
		notWant []string
		err     string
	}{
		{
			name: "digests in Indonesian",
			mod:  func(r *Request) { r.Digests = true; r.Items = []string{"surat-001", "surat-002"}; r.PINStatus = "ok" },
			want: []string{"https://eoffice.denpasarkota.go.id", "Sertifikat: Budi Santoso", "Penerbit: OSD BSrE",
				"Berlaku sampai: 31 Desember 2027", "Nilai hash yang ditandatangani: 2 (SHA-256)", "  - surat-001\n", "  - surat-002\n", "Masukkan PIN"},
			notWant: []string{"lainnya"},
		},
		{
			name: "fifteen documents",
			mod: func(r *Request) {
				r.Items = names(15, func(i int) string { return "surat-" + string(rune('a'+i)) + ".pdf" })
				r.TotalBytes = 1_234_567
			},
			want:    []string{"Dokumen yang ditandatangani: 15 (total 1,2 MB)", "surat-j.pdf", "dan 5 lainnya"},
			notWant: []string{"surat-k.pdf"},
		},
		{
			name: "hostile names",
			mod: func(r *Request) {
				r.Digests = true
				r.Items = []string{"a\nGETPIN", "\u202Etxt.exe", "100%", strings.Repeat("x", 10000)}
			},
			want:    []string{"a?GETPIN", "?txt.exe", "100%", strings.Repeat("x", 59) + "…"},
			notWant: []string{"\nGETPIN", "\u202E", strings.Repeat("x", 61)},
		},
		{
			name: "one upload and 999 digests",
			mod: func(r *Request) {
				r.Items = names(1000, func(i int) string { return "d" })
				r.TotalBytes, r.DigestItems = 13, 999
			},
			want: []string{"Dokumen yang ditandatangani: 1 (total 13 B)", "Nilai hash yang ditandatangani: 999 (SHA-256)"},
		},
		{
			name: "PDF reason, location and appearance",
			mod: func(r *Request) {
				r.Items = []string{"surat.pdf"}
				r.Reason, r.Location, r.ContactInfo = "Menyetujui", "Denpasar", "budi@denpasarkota.go.id"
				r.AppearanceText = []string{"Ditandatangani oleh", "Ni Luh Putu Ayu Wijayanti, S.E., M.Ak."}
			},
			want: []string{"Alasan: Menyetujui", "Lokasi: Denpasar", "Kontak: budi@denpasarkota.go.id",
				"Teks tanda tangan yang tampil:\n  | Ditandatangani oleh\n  | Ni Luh Putu Ayu Wijayanti, S.E., M.Ak."},
		},
		{
			name: "fillers, space runs and stacked marks",
			mod: func(r *Request) {
				r.Digests = true
				r.Items = []string{"ㅤㅤㅤsurat", "a" + strings.Repeat(" ", 200) + "b", "e" + strings.Repeat("́", 40) + "x", "⠀⠀"}
			},
			want:    []string{"  -  surat\n", "  - a b\n", "  - é́x\n", "  -  \n"},
			notWant: []string{"ㅤ", "  b", "́́́", "⠀"},
		},
		{
			name: "final try",
			mod:  func(r *Request) { r.Digests = true; r.Items = []string{"a"}; r.PINStatus = "final_try" },
			err:  "TERAKHIR",
		},
		{
			name: "count low",
			mod:  func(r *Request) { r.Digests = true; r.Items = []string{"a"}; r.PINStatus = "count_low" },
			err:  "sisa percobaan PIN",
		},
		{
			name: "PIN pad",
			mod:  func(r *Request) { r.Digests = true; r.Items = []string{"a"}; r.PINPad = true },
			want: []string{"PIN pad"},
		},
		{
			name: "English",
			lang: "en",
			mod:  func(r *Request) { r.Items = []string{"letter.pdf"}; r.TotalBytes = 999 },
			want: []string{"This site asks", "Valid until: 31 December 2027", "Documents to sign: 1 (total 999 B)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.mod(&r)
			lang := tt.lang
			if lang == "" {
				lang = "id"
			}
			d := Dialog(lang, r)
			for _, w := range tt.want {
				if !strings.Contains(d.Description, w) {
					t.Errorf("description lacks %q:\n%s", w, d.Description)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(d.Description, w) {
					t.Errorf("description has %q:\n%s", w, d.Description)
				}
			}
			if !strings.Contains(d.Error, tt.err) || (tt.err == "" && d.Error != "") {
				t.Errorf("error line = %q, want %q", d.Error, tt.err)
			}
			if pinentry.EscapedLen(d.Description) > descBudget {
				t.Errorf("description takes %d escaped bytes, over %d", pinentry.EscapedLen(d.Description), descBudget)
			}
		})
	}
}

func TestDialogFitsWithLongNames(t *testing.T) {
	r := Request{Origin: "https://a.go.id", Subject: strings.Repeat("ש", 500), Issuer: "CA",
		Items: names(1000, func(int) string { return strings.Repeat("€%", 100) })}
	d := Dialog("id", r)
	if n := pinentry.EscapedLen(d.Description); n > descBudget {
		t.Fatalf("description takes %d escaped bytes, over %d", n, descBudget)
	}
	if !strings.Contains(d.Description, "lainnya") {
		t.Errorf("the remaining count is missing:\n%s", d.Description)
	}
}

// Signed texts are shown whole or the request is refused.
func TestFits(t *testing.T) {
	base := Request{Origin: "https://a.go.id", Subject: "Budi", Issuer: "CA", Items: []string{"surat.pdf"}}
	tests := []struct {
		name string
		mod  func(r *Request)
		fits bool
	}{
		{"plain", func(r *Request) { r.Reason = "Menyetujui"; r.AppearanceText = []string{"Budi Santoso"} }, true},
		{"long reason", func(r *Request) { r.Reason = strings.Repeat("a", 61) }, false},
		{"hidden characters", func(r *Request) { r.Location = "Denpasar\u202E" }, false},
		{"space run", func(r *Request) { r.AppearanceText = []string{"a    b"} }, false},
		{"too much together", func(r *Request) {
			r.AppearanceText = names(40, func(int) string { return strings.Repeat("x", 60) })
		}, false},
	}
	for _, tt := range tests {
		r := base
		tt.mod(&r)
		if got := Fits("id", r); got != tt.fits {
			t.Errorf("%s: Fits = %v, want %v", tt.name, got, tt.fits)
		}
	}
}
