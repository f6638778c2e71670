// Package consent composes the dialog in which the user consents to a
// signature by typing the PIN: who asks (the origin), with which
// certificate, what is signed, and warnings about PIN tries left. The text
// is Bahasa Indonesia by default, English on request, and every name that
// comes from a page or a certificate is sanitised and shortened first.
package consent

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tte-agent/tte-agent/agent/pinentry"
)

// Request is what the user is asked to consent to.
type Request struct {
	Origin string
	// Subject and Issuer are the certificate's common names.
	Subject  string
	Issuer   string
	NotAfter time.Time
	// Items are the names of what is signed, in request order.
	Items []string
	// TotalBytes is the documents' total size; 0 for digest requests.
	TotalBytes int64
	// Digests is true when the page sends digests, not documents.
	Digests bool
	// DigestItems is how many of a document batch's Items are digests the
	// page computed (sign.cms may mix them with uploads): shown apart, so
	// that one small upload cannot hide a thousand digests.
	DigestItems int
	// Reason, Location and ContactInfo go into a PDF signature and are
	// shown as they will be signed.
	Reason, Location, ContactInfo string
	// AppearanceText is the visible signature's text, line by line.
	AppearanceText []string
	// AppearanceQR is what the visible signature's QR code holds;
	// AppearanceImage and AppearanceBSrE say it shows an image and BSrE's
	// footer sentence.
	AppearanceQR    string
	AppearanceImage bool
	AppearanceBSrE  bool
	// HashAlgorithm names the digests' hash, e.g. "SHA-256".
	HashAlgorithm string
	// PINStatus is the token's PIN status: ok, count_low, final_try.
	PINStatus string
	// PINPad is true for a token with a protected authentication path:
	// the dialog asks for confirmation and the PIN goes on the pad.
	PINPad bool
	// Decrypt makes the dialog ask to open encrypted documents for the
	// site (document.decrypt), not to sign.
	Decrypt bool
}

// LocalTool is the origin of the user's own command-line tools on the
// agent's local channel (wsserver.LocalToolOrigin), named in words.
const LocalTool = "tte-agent:local"

// maxItemsShown is how many item names the dialog lists (contract §3).
const maxItemsShown = 10

// maxNameRunes bounds one displayed name.
const maxNameRunes = 60

// maxQRRunes bounds the QR code's text shown whole (the dialog wraps it).
const maxQRRunes = 2 * maxNameRunes

// MaxTextRunes is the longest reason, location, contact or appearance
// line the dialog shows whole (see Fits).
const MaxTextRunes = maxNameRunes

// descBudget keeps SETDESC within one Assuan line.
const descBudget = pinentry.MaxLine - len("SETDESC ") - 8

// Dialog returns the dialog for r in the language ("id" or "en").
func Dialog(lang string, r Request) pinentry.Dialog {
	t := texts[lang]
	if t == nil {
		t = texts["id"]
	}
	d := pinentry.Dialog{
		Title:  t.title,
		Prompt: t.prompt,
		OK:     t.ok,
		Cancel: t.cancel,
	}
	if r.Decrypt {
		d.Title, d.OK = t.openTitle, t.openOK
	}
	switch r.PINStatus {
	case "count_low":
		d.Error = t.countLow
	case "final_try":
		d.Error = t.finalTry
	}
	// Show as many names as fit in one Assuan line, at most ten.
	n := min(len(r.Items), maxItemsShown)
	for ; n >= 0; n-- {
		d.Description = describe(t, r, n)
		if pinentry.EscapedLen(d.Description) <= descBudget {
			break
		}
	}
	return d
}

// ErrNoRoom means the dialog cannot show on its screen everything it
// must: the signed texts and the warnings are never cut.
var ErrNoRoom = errors.New("the dialog does not fit on its screen")

