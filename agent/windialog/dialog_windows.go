//go:build windows

package windialog

/*
#cgo LDFLAGS: -luser32 -lgdi32
#include <stdlib.h>
#include <windows.h>

enum { ID_EDIT = 100, PIN_MAX = 256 };

typedef struct {
	const wchar_t *title, *desc, *prompt, *error, *ok, *cancel;
	int wantPin;
	unsigned timeoutMs;
	volatile LONG_PTR hwnd;
	volatile LONG closeRequested;
	wchar_t pin[PIN_MAX + 1];
	int result; // 1 OK, 0 cancel, -1 timeout, -2 failure
	HWND edit;
} tte_dlg;

static void setFont(HWND w, HFONT f) { SendMessageW(w, WM_SETFONT, (WPARAM)f, TRUE); }

static LRESULT CALLBACK tteProc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
	tte_dlg *d = (tte_dlg *)GetWindowLongPtrW(hwnd, GWLP_USERDATA);
	switch (msg) {
	case WM_NCCREATE:
		SetWindowLongPtrW(hwnd, GWLP_USERDATA, (LONG_PTR)((CREATESTRUCTW *)lp)->lpCreateParams);
		break;
	case WM_COMMAND:
		if (!d) break;
		if (LOWORD(wp) == IDOK) {
			if (d->wantPin && d->edit) {
				GetWindowTextW(d->edit, d->pin, PIN_MAX + 1);
				SetWindowTextW(d->edit, L"");
			}
			d->result = 1;
			DestroyWindow(hwnd);
			return 0;
		}
		if (LOWORD(wp) == IDCANCEL) {
			d->result = 0;
			DestroyWindow(hwnd);
			return 0;
		}
		break;
	case WM_TIMER:
		if (d) d->result = -1;
		DestroyWindow(hwnd);
		return 0;
	case WM_CLOSE:
		if (d) d->result = 0;
		DestroyWindow(hwnd);
		return 0;
	case WM_CTLCOLORSTATIC:
		if (d && (HWND)lp == GetDlgItem(hwnd, 101)) { // the warning line
			SetTextColor((HDC)wp, RGB(0xb3, 0x26, 0x1e));
			SetBkMode((HDC)wp, TRANSPARENT);
			return (LRESULT)GetSysColorBrush(COLOR_BTNFACE);
		}
		break;
	case WM_DESTROY:
		PostQuitMessage(0);
		return 0;
	}
	return DefWindowProcW(hwnd, msg, wp, lp);
}

// textHeight measures text wrapped at width in font.
static int textHeight(HWND hwnd, HFONT font, const wchar_t *text, int width) {
	if (!text || !*text) return 0;
	HDC dc = GetDC(hwnd);
	HGDIOBJ old = SelectObject(dc, font);
	RECT r = {0, 0, width, 0};
	DrawTextW(dc, text, -1, &r, DT_CALCRECT | DT_WORDBREAK | DT_NOPREFIX);
	SelectObject(dc, old);
	ReleaseDC(hwnd, dc);
	return r.bottom - r.top;
}

static int tte_dialog_run(tte_dlg *d) {
	HINSTANCE inst = GetModuleHandleW(NULL);
	WNDCLASSEXW wc = {0};
	wc.cbSize = sizeof wc;
	wc.lpfnWndProc = tteProc;
	wc.hInstance = inst;
	wc.hCursor = LoadCursorW(NULL, (LPCWSTR)IDC_ARROW);
	wc.hbrBackground = (HBRUSH)(COLOR_BTNFACE + 1);
	wc.lpszClassName = L"TteAgentDialog";
	RegisterClassExW(&wc); // fails harmlessly when already registered

	NONCLIENTMETRICSW ncm = {0};
	ncm.cbSize = sizeof ncm;
	HFONT font = NULL;
	if (SystemParametersInfoW(SPI_GETNONCLIENTMETRICS, sizeof ncm, &ncm, 0)) font = CreateFontIndirectW(&ncm.lfMessageFont);
	if (!font) font = (HFONT)GetStockObject(DEFAULT_GUI_FONT);

	const int W = 480, M = 16, inner = W - 2 * M;
	HWND hwnd = CreateWindowExW(WS_EX_TOPMOST | WS_EX_DLGMODALFRAME, L"TteAgentDialog", d->title,
		WS_POPUP | WS_CAPTION | WS_SYSMENU, CW_USEDEFAULT, CW_USEDEFAULT, W, 200, NULL, NULL, inst, d);
	if (!hwnd) return -2;
	int y = M;
	int h = textHeight(hwnd, font, d->desc, inner);
	HWND desc = CreateWindowExW(0, L"STATIC", d->desc, WS_CHILD | WS_VISIBLE | SS_LEFT | SS_NOPREFIX, M, y, inner, h, hwnd, NULL, inst, NULL);
	setFont(desc, font);
	y += h + 10;
	if (d->error && *d->error) {
		h = textHeight(hwnd, font, d->error, inner);
		HWND err = CreateWindowExW(0, L"STATIC", d->error, WS_CHILD | WS_VISIBLE | SS_LEFT | SS_NOPREFIX, M, y, inner, h, hwnd, (HMENU)101, inst, NULL);
		setFont(err, font);
		y += h + 10;
	}
	if (d->wantPin) {
		h = textHeight(hwnd, font, d->prompt, inner);
		HWND prompt = CreateWindowExW(0, L"STATIC", d->prompt, WS_CHILD | WS_VISIBLE | SS_LEFT | SS_NOPREFIX, M, y, inner, h, hwnd, NULL, inst, NULL);
		setFont(prompt, font);
		y += h + 4;
		d->edit = CreateWindowExW(WS_EX_CLIENTEDGE, L"EDIT", L"", WS_CHILD | WS_VISIBLE | WS_TABSTOP | ES_PASSWORD | ES_AUTOHSCROLL,
			M, y, inner, 26, hwnd, (HMENU)ID_EDIT, inst, NULL);
		setFont(d->edit, font);
		SendMessageW(d->edit, EM_LIMITTEXT, PIN_MAX, 0);
		y += 26 + 14;
	}
	HWND ok = CreateWindowExW(0, L"BUTTON", d->ok, WS_CHILD | WS_VISIBLE | WS_TABSTOP | BS_DEFPUSHBUTTON, W - 2 * M - 2 * 100 - 8, y, 100, 30, hwnd, (HMENU)IDOK, inst, NULL);
	HWND cancel = CreateWindowExW(0, L"BUTTON", d->cancel, WS_CHILD | WS_VISIBLE | WS_TABSTOP, W - 2 * M - 100, y, 100, 30, hwnd, (HMENU)IDCANCEL, inst, NULL);
	setFont(ok, font);
	setFont(cancel, font);
	y += 30 + M;

	// Size the window to its content and centre it on the screen.
	RECT r = {0, 0, W, y};
	AdjustWindowRectEx(&r, WS_POPUP | WS_CAPTION | WS_SYSMENU, FALSE, WS_EX_TOPMOST | WS_EX_DLGMODALFRAME);
	int ww = r.right - r.left, wh = r.bottom - r.top;
	SetWindowPos(hwnd, HWND_TOPMOST, (GetSystemMetrics(SM_CXSCREEN) - ww) / 2, (GetSystemMetrics(SM_CYSCREEN) - wh) / 2, ww, wh, SWP_SHOWWINDOW);
	SetForegroundWindow(hwnd);
	SetFocus(d->wantPin ? d->edit : ok);
	if (d->timeoutMs) SetTimer(hwnd, 1, d->timeoutMs, NULL);

	d->result = 0;
	InterlockedExchangePointer((PVOID volatile *)&d->hwnd, hwnd);
	if (d->closeRequested) PostMessageW(hwnd, WM_CLOSE, 0, 0);

	MSG msg;
	while (GetMessageW(&msg, NULL, 0, 0) > 0) {
		if (!IsWindow(hwnd) || !IsDialogMessageW(hwnd, &msg)) {
			TranslateMessage(&msg);
			DispatchMessageW(&msg);
		}
	}
	InterlockedExchangePointer((PVOID volatile *)&d->hwnd, NULL);
	if (font != GetStockObject(DEFAULT_GUI_FONT)) DeleteObject(font);
	return d->result;
}

static void tte_dialog_close(tte_dlg *d) {
	InterlockedExchange(&d->closeRequested, 1);
	HWND h = (HWND)InterlockedCompareExchangePointer((PVOID volatile *)&d->hwnd, NULL, NULL);
	if (h) PostMessageW(h, WM_CLOSE, 0, 0);
}

static void tte_wipe(tte_dlg *d) { SecureZeroMemory(d->pin, sizeof d->pin); }
*/
import "C"

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/tte-agent/tte-agent/agent/pinentry"
)

