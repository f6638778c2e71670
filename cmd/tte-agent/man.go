package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/tte-agent/tte-agent/agent"
	"github.com/tte-agent/tte-agent/agent/config"
)

// manCommands is every command line tte-agent takes, with what it does.
// The man page's flags come from each command's own flag set (the command
// run with -h), so the page cannot drift from the program.
var manCommands = []struct {
	args []string
	what string
}{
	{[]string{"run"}, "Run the agent in the foreground, logging to standard error. It reloads the configuration and the policy on SIGHUP or when either file changes."},
	{[]string{"tokens"}, "List the tokens present and the certificates on them."},
	{[]string{"doctor"}, "Check the configuration, the policy, the PKCS#11 modules, the tokens and their certificates, the port and the PIN dialog, and print a fix for each problem. Exits 1 when something stops signing."},
	{[]string{"audit", "verify"}, "Check the audit trail's hash chain."},
	{[]string{"audit", "report"}, "Write the evaluation summary of the audit trail for a period (dates YYYY-MM-DD, inclusive)."},
	{[]string{"service", "install"}, "Start tte-agent by itself: at the user's logon (a systemd user unit; on Windows the Run key), or with --system at boot, for kiosks with PIN-pad tokens."},
	{[]string{"service", "uninstall"}, "Stop it and remove what install added, whatever state an earlier install left."},
	{[]string{"service", "start"}, "Start the installed service now."},
	{[]string{"service", "stop"}, "Stop the service."},
	{[]string{"service", "status"}, "Say whether it is installed, running, stopped, half installed, or in a state the service manager cannot tell. Exits 1 unless installed and known."},
	{[]string{"service", "unit"}, "Print the systemd unit install writes (for packaging)."},
	{[]string{"verify"}, "Check every signature and time-stamp of the PDF and CMS files given. Exits 0 only when all are valid."},
	{[]string{"policy", "write"}, "Write the machine's policy from installer properties, and the browser policies for its origins. An origin allows documents unless it says otherwise after \"=\". With no origins and no modules the existing policy is kept."},
	{[]string{"policy", "remove"}, "Remove the machine's policy (uninstallers use it), and the browser policies policy write wrote."},
	{[]string{"policy", "browsers"}, "Write the Chrome, Chromium and Edge policies that let the policy's e-office origins reach the agent (Local Network Access), or with --remove take them away. policy write does this too; the .deb's maintainer scripts use it."},
	{[]string{"encrypt"}, "Encrypt a document to the certificates of its recipients (CMS AuthEnvelopedData with AES-256-GCM, or EnvelopedData with AES-256-CBC for older readers): RSA recipients by RSA-OAEP, or PKCS #1 v1.5 when asked; EC recipients by ECDH key agreement. Each certificate must allow key encipherment (RSA) or key agreement (EC), be valid now, and under [revocation] mode chain to a trust anchor and not be revoked. Writes DER to standard output; no token, no PIN."},
	{[]string{"decrypt"}, "Open a document encrypted to a certificate on your token and write its content to standard output. It asks your running agent over its local channel, so the consent and the PIN go through the configured dialog (which names the command line) and the opening is in the audit trail."},
	{[]string{"browser-setup"}, "Let the browsers use the token to log in to sites that ask for a client certificate (TLS client authentication): registers the configured PKCS#11 module in the NSS database of Chromium and Chrome (made first if Chromium has not run yet) and of each Firefox profile that lacks it. On Windows it says what to do instead (the vendor's minidriver)."},
	{[]string{"native-host"}, "Relay one page's connection between the tte-agent browser extension (native messaging on standard input and output) and the user's running agent (its local channel). Browsers start it through the host manifests the packages install, which name tte-agent itself: started with an extension's origin (Chrome, Chromium, Edge) or a manifest path and an extension id (Firefox), tte-agent acts as the host."},
	{[]string{"native-manifest"}, "Print the native-messaging host manifest that lets the tte-agent browser extension start tte-agent (packaging uses it)."},
	{[]string{"man"}, "Print this manual page (roff)."},
	{[]string{"version"}, "Print the version."},
}

// flagLine is a flag as flag.PrintDefaults writes it: "  -name type".
var flagLine = regexp.MustCompile(`^  -(\S+)(?: (\S+))?$`)

// cmdMan prints the tte-agent(1) manual page.
func cmdMan(stdout io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH TTE-AGENT 1 %q %q \"tte-agent manual\"\n", time.Now().UTC().Format("2006-01-02"), "tte-agent "+agent.Version)
	b.WriteString(".SH NAME\ntte-agent \\- sign with your own PKCS#11 token for e-office web apps\n")
	b.WriteString(".SH SYNOPSIS\n.B tte-agent\n.I command\n.RI [ flags ]\n")
	b.WriteString(".SH DESCRIPTION\n" + roff("tte-agent runs in the background of each user's session. E-office pages connect to it over a WebSocket on 127.0.0.1; it asks the user for consent and the token's PIN in a native dialog, and signs on the token (raw signatures, CMS/CAdES, PAdES). The machine's policy says which pages may use it.") + "\n")
	b.WriteString(".SH COMMANDS\n")
	for _, c := range manCommands {
		fmt.Fprintf(&b, ".SS \"tte-agent %s\"\n%s\n", strings.Join(c.args, " "), roff(c.what))
		for _, f := range flagsOf(c.args) {
			b.WriteString(f)
		}
	}
	fmt.Fprintf(&b, ".SH FILES\n.TP\n.I %s\n%s\n.TP\n.I ~/.config/tte-agent/config.toml\n%s\n",
		config.PolicyPath(), roff("The administrator's policy: the most any user's configuration may allow."), roff("The user's configuration."))
	b.WriteString(".SH EXIT STATUS\n" + roff("0 on success, 1 when a command fails or finds problems, 2 on a usage error.") + "\n")
	b.WriteString(".SH SEE ALSO\n" + roff("The guides in "+docDir()+": deployment.md (installing and the policy), protocol.md (the configuration's keys and the wire protocol), integration.md (for web developers), metrics.md, security.md.") + "\n")
	_, err := io.WriteString(stdout, b.String())
	return err
}

// flagsOf runs the command with -h and turns the flags its flag set
// prints into man page entries.
func flagsOf(args []string) []string {
	if len(args) == 1 && (args[0] == "man" || args[0] == "version") {
		return nil
	}
	var out, help bytes.Buffer
	run(append(append([]string{}, args...), "-h"), &out, &help)
	var entries []string
	lines := strings.Split(help.String(), "\n")
	for i := 0; i < len(lines); i++ {
		m := flagLine.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		var desc []string
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "    \t") {
			i++
			desc = append(desc, strings.TrimPrefix(lines[i], "    \t"))
		}
		head := "\\-\\-" + roffWord(m[1])
		if m[2] != "" {
			head += " \\fI" + roffWord(m[2]) + "\\fR"
		}
		entries = append(entries, fmt.Sprintf(".TP\n.B %s\n%s\n", head, roff(strings.Join(desc, " "))))
	}
	return entries
}

// roff escapes text for a roff paragraph.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func roffWord(s string) string { return strings.ReplaceAll(roff(s), " ", `\ `) }

// docDir is where the guides are: installed with the package, or the
// repository's docs/.
func docDir() string {
	const installed = "/usr/share/doc/tte-agent"
	if _, err := os.Stat(installed + "/deployment.md"); err == nil {
		return installed
	}
	return "docs/"
}

// doc names a guide where the user can read it.
func doc(name string) string {
	return strings.TrimSuffix(docDir(), "/") + "/" + name
}
