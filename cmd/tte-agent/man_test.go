package main

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// The manual page has a section for every command the usage lists, each
// flag of each command (from its own flag set), and renders in groff
// without a warning.
func TestManPage(t *testing.T) {
	var page bytes.Buffer
	if err := cmdMan(&page); err != nil {
		t.Fatal(err)
	}
	text := page.String()
	commands := regexp.MustCompile(`(?m)^  ([a-z]+(?: [a-z|]+)?)(?: |$)`).FindAllStringSubmatch(usage, -1)
	if len(commands) < 10 {
		t.Fatalf("found %d commands in the usage", len(commands))
	}
	for _, m := range commands {
		words := strings.Fields(m[1])
		for _, sub := range strings.Split(words[len(words)-1], "|") {
			name := words[0]
			if len(words) > 1 {
				name += " " + sub
			}
			if !strings.Contains(text, `.SS "tte-agent `+name+`"`) {
				t.Errorf("the man page has no section for %q", name)
			}
		}
	}
	for _, flag := range []string{`\-\-origins`, `\-\-modules`, `\-\-json`, `\-\-online`, `\-\-system`, `\-\-from`, `\-\-policy`} {
		if !strings.Contains(text, ".B "+flag) {
			t.Errorf("the man page does not list %s", flag)
		}
	}
	if _, err := exec.LookPath("groff"); err != nil {
		t.Fatal("groff is not installed (groff-base): run scripts/install-deps.sh test")
	}
	cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = &page
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff: %v\n%s", err, out)
	}
}
