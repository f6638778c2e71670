//go:build !windows

package syslog

import "errors"

// EventLog is the Windows event log; elsewhere it cannot be opened.
type EventLog struct{}

// OpenEventLog fails: the Windows event log exists only on Windows (use
// [audit] syslog there).
func OpenEventLog() (*EventLog, error) {
	return nil, errors.New("[audit] eventlog: the Windows event log exists only on Windows; use [audit] syslog")
}

// Send does nothing.
func (*EventLog) Send([]byte) {}

// Close does nothing.
func (*EventLog) Close() {}