// DialogOn is Dialog laid out for the screen it is drawn on (a terminal's
// rows and columns for pinentry-curses, a window's otherwise): every line
// is wrapped at word boundaries to the screen's width, so that nothing is
// cut (pinentry-curses cuts a long warning at the dialog's edge), and the
// list of names is summarised ("dan N lainnya") until the whole dialog
// fits. A zero Screen gives Dialog as it is.
func DialogOn(lang string, r Request, scr pinentry.Screen) (pinentry.Dialog, error) {
	d := Dialog(lang, r)
	if scr.Rows <= 0 || scr.Cols <= 0 {
		return d, nil
	}
	t := texts[lang]
	if t == nil {
		t = texts["id"]
	}
	// pinentry-curses draws text between "| " and "|": four columns less
	// than the screen; one more keeps its own wrapping out of play.
	width := scr.Cols - 5
	if width < 24 {
		return d, fmt.Errorf("%w: a terminal of %d columns is too narrow (at least 29)", ErrNoRoom, scr.Cols)
	}
	// Around the description: the frame (2), a blank line, the PIN field
	// and the line below it, the buttons; the warning and a blank line.
	fixed := 6
	if d.Error != "" {
		d.Error = wrap(d.Error, width)
		fixed += strings.Count(d.Error, "\n") + 2
	}
	for n := min(len(r.Items), maxItemsShown); n >= 0; n-- {
		desc := wrap(describe(t, r, n), width)
		if pinentry.EscapedLen(desc) > descBudget {
			continue
		}
		if lines := strings.Count(desc, "\n") + 1; fixed+lines <= scr.Rows {
			d.Description = desc
			return d, nil
		}
	}
	need := fixed + strings.Count(wrap(describe(t, r, 0), width), "\n") + 1
	return d, fmt.Errorf("%w: it needs %d rows, the terminal has %d", ErrNoRoom, need, scr.Rows)
}

// wrap breaks every line of s at word boundaries to at most width runes;
// a continued line keeps its indent and two spaces more; a word longer
// than a line is broken where the line ends.
func wrap(s string, width int) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		indent := len(line) - len(strings.TrimLeft(line, " "))
		cont := strings.Repeat(" ", min(indent+2, width/2))
		cur, n, empty := line[:indent], indent, true
		next := func() {
			out = append(out, cur)
			cur, n, empty = cont, len(cont), true
		}
		for _, w := range strings.Fields(line) {
			r := []rune(w)
			for len(r) > 0 {
				sp := ""
				if !empty {
					sp = " "
				}
				switch {
				case n+len(sp)+len(r) <= width:
					cur, n, empty, r = cur+sp+string(r), n+len(sp)+len(r), false, nil
				case !empty && len(r) <= width-len(cont):
					next()
				case width-n-len(sp) < 1:
					next()
				default:
					k := width - n - len(sp)
					cur += sp + string(r[:k])
					r = r[k:]
					next()
				}
			}
		}
		out = append(out, cur)
	}
	return strings.Join(out, "\n")
}

// Fits reports whether the dialog can show r's signed texts (reason,
// location, contact, appearance lines) exactly as they will be signed:
// each short enough and free of characters Clean would change, and all of
// them within one dialog. A request that does not fit must be refused:
// what is signed is what the dialog shows.
func Fits(lang string, r Request) bool {
	t := texts[lang]
	if t == nil {
		t = texts["id"]
	}
	for _, f := range append([]string{r.Reason, r.Location, r.ContactInfo}, r.AppearanceText...) {
		if Clean(f, maxNameRunes) != f {
			return false
		}
	}
	if Clean(r.AppearanceQR, maxQRRunes) != r.AppearanceQR {
		return false
	}
	return pinentry.EscapedLen(describe(t, r, 0)) <= descBudget
}

