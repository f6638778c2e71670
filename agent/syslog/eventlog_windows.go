//go:build windows

package syslog

import (
	"fmt"
	"unicode/utf8"

	"golang.org/x/sys/windows/svc/eventlog"
)

// EventLog writes audit records to the Windows Application event log
// under the source "tte-agent" (the MSI registers it), as Information
// events with ID 1, for Windows Event Forwarding to collect.
type EventLog struct{ l *eventlog.Log }

// maxEventRunes is below an event string's limit (31,839 characters).
const maxEventRunes = 31_000

// OpenEventLog opens the event source.
func OpenEventLog() (*EventLog, error) {
	l, err := eventlog.Open("tte-agent")
	if err != nil {
		return nil, fmt.Errorf("failed to open the Windows event log source tte-agent: %w", err)
	}
	return &EventLog{l: l}, nil
}

// Send writes one record line; a longer one than an event holds is cut
// (the trail on disk keeps it whole).
func (e *EventLog) Send(line []byte) {
	s := string(line)
	if utf8.RuneCountInString(s) > maxEventRunes {
		s = string([]rune(s)[:maxEventRunes]) + "…"
	}
	_ = e.l.Info(1, s)
}

// Close closes the source.
func (e *EventLog) Close() { e.l.Close() }