// Prompter shows the consent and PIN dialog as a native window on the
// user's desktop. It implements the agent's Prompter.
type Prompter struct {
	// Timeout closes an unanswered dialog (pinentry.ErrTimeout).
	Timeout time.Duration
}

// New returns a Prompter whose dialogs close after timeout.
func New(timeout time.Duration) (*Prompter, error) {
	return &Prompter{Timeout: timeout}, nil
}

// GetPIN shows d with a password field and returns what the user typed;
// the caller wipes it.
func (p *Prompter) GetPIN(ctx context.Context, d pinentry.Dialog) ([]byte, error) {
	return p.show(ctx, d, true)
}

// Confirm shows d with OK and Cancel only (PIN-pad tokens).
func (p *Prompter) Confirm(ctx context.Context, d pinentry.Dialog) error {
	_, err := p.show(ctx, d, false)
	return err
}

// Warm does nothing: a window opens at once.
func (p *Prompter) Warm() {}

// errFailed means the window could not be created.
var errFailed = errors.New("failed to open the PIN dialog window")

func (p *Prompter) show(ctx context.Context, d pinentry.Dialog, wantPIN bool) ([]byte, error) {
	dlg := (*C.tte_dlg)(C.calloc(1, C.sizeof_tte_dlg))
	defer C.free(unsafe.Pointer(dlg))
	var strs []unsafe.Pointer
	wstr := func(s string) *C.wchar_t {
		u := utf16.Encode([]rune(strings.ReplaceAll(s, "\n", "\r\n") + "\x00"))
		ptr := C.CBytes(unsafe.Slice((*byte)(unsafe.Pointer(&u[0])), len(u)*2))
		strs = append(strs, ptr)
		return (*C.wchar_t)(ptr)
	}
	defer func() {
		for _, s := range strs {
			C.free(s)
		}
	}()
	dlg.title, dlg.desc, dlg.prompt = wstr(d.Title), wstr(d.Description), wstr(d.Prompt)
	dlg.error, dlg.ok, dlg.cancel = wstr(d.Error), wstr(d.OK), wstr(d.Cancel)
	if wantPIN {
		dlg.wantPin = 1
	}
	dlg.timeoutMs = C.uint(p.Timeout / time.Millisecond)
	defer C.tte_wipe(dlg)

	done := make(chan C.int, 1)
	go func() { done <- C.tte_dialog_run(dlg) }()
	var r C.int
	select {
	case r = <-done:
	case <-ctx.Done():
		C.tte_dialog_close(dlg)
		<-done
		return nil, ctx.Err()
	}
	switch r {
	case 1:
	case 0:
		return nil, pinentry.ErrCancelled
	case -1:
		return nil, pinentry.ErrTimeout
	default:
		return nil, errFailed
	}
	if !wantPIN {
		return nil, nil
	}
	n := 0
	for n < len(dlg.pin) && dlg.pin[n] != 0 {
		n++
	}
	u := make([]uint16, n)
	for i := range u {
		u[i] = uint16(dlg.pin[i])
	}
	// Straight into bytes the caller wipes: no string copy of the PIN.
	runes := utf16.Decode(u)
	pin := make([]byte, 0, 4*len(runes))
	for _, r := range runes {
		pin = utf8.AppendRune(pin, r)
	}
	clear(runes)
	clear(u)
	return pin, nil
}
