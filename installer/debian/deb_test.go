package debian

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run scripts/install-deps.sh test", tool)
		}
	}
}

// buildDeb builds the agent and the .deb as `make deb` does.
func buildDeb(t *testing.T) string {
	t.Helper()
	need(t, "dpkg-deb")
	dir := t.TempDir()
	bin := filepath.Join(dir, "tte-agent")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/tte-agent/tte-agent/cmd/tte-agent").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	deb := filepath.Join(dir, "tte-agent_0.1.99_amd64.deb")
	if out, err := exec.Command("./build-deb.sh", bin, "0.1.99", deb).CombinedOutput(); err != nil {
		t.Fatalf("build-deb.sh: %v\n%s", err, out)
	}
	return deb
}

// TestDebContents: the package holds the agent, the user unit, the policy
// as a conffile, every guide doctor's fixes point to and the man page, all
// owned by root.
func TestDebContents(t *testing.T) {
	deb := buildDeb(t)
	out, err := exec.Command("dpkg-deb", "-c", deb).CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"-rwxr-xr-x root/root", "./usr/bin/tte-agent",
		"./usr/lib/systemd/user/tte-agent.service", "./etc/tte-agent/policy.toml",
		"./usr/share/doc/tte-agent/deployment.md", "./usr/share/doc/tte-agent/protocol.md", "./usr/share/doc/tte-agent/metrics.md",
		"./usr/share/doc/tte-agent/security.md", "./usr/share/doc/tte-agent/integration.md", "./usr/share/man/man1/tte-agent.1.gz",
		"./etc/opt/chrome/native-messaging-hosts/id.tte_agent.json", "./etc/chromium/native-messaging-hosts/id.tte_agent.json",
		"./etc/opt/edge/native-messaging-hosts/id.tte_agent.json", "./usr/lib/mozilla/native-messaging-hosts/id.tte_agent.json",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dpkg-deb -c lacks %q:\n%s", want, out)
		}
	}
	info, _ := exec.Command("dpkg-deb", "-I", deb).CombinedOutput()
	for _, want := range []string{"Package: tte-agent", "Version: 0.1.99", "Architecture: amd64", "postinst", "prerm", "conffiles"} {
		if !strings.Contains(string(info), want) {
			t.Errorf("dpkg-deb -I lacks %q:\n%s", want, info)
		}
	}
}

// TestDebInstall installs the package on this machine (CI runs as root),
// checks what a user gets, and purges it again.
func TestDebInstall(t *testing.T) {
	need(t, "dpkg", "systemd-analyze")
	if os.Getuid() != 0 {
		t.Fatal("installing the .deb needs root: run make test as root (CI does)")
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "tte-agent").CombinedOutput(); err == nil && strings.Contains(string(out), "installed") {
		t.Fatalf("tte-agent is already installed on this machine; remove it first (dpkg -P tte-agent)")
	}
	deb := buildDeb(t)
	if out, err := exec.Command("dpkg", "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	defer func() {
		if out, err := exec.Command("dpkg", "-P", "tte-agent").CombinedOutput(); err != nil {
			t.Errorf("dpkg -P: %v\n%s", err, out)
		}
		for _, p := range []string{"/usr/bin/tte-agent", "/etc/tte-agent/policy.toml", "/etc/systemd/user/default.target.wants/tte-agent.service"} {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("%s is left after purge", p)
			}
		}
	}()
	out, err := exec.Command("/usr/bin/tte-agent", "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "tte-agent ") {
		t.Errorf("/usr/bin/tte-agent version: %v %s", err, out)
	}
	if target, err := os.Readlink("/etc/systemd/user/default.target.wants/tte-agent.service"); err != nil || !strings.HasSuffix(target, "/tte-agent.service") {
		t.Errorf("the user unit is not enabled for every user: %q %v", target, err)
	}
	unit := "/usr/lib/systemd/user/tte-agent.service"
	cmd := exec.Command("systemd-analyze", "--user", "verify", unit)
	rt := t.TempDir()
	os.Chmod(rt, 0o700)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+rt)
	if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), "tte-agent.service") {
		t.Errorf("systemd-analyze --user verify %s: %v\n%s", unit, err, out)
	}
	// The host manifests name the installed program and the extension.
	for _, f := range []string{"/etc/chromium/native-messaging-hosts/id.tte_agent.json", "/usr/lib/mozilla/native-messaging-hosts/id.tte_agent.json"} {
		data, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(data), `"path": "/usr/bin/tte-agent"`) || !strings.Contains(string(data), "id.tte_agent") {
			t.Errorf("%s: %v\n%s", f, err, data)
		}
	}
	// The installed policy template loads, and allows nothing by itself.
	out, _ = exec.Command("/usr/bin/tte-agent", "doctor", "--config", "/dev/null").CombinedOutput()
	if !strings.Contains(string(out), "ok       configuration /dev/null, policy /etc/tte-agent/policy.toml") ||
		!strings.Contains(string(out), "no e-office origin is allowed") {
		t.Errorf("doctor with the shipped policy:\n%s", out)
	}
}
