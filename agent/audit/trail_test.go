package audit

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tte-agent/tte-agent/tsa"
	"github.com/tte-agent/tte-agent/tsa/tsatest"
)

// Verify reads only exact records: a line that readers could take two
// ways, or that is not what the agent writes, is not intact, nor is an
// empty or cut-off trail.
func TestVerifyIsStrict(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(path string, l []string) []string
		why    string
	}{
		{"case-variant duplicate member", func(_ string, l []string) []string {
			l[3] = strings.Replace(l[3], `"origin":"https://eoffice.example.go.id"`, `"origin":"https://eoffice.example.go.id","ORIGIN":"https://evil.example"`, 1)
			return l
		}, "not a record as the agent writes it"},
		{"unknown member", func(_ string, l []string) []string {
			l[2] = strings.Replace(l[2], `{"seq"`, `{"note":"x","seq"`, 1)
			return l
		}, "damaged line"},
		{"other spacing", func(_ string, l []string) []string {
			l[5] = strings.Replace(l[5], `,"event"`, `, "event"`, 1)
			return l
		}, "not a record as the agent writes it"},
		{"empty", func(string, []string) []string { return nil }, "empty"},
		{"cut-off last record", func(path string, l []string) []string {
			l[len(l)-1] = l[len(l)-1][:40]
			return l
		}, "cut off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTrail(t, 10, 0)
			ls := tt.tamper(path, lines(t, path))
			data := strings.Join(ls, "\n")
			if tt.name != "cut-off last record" && len(ls) > 0 {
				data += "\n"
			}
			os.WriteFile(path, []byte(data), 0o600)
			if _, err := Verify(path); err == nil || !strings.Contains(err.Error(), tt.why) {
				t.Errorf("Verify = %v, want %q", err, tt.why)
			}
			if rep, err := Summarize(path, time0, timeMax); err != nil || rep.Intact {
				t.Errorf("report: %v, intact %v", err, rep != nil && rep.Intact)
			}
		})
	}
}

// Only files named as rotation names them belong to the trail.
func TestStrayFilesIgnored(t *testing.T) {
	path := writeTrail(t, 5, 0)
	os.WriteFile(path+".bak", []byte("{garbage\n"), 0o600)
	os.WriteFile(path+".20260101T000000.000000000.old", []byte("{garbage\n"), 0o600)
	if n, err := Verify(path); err != nil || n != 5 {
		t.Errorf("Verify = %d, %v", n, err)
	}
}

// The trail and its directory are never opened through a symbolic link.
func TestSymlinksRefused(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	os.WriteFile(target, nil, 0o600)
	trail := filepath.Join(dir, "audit", "audit.log")
	os.MkdirAll(filepath.Dir(trail), 0o700)
	os.Symlink(target, trail)
	if _, err := Open(trail, Options{}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Open through a linked file: %v", err)
	}
	linkedDir := filepath.Join(dir, "linked")
	os.Symlink(filepath.Join(dir, "audit"), linkedDir)
	if _, err := Open(filepath.Join(linkedDir, "x.log"), Options{}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Open in a linked directory: %v", err)
	}
}

// A write cut by a crash or a full disk leaves a torn last line: the next
// start keeps it aside, records an incident, and the chain verifies.
func TestTornTailRecovered(t *testing.T) {
	path := writeTrail(t, 4, 0)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":5,"time":"2026-`)
	f.Close()
	if _, err := Verify(path); err == nil {
		t.Fatal("a torn trail verified")
	}
	l, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("the agent would not start: %v", err)
	}
	if err := l.Append(Record{Event: EventStart}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if n, err := Verify(path); err != nil || n != 6 {
		t.Fatalf("after recovery: %d, %v", n, err)
	}
	ls := lines(t, path)
	if !strings.Contains(ls[4], `"event":"incident"`) || !strings.Contains(ls[4], IncidentTorn) {
		t.Errorf("no incident record: %s", ls[4])
	}
	kept, _ := filepath.Glob(path + ".damaged-*")
	if len(kept) != 1 {
		t.Fatalf("damaged bytes kept in %v", kept)
	}
	if data, _ := os.ReadFile(kept[0]); string(data) != `{"seq":5,"time":"2026-` {
		t.Errorf("kept %q", data)
	}
	rep, _ := Summarize(path, time0, timeMax)
	if len(rep.Incidents) != 1 || rep.Incidents[0].Kind != IncidentTorn {
		t.Errorf("report incidents %+v", rep.Incidents)
	}
}

