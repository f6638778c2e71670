package protocol

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// docs/protocol.md's table of error codes is the one the agent sends.
func TestReasonTableDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| (-32\\d{3}) \\| `([a-z_]+)` \\|").FindAllStringSubmatch(string(doc), -1)
	documented := map[Reason]int{}
	for _, r := range rows {
		code, _ := strconv.Atoi(r[1])
		documented[Reason(r[2])] = code
	}
	for reason, code := range reasonCodes {
		if documented[reason] != code {
			t.Errorf("docs/protocol.md: %s is %d, the agent sends %d", reason, documented[reason], code)
		}
	}
	if len(documented) != len(reasonCodes) {
		t.Errorf("docs/protocol.md documents %d reasons, the agent has %d", len(documented), len(reasonCodes))
	}
}

// The docs stand on their own: they cite nothing outside the repository.
func TestDocsSelfContained(t *testing.T) {
	files, _ := filepath.Glob("../docs/*.md")
	files = append(files, "../README.md", "../web/README.md")
	outside := regexp.MustCompile(`shared/|contract §|\]\(\.\./\.\./|brief\.md|protocol-v1`)
	link := regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if m := outside.FindString(line); m != "" {
				t.Errorf("%s:%d cites %q, outside the repository", f, i+1, m)
			}
			for _, l := range link.FindAllStringSubmatch(line, -1) {
				if _, err := os.Stat(filepath.Join(filepath.Dir(f), l[1])); err != nil {
					t.Errorf("%s:%d links to %s, which is not in the repository", f, i+1, l[1])
				}
			}
		}
	}
}
