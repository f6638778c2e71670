package windialog

import "github.com/tte-agent/tte-agent/agent/pinentry"

// Screen is what the dialog shows comfortably: it is 480 pixels wide in
// the system's message font (about 70 characters a line, which it wraps
// itself), and 30 lines keep it, with its field and buttons, within a
// 768-pixel-high screen. The consent text is laid out for it.
func (*Prompter) Screen() pinentry.Screen { return pinentry.Screen{Rows: 30, Cols: 70} }
