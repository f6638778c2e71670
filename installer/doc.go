// Package installer will own installing tte-agent as a service: a systemd
// user unit on Linux, a per-user start at logon on Windows, and their
// uninstall, start, stop and status (issue 7). It imports nothing of ours.
// It is empty until then; the agent runs in the foreground with
// `tte-agent run`.
package installer