// Anchors time-stamped by a TSA catch what the chain alone cannot: the
// last records deleted, and a history edited with every hash recomputed.
func TestAnchorsCatchCutsAndRewrites(t *testing.T) {
	ts := tsatest.Start(t)
	client := tsa.New(ts.URL)
	anchored := func(t *testing.T) string {
		path := writeTrail(t, 30, 0)
		l, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Anchor(context.Background(), client); err != nil {
			t.Fatal(err)
		}
		l.Close()
		if n, err := Verify(path); err != nil || n != 30 {
			t.Fatalf("anchored trail: %d, %v", n, err)
		}
		return path
	}
	t.Run("last record deleted", func(t *testing.T) {
		path := anchored(t)
		rewrite(t, path, lines(t, path)[:29])
		if _, err := Verify(path); err == nil || !strings.Contains(err.Error(), "deleted from the end") {
			t.Errorf("Verify = %v", err)
		}
	})
	t.Run("last 20 deleted", func(t *testing.T) {
		path := anchored(t)
		rewrite(t, path, lines(t, path)[:10])
		if _, err := Verify(path); err == nil || !strings.Contains(err.Error(), "records 11 to 30 are missing") {
			t.Errorf("Verify = %v", err)
		}
	})
	t.Run("history recomputed", func(t *testing.T) {
		path := anchored(t)
		ls := lines(t, path)
		prev := ""
		for i, line := range ls {
			var r Record
			json.Unmarshal([]byte(line), &r)
			if i == 3 {
				r.Outcome = "user_cancelled"
			}
			r.Prev = prev
			r.Hash = r.hash()
			prev = r.Hash
			data, _ := json.Marshal(r)
			ls[i] = string(data)
		}
		rewrite(t, path, ls)
		if _, err := Verify(path); err == nil || !strings.Contains(err.Error(), "rewritten") {
			t.Errorf("Verify = %v", err)
		}
	})
	t.Run("anchor forged", func(t *testing.T) {
		path := anchored(t)
		data, _ := os.ReadFile(AnchorsPath(path))
		os.WriteFile(AnchorsPath(path), []byte(strings.Replace(string(data), `"seq":30`, `"seq":29`, 1)), 0o600)
		if _, err := Verify(path); err == nil || !strings.Contains(err.Error(), "forged") {
			t.Errorf("Verify = %v", err)
		}
	})
}

// The trail's files stay within MaxTotalBytes; the oldest go only after
// they are summarised, so the chain still verifies and the report still
// counts every signature.
func TestPruningKeepsTheCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit", "audit.log")
	l, err := Open(path, Options{MaxBytes: 4096, MaxTotalBytes: 12288})
	if err != nil {
		t.Fatal(err)
	}
	for range 300 {
		if err := l.Append(Record{Event: EventResult, Origin: "https://eoffice.example.go.id", Method: "sign.pdf", Count: 2, Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	files, _ := Files(path)
	var total int64
	for _, f := range files {
		fi, _ := os.Stat(f)
		total += fi.Size()
	}
	if total > 12288+4096 {
		t.Errorf("the trail takes %d bytes in %d files", total, len(files))
	}
	if n, err := Verify(path); err != nil {
		t.Fatalf("Verify after pruning = %d, %v", n, err)
	}
	rep, err := Summarize(path, time0, timeMax)
	if err != nil || !rep.Intact {
		t.Fatalf("report: %v %+v", err, rep)
	}
	requests, items := 0, 0
	for _, s := range rep.Signatures {
		requests += s.Requests
		items += s.Items
	}
	if requests != 300 || items != 600 {
		t.Errorf("report after pruning counts %d requests, %d items; want 300, 600", requests, items)
	}
	// Deleting the oldest remaining file is still caught.
	os.Remove(files[0])
	if _, err := Verify(path); err == nil {
		t.Error("a deleted file verified")
	}
}

// TestWholeOrNothing fills the file-size limit (as a full disk would) in
// a child process: the record that does not fit is not half-written, the
// next start needs no repair, and the chain verifies.
func TestWholeOrNothing(t *testing.T) {
	if os.Getenv("AUDIT_FULL_DISK_CHILD") != "" {
		l, err := Open(os.Getenv("AUDIT_FULL_DISK_CHILD"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		failed := 0
		for range 200 {
			if err := l.Append(Record{Event: EventResult, Origin: strings.Repeat("o", 300), Outcome: "ok"}); err != nil {
				failed++
			}
		}
		if failed == 0 {
			t.Fatal("no write failed")
		}
		return
	}
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Fatal("prlimit (util-linux) is not installed")
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	// Files may grow to 20,000 bytes: a record crossing it is cut short
	// (EFBIG, SIGXFSZ ignored by the Go runtime).
	cmd := exec.Command("prlimit", "--fsize=20000", os.Args[0], "-test.run=^TestWholeOrNothing$")
	cmd.Env = append(os.Environ(), "AUDIT_FULL_DISK_CHILD="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(path)
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatalf("the trail ends in a partial record (%d bytes)", len(data))
	}
	if _, err := Verify(path); err != nil {
		t.Errorf("Verify = %v", err)
	}
	if _, err := Open(path, Options{}); err != nil {
		t.Errorf("Open = %v", err)
	}
	if kept, _ := filepath.Glob(path + ".damaged-*"); len(kept) != 0 {
		t.Errorf("a repair was needed: %v", kept)
	}
}

// time0 and timeMax bound every record's time.
var (
	time0   = time.Unix(0, 0)
	timeMax = time.Now().AddDate(10, 0, 0)
)
