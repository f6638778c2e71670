// Package windialog is the consent and PIN dialog on Windows: a native
// Win32 window on the user's desktop (topmost, centred, a password field,
// OK and Cancel, a timeout), used when no pinentry program is configured.
// The PIN is read into C memory, copied into the bytes the caller wipes,
// and the window's buffer is zeroed with SecureZeroMemory. It is tested
// under wine and Xvfb by installer/windows.
package windialog