func describe(t *text, r Request, shown int) string {
	var b strings.Builder
	asks := t.asks
	if r.Decrypt {
		asks = t.openAsks
	}
	origin := Clean(r.Origin, 80)
	if r.Origin == LocalTool {
		origin = t.localTool
	}
	fmt.Fprintf(&b, "%s\n  %s\n\n", asks, origin)
	fmt.Fprintf(&b, "%s: %s\n", t.cert, Clean(r.Subject, maxNameRunes))
	fmt.Fprintf(&b, "%s: %s\n", t.issuer, Clean(r.Issuer, maxNameRunes))
	fmt.Fprintf(&b, "%s: %s\n\n", t.validUntil, t.date(r.NotAfter))
	switch {
	case r.Decrypt:
		fmt.Fprintf(&b, t.openDocs+"\n", len(r.Items), t.size(r.TotalBytes))
	case r.Digests:
		fmt.Fprintf(&b, t.digests+"\n", len(r.Items), r.HashAlgorithm)
	case r.DigestItems > 0:
		fmt.Fprintf(&b, t.documents+"\n", len(r.Items)-r.DigestItems, t.size(r.TotalBytes))
		fmt.Fprintf(&b, t.digests+"\n", r.DigestItems, r.HashAlgorithm)
	default:
		fmt.Fprintf(&b, t.documents+"\n", len(r.Items), t.size(r.TotalBytes))
	}
	for _, kv := range [][2]string{{t.reason, r.Reason}, {t.location, r.Location}, {t.contact, r.ContactInfo}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%s: %s\n", kv[0], Clean(kv[1], maxNameRunes))
		}
	}
	if len(r.AppearanceText) > 0 || r.AppearanceQR != "" || r.AppearanceImage || r.AppearanceBSrE {
		fmt.Fprintf(&b, "%s:\n", t.appearance)
		for _, line := range r.AppearanceText {
			fmt.Fprintf(&b, "  | %s\n", Clean(line, maxNameRunes))
		}
		if r.AppearanceBSrE {
			fmt.Fprintf(&b, "  %s\n", t.bsreFooter)
		}
		if r.AppearanceImage {
			fmt.Fprintf(&b, "  %s\n", t.image)
		}
		if r.AppearanceQR != "" {
			fmt.Fprintf(&b, "  %s: %s\n", t.qr, Clean(r.AppearanceQR, maxQRRunes))
		}
	}
	for _, name := range r.Items[:shown] {
		fmt.Fprintf(&b, "  - %s\n", Clean(name, maxNameRunes))
	}
	if rest := len(r.Items) - shown; rest > 0 {
		fmt.Fprintf(&b, "  "+t.more+"\n", rest)
	}
	b.WriteString("\n")
	switch {
	case r.Decrypt && r.PINPad:
		b.WriteString(t.openPad)
	case r.Decrypt:
		b.WriteString(t.openPIN)
	case r.PINPad:
		b.WriteString(t.padHint)
	default:
		b.WriteString(t.pinHint)
	}
	return b.String()
}

// Clean makes text from a page or a certificate safe to show: control,
// format (bidi overrides, zero-width) and invalid characters become "?";
// blank fillers (Hangul and braille blanks) and runs of spaces become one
// space; combining marks beyond two on one letter are dropped (a tower of
// marks would paint over the lines around it); and the result is at most
// n runes, marked with "…" when shortened.
func Clean(s string, n int) string {
	var b strings.Builder
	count, marks := 0, 0
	space := false
	for i, r := range s {
		if count == n {
			// Leave room for the ellipsis.
			if i < len(s) {
				return trimLast(b.String()) + "…"
			}
			break
		}
		switch {
		case r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp):
			r = '?'
		case unicode.IsSpace(r) || unicode.Is(unicode.Zs, r) || isFiller(r):
			if space {
				continue
			}
			r = ' '
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
			if marks++; marks > 2 {
				continue
			}
			b.WriteRune(r)
			continue // a mark takes no place of its own
		}
		space, marks = r == ' ', 0
		b.WriteRune(r)
		count++
	}
	return b.String()
}

// isFiller reports characters that render blank without being spaces:
// Hangul fillers and the braille blank, used to fake empty names.
func isFiller(r rune) bool {
	switch r {
	case 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800:
		return true
	}
	return false
}

func trimLast(s string) string {
	_, size := utf8.DecodeLastRuneInString(s)
	return s[:len(s)-size]
}
