//go:build linux

package windows

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMSI builds the MSI as `make msi` does, checks its tables with
// msiinfo, then installs it silently under wine with ORIGINS and MODULES,
// checks the program, the logon start and the policy, and uninstalls it
// cleanly.
func TestMSI(t *testing.T) {
	need(t, "x86_64-w64-mingw32-gcc", "wixl", "msiinfo", "msibuild")
	pfx := prefix(t)
	exe := buildExe(t, "github.com/tte-agent/tte-agent/cmd/tte-agent")
	exew := buildExe(t, "github.com/tte-agent/tte-agent/cmd/tte-agent", "-H", "windowsgui")
	msi := filepath.Join(t.TempDir(), "tte-agent-0.1.99-x64.msi")
	if out, err := exec.Command("./build-msi.sh", exe, exew, "0.1.99", msi).CombinedOutput(); err != nil {
		t.Fatalf("build-msi.sh: %v\n%s", err, out)
	}
	table := func(name string) string {
		out, err := exec.Command("msiinfo", "export", msi, name).CombinedOutput()
		if err != nil {
			t.Fatalf("msiinfo export %s: %v\n%s", name, err, out)
		}
		return string(out)
	}
	for _, c := range []struct{ table, want string }{
		{"File", "tte-agent.exe"},
		{"File", "tte-agentw.exe"},
		{"File", "native-host-chromium.json"},
		{"Registry", `SOFTWARE\Google\Chrome\NativeMessagingHosts\id.tte_agent		[INSTALLDIR]native-host-chromium.json`},
		{"Registry", `SOFTWARE\Microsoft\Edge\NativeMessagingHosts\id.tte_agent		[INSTALLDIR]native-host-chromium.json`},
		{"Registry", `SOFTWARE\Mozilla\NativeMessagingHosts\id.tte_agent		[INSTALLDIR]native-host-firefox.json`},
		{"Registry", `Software\Microsoft\Windows\CurrentVersion\Run	tte-agent	"[INSTALLDIR]tte-agentw.exe" run --background`},
		{"CustomAction", `policy write --origins "[ORIGINS]" --modules "[MODULES]" --trust-anchors "[TRUSTANCHORS]" --tsa-url "[TSAURL]" --revocation "[REVOCATION]" --metrics-listen "[METRICSLISTEN]" --metrics-web-config "[METRICSWEBCONFIG]"`},
		{"CustomAction", "policy remove"},
		{"Property", "ProductVersion	0.1.99"},
		{"Property", "SecureCustomProperties	WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;ORIGINS;MODULES;TRUSTANCHORS;TSAURL;REVOCATION;METRICSLISTEN;METRICSWEBCONFIG"},
		{"Property", "ALLUSERS	1"},
		{"Upgrade", "{6F1D2C3E-8A4B-4C5D-9E6F-7A8B9C0D1E2F}"},
	} {
		if got := table(c.table); !strings.Contains(strings.ToUpper(got), strings.ToUpper(c.want)) {
			t.Errorf("MSI table %s lacks %q:\n%s", c.table, c.want, got)
		}
	}

	wine := func(args ...string) string {
		out, err := exec.Command(wine64(), args...).CombinedOutput()
		if err != nil {
			t.Logf("wine %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}
	runKey := `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`
	wine("msiexec", "/i", winPath(msi), "/qn", "ORIGINS=https://eoffice.kota.go.id,https://arsip.kota.go.id=documents+digest", `MODULES=C:\Windows\System32\eps2003csp11.dll`,
		"TSAURL=http://tsa.kota.go.id/", "REVOCATION=require")
	installed := filepath.Join(pfx, "drive_c", "Program Files", "tte-agent", "tte-agent.exe")
	if _, err := os.Stat(installed); err != nil {
		t.Fatalf("after msiexec /i: %v", err)
	}
	policy := filepath.Join(pfx, "drive_c", "ProgramData", "tte-agent", "policy.toml")
	data, err := os.ReadFile(policy)
	if err != nil {
		t.Fatalf("the policy was not written: %v", err)
	}
	for _, want := range []string{"origin = 'https://eoffice.kota.go.id'\nallow = ['documents']", "origin = 'https://arsip.kota.go.id'\nallow = ['documents', 'digest']", `modules = ['C:\Windows\System32\eps2003csp11.dll']`,
		"[tsa]\nurl = 'http://tsa.kota.go.id/'", "[revocation]\nmode = 'require'"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("policy lacks %q:\n%s", want, data)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(installed), "tte-agentw.exe")); err != nil {
		t.Errorf("the console-less agent is not installed: %v", err)
	}
	if reg := wine("reg", "query", `HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\tte-agent`, "/v", "EventMessageFile"); !strings.Contains(strings.ToLower(reg), `eventcreate.exe`) {
		t.Errorf("the event log source is not registered:\n%s", reg)
	}
	if reg := wine("reg", "query", runKey, "/v", "tte-agent"); !strings.Contains(reg, `"C:\Program Files\tte-agent\tte-agentw.exe" run --background`) {
		t.Errorf("Run entry after install:\n%s", reg)
	}
	// policy write wrote the browsers' policies for the same origins, and
	// the host manifest the browsers find names the installed program.
	for _, key := range []string{`HKLM\SOFTWARE\Policies\Google\Chrome\LocalNetworkAccessAllowedForUrls`, `HKLM\SOFTWARE\Policies\Microsoft\Edge\LoopbackNetworkAllowedForUrls`} {
		if reg := wine("reg", "query", key); !strings.Contains(reg, "https://eoffice.kota.go.id") || !strings.Contains(reg, "https://arsip.kota.go.id") {
			t.Errorf("%s after install:\n%s", key, reg)
		}
	}
	manifest, err := os.ReadFile(filepath.Join(filepath.Dir(installed), "native-host-chromium.json"))
	if err != nil || !strings.Contains(string(manifest), `"path": "tte-agent.exe"`) || !strings.Contains(string(manifest), "chrome-extension://") {
		t.Errorf("the installed host manifest: %v\n%s", err, manifest)
	}
	// The installed agent reads the policy the installer wrote: it goes
	// for the policy's module, which this prefix does not have.
	if out := wine(installed, "tokens"); !strings.Contains(out, `failed to load PKCS#11 module C:\Windows\System32\eps2003csp11.dll`) {
		t.Errorf("the installed agent did not use its policy's module:\n%s", out)
	}

	wine("msiexec", "/x", winPath(msi), "/qn")
	for _, p := range []string{installed, filepath.Join(filepath.Dir(installed), "tte-agentw.exe"), policy, filepath.Dir(policy)} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s is left after uninstall", p)
		}
	}
	if reg := wine("reg", "query", runKey, "/v", "tte-agent"); strings.Contains(reg, "tte-agent.exe") {
		t.Errorf("Run entry left after uninstall:\n%s", reg)
	}
	for _, key := range []string{`HKLM\SOFTWARE\Policies\Google\Chrome\LocalNetworkAccessAllowedForUrls`, `HKLM\SOFTWARE\Google\Chrome\NativeMessagingHosts\id.tte_agent`} {
		if reg := wine("reg", "query", key); strings.Contains(reg, "kota.go.id") || strings.Contains(reg, "native-host") {
			t.Errorf("%s left after uninstall:\n%s", key, reg)
		}
	}
}
