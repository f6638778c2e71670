package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The organisation's report reads every workstation's trail under a
// directory, verifies each on its own, names a tampered one without
// losing the others, and adds up the tables.
func TestSummarizeTree(t *testing.T) {
	root := t.TempDir()
	jan := time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
	fp := strings.Repeat("ab", 32)
	write := func(name string, recs ...Record) string {
		dir := filepath.Join(root, name)
		os.MkdirAll(dir, 0o755)
		l, err := Open(filepath.Join(dir, "audit.log"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := l.Append(r); err != nil {
				t.Fatal(err)
			}
		}
		l.Close()
		return filepath.Join(dir, "audit.log")
	}
	write("bagian-umum/pc-01/budi",
		Record{Time: jan, Event: EventResult, Origin: "https://eoffice.kota.go.id", Subject: "Budi", Certificate: fp, Count: 3, Outcome: "ok"},
		Record{Time: jan, Event: EventResult, Origin: "https://eoffice.kota.go.id", Subject: "Budi", Certificate: fp, Outcome: "pin_locked"})
	write("bagian-umum/pc-01/siti",
		Record{Time: jan, Event: EventResult, Origin: "https://eoffice.kota.go.id", Subject: "Budi", Certificate: fp, Count: 2, Outcome: "ok"})
	tampered := write("dinas-kesehatan/pc-07",
		Record{Time: jan, Event: EventResult, Origin: "https://eoffice.kota.go.id", Subject: "Dewi", Certificate: fp, Count: 5, Outcome: "ok"},
		Record{Time: jan, Event: EventResult, Origin: "https://eoffice.kota.go.id", Outcome: "user_cancelled"})
	data, _ := os.ReadFile(tampered)
	os.WriteFile(tampered, []byte(strings.Replace(string(data), `"count":5`, `"count":1`, 1)), 0o600)
	os.Symlink(filepath.Join(root, "bagian-umum"), filepath.Join(root, "loop")) // not followed

	org, err := SummarizeTree(root, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(org.Workstations) != 3 || org.Intact {
		t.Fatalf("workstations %+v, intact %v", org.Workstations, org.Intact)
	}
	byName := map[string]WorkstationReport{}
	for _, w := range org.Workstations {
		byName[w.Name] = w
	}
	if w := byName["bagian-umum/pc-01/budi"]; !w.Intact || w.Items != 3 || w.Incidents != 1 || w.Failures != 1 {
		t.Errorf("budi: %+v", w)
	}
	if w := byName["dinas-kesehatan/pc-07"]; w.Intact || w.Problem == "" {
		t.Errorf("the tampered trail is not named: %+v", w)
	}
	items := 0
	for _, c := range org.Signatures {
		items += c.Items
	}
	if items != 3+2+1 || org.Failures["pin_locked"] != 1 || len(org.Incidents) != 1 || org.Incidents[0].Workstation != "bagian-umum/pc-01/budi" {
		t.Errorf("totals: %d items, failures %v, incidents %+v", items, org.Failures, org.Incidents)
	}
	var text, csvOut, js strings.Builder
	org.WriteText(&text)
	org.WriteCSV(&csvOut)
	org.WriteJSON(&js)
	for _, want := range []string{"3 workstations, 2 intact, 1 NOT INTACT", "dinas-kesehatan/pc-07", "NOT INTACT: ", "total signed items: 6"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(csvOut.String(), "workstation,bagian-umum/pc-01/siti") || !strings.Contains(js.String(), `"workstation": "bagian-umum/pc-01/budi"`) {
		t.Errorf("csv or json:\n%s\n%s", csvOut.String(), js.String())
	}
	if _, err := SummarizeTree(t.TempDir(), org.From, org.To); err == nil {
		t.Error("an empty collection gave a report")
	}
}
