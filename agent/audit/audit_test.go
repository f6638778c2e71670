package audit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeTrail(t *testing.T, n int, maxBytes int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit", "audit.log")
	l, err := Open(path, Options{MaxBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := l.Append(Record{Event: EventResult, Origin: "https://eoffice.example.go.id", Method: "sign.digest",
			Items: []Item{{Name: "surat", Digest: "ab"}}, Count: i, Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	return path
}

func lines(t *testing.T, path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(data), "\n"), "\n")
}

func rewrite(t *testing.T, path string, ls []string) {
	if err := os.WriteFile(path, []byte(strings.Join(ls, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func([]string) []string
		line   int
		why    string
	}{
		{"untouched", func(l []string) []string { return l }, 0, ""},
		{"edited", func(l []string) []string {
			l[4] = strings.Replace(l[4], `"outcome":"ok"`, `"outcome":"user_cancelled"`, 1)
			return l
		}, 5, "edited"},
		{"deleted", func(l []string) []string { return append(l[:3], l[4:]...) }, 4, "missing"},
		{"inserted", func(l []string) []string { return append(l[:6], append([]string{l[2]}, l[6:]...)...) }, 7, "inserted or reordered"},
		{"reordered", func(l []string) []string { l[5], l[6] = l[6], l[5]; return l }, 6, "missing"},
		{"damaged", func(l []string) []string { l[8] = "{garbage"; return l }, 9, "damaged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTrail(t, 10, 0)
			rewrite(t, path, tt.tamper(lines(t, path)))
			n, err := Verify(path)
			if tt.why == "" {
				if err != nil || n != 10 {
					t.Fatalf("Verify = %d, %v; want 10 records", n, err)
				}
				return
			}
			var p *Problem
			if !errors.As(err, &p) || p.Line != tt.line || !strings.Contains(p.Why, tt.why) {
				t.Fatalf("Verify = %v, want line %d saying %q", err, tt.line, tt.why)
			}
		})
	}
}

func TestRotationKeepsTheChain(t *testing.T) {
	path := writeTrail(t, 40, 2000)
	files, err := Files(path)
	if err != nil || len(files) < 3 {
		t.Fatalf("files = %v, %v; want several after rotation", files, err)
	}
	if n, err := Verify(path); err != nil || n != 40 {
		t.Fatalf("Verify across rotated files = %d, %v", n, err)
	}
	// Reopening continues the sequence and the chain.
	l, err := Open(path, Options{MaxBytes: 2000})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(Record{Event: EventStart})
	l.Close()
	if n, err := Verify(path); err != nil || n != 41 {
		t.Fatalf("Verify after reopening = %d, %v", n, err)
	}
	// Deleting a whole rotated file breaks the chain.
	os.Remove(files[1])
	if _, err := Verify(path); err == nil {
		t.Error("a deleted rotated file went unnoticed")
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
}

func TestReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	jan := time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
	feb := time.Date(2026, 2, 3, 9, 0, 0, 0, time.UTC)
	fp := strings.Repeat("ab", 32)
	for _, r := range []Record{
		{Time: jan, Event: EventResult, Origin: "https://a.go.id", Subject: "Budi", Certificate: fp, Count: 3, Outcome: "ok"},
		{Time: jan, Event: EventResult, Origin: "https://a.go.id", Subject: "Budi", Certificate: fp, Count: 2, Outcome: "ok"},
		{Time: feb, Event: EventResult, Origin: "https://b.go.id", Subject: "Budi", Certificate: fp, Count: 1, Outcome: "ok"},
		{Time: feb, Event: EventResult, Origin: "https://a.go.id", Outcome: "user_cancelled"},
		{Time: feb, Event: EventResult, Origin: "https://a.go.id", Subject: "Budi", Certificate: fp, Outcome: "pin_locked"},
		{Time: feb, Event: EventRefused, Origin: "https://evil.example", Outcome: "forbidden"},
		{Time: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Event: EventResult, Origin: "https://a.go.id", Count: 9, Outcome: "ok"},
	} {
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	rep, err := Summarize(path, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Intact || len(rep.Signatures) != 2 || rep.Signatures[0].Items != 5 || rep.Signatures[0].Requests != 2 ||
		rep.Signatures[1].Month != "2026-02" || rep.Signatures[1].Origin != "https://b.go.id" {
		t.Errorf("signatures = %+v", rep.Signatures)
	}
	if rep.Failures["user_cancelled"] != 1 || rep.Failures["pin_locked"] != 1 || rep.Failures["forbidden"] != 1 {
		t.Errorf("failures = %v", rep.Failures)
	}
	if len(rep.Incidents) != 1 || rep.Incidents[0].Kind != "pin_locked" {
		t.Errorf("incidents = %+v", rep.Incidents)
	}
	var text, csvOut, js strings.Builder
	rep.WriteText(&text)
	rep.WriteCSV(&csvOut)
	rep.WriteJSON(&js)
	for _, w := range []string{"intact", "2026-01", "https://a.go.id", "Budi (abababababababab)", "total signed items: 6", "pin_locked"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("text report lacks %q:\n%s", w, text.String())
		}
	}
	if !strings.Contains(csvOut.String(), "signatures,2026-01,https://a.go.id,Budi (abababababababab),2,5") {
		t.Errorf("CSV:\n%s", csvOut.String())
	}
	if !strings.Contains(js.String(), `"month": "2026-02"`) {
		t.Errorf("JSON:\n%s", js.String())
	}
}
