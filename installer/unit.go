package installer

import (
	"strings"
	"text/template"
)

// unitTemplate is the systemd unit, user or system. It is rendered twice
// over: with real values for `tte-agent service unit` (the .deb ships
// that), and with kardianos/service's own placeholders as its
// SystemdScript, so both come from this one text.
var unitTemplate = template.Must(template.New("unit").Parse(`[Unit]
Description=tte-agent: sign with your PKCS#11 token from e-office web apps
Documentation=file:///usr/share/doc/tte-agent/deployment.md
ConditionFileIsExecutable={{.Exec}}
{{- if .System}}
After=pcscd.socket
Wants=pcscd.socket
{{- end}}

[Service]
Type=simple
ExecStart={{.Exec}}{{.Args}}
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=5
# Hardening: the agent needs loopback TCP, the PC/SC socket and its own
# files, and nothing else.
NoNewPrivileges=yes
UMask=0077
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
CapabilityBoundingSet=
AmbientCapabilities=
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
SystemCallArchitectures=native
{{- if .System}}
# Kiosk mode: state under /var/lib/tte-agent, the rest of the system
# read-only.
Environment=XDG_STATE_HOME=/var/lib
StateDirectory=tte-agent
StateDirectoryMode=0700
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
{{- end}}

[Install]
WantedBy={{if .System}}multi-user.target{{else}}default.target{{end}}
`))

type unitData struct {
	Exec   string
	Args   string
	System bool
}

// Unit returns the systemd unit that runs exec with args: a user unit, or
// with system a system unit.
func Unit(exec string, args []string, system bool) string {
	var a strings.Builder
	for _, s := range args {
		a.WriteString(" " + quoteArg(s))
	}
	return render(unitData{Exec: escapeExec(exec), Args: a.String(), System: system})
}

// kardianosUnit is the unit with kardianos/service's placeholders, which
// it fills in at install.
func kardianosUnit(system bool) string {
	return render(unitData{Exec: "{{Path | cmdEscape}}", Args: "{{range Arguments}} {{. | cmd}}{{end}}", System: system})
}

func render(d unitData) string {
	var b strings.Builder
	if err := unitTemplate.Execute(&b, d); err != nil {
		panic(err) // the template and its data are ours
	}
	return b.String()
}

// escapeExec and quoteArg write ExecStart's words exactly as
// kardianos/service's cmdEscape and cmd do, so that the unit it installs
// and the one `service unit` prints are the same bytes.
func escapeExec(s string) string { return strings.ReplaceAll(s, " ", `\x20`) }

func quoteArg(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
