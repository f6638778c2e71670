package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/nativemsg"
)

// nativeHostCall reports whether a browser started tte-agent as the
// extension's native-messaging host: Chrome, Chromium and Edge pass the
// calling extension's origin, Firefox the host manifest's path and the
// extension's id. A manifest names a program, not its arguments, so the
// .deb and the MSI point it at tte-agent itself.
func nativeHostCall(args []string) bool {
	return len(args) > 0 && (strings.HasPrefix(args[0], "chrome-extension://") ||
		len(args) == 2 && strings.HasSuffix(args[0], ".json") && strings.Contains(args[1], "@"))
}

// cmdNativeHost relays one page's connection between the browser
// extension (native messaging on stdin and stdout) and the user's running
// agent (the local channel). The first message names the page's origin,
// which the extension took from the browser's sender information; the
// agent checks it against the policy as for any page.
func cmdNativeHost(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("native-host", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (default: the user's config.toml if it exists)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	out := &hostOut{w: stdout}
	cfg, err := loadConfig(*path)
	if err != nil {
		out.close(websocket.CloseInternalServerErr, "tte-agent's configuration is broken: "+err.Error())
		return err
	}
	first, err := nativemsg.Read(stdin)
	if err != nil || first.Origin == "" || !originLike(first.Origin) {
		out.close(websocket.ClosePolicyViolation, "the extension must name the page's origin first")
		return fmt.Errorf("native host: no origin first: %v", err)
	}
	sock := cfg.Native.Socket
	ws, resp, err := dialLocal(sock, first.Origin)
	if err != nil {
		switch {
		case resp != nil && resp.StatusCode == http.StatusForbidden:
			// The same answer a page gets from the WebSocket: its client
			// says "origin not allowed".
			out.close(websocket.ClosePolicyViolation, "tte-agent refuses pages from "+first.Origin)
		default:
			out.close(websocket.CloseAbnormalClosure, "tte-agent is not running for this user (no local channel at "+sock+")")
		}
		return fmt.Errorf("native host: %w", err)
	}
	defer ws.Close()
	out.open()

	// Agent to browser.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			kind, data, err := ws.ReadMessage()
			if err != nil {
				code, reason := websocket.CloseAbnormalClosure, "the connection to tte-agent ended"
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					code, reason = ce.Code, ce.Text
				}
				out.close(code, reason)
				return
			}
			if kind != websocket.TextMessage {
				continue // the agent sends text only
			}
			if err := out.text(string(data)); err != nil {
				return
			}
		}
	}()
	// Browser to agent.
	for {
		m, err := nativemsg.Read(stdin)
		if err != nil {
			// The port closed (EOF), or the extension broke the protocol:
			// the page's connection ends either way, and the extension
			// needs no word of it.
			out.mu.Lock()
			out.closed = true
			out.mu.Unlock()
			ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			ws.Close()
			<-done
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("native host: %w", err)
		}
		switch {
		case m.Text != "":
			err = ws.WriteMessage(websocket.TextMessage, []byte(m.Text))
		case m.Binary != nil:
			err = ws.WriteMessage(websocket.BinaryMessage, m.Binary)
		default:
			err = errors.New("a second origin")
		}
		if err != nil {
			ws.Close()
			<-done
			return fmt.Errorf("native host: %w", err)
		}
	}
}

// dialLocal opens a WebSocket to the user's agent on its local channel,
// for a page of origin (or the command line's).
func dialLocal(sock, origin string) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return wsserver.DialLocal(ctx, sock)
		},
	}
	return d.Dial("ws://tte-agent"+wsserver.Path, http.Header{"Origin": {origin}})
}

// originLike accepts what a browser's sender origin looks like:
// scheme://host[:port], no path.
func originLike(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.Path == "" && u.RawQuery == "" && u.User == nil
}

// hostOut serialises the host's messages to the browser.
type hostOut struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (o *hostOut) text(s string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return nativemsg.WriteText(o.w, s)
}

// open tells the extension the agent took the connection.
func (o *hostOut) open() {
	o.mu.Lock()
	defer o.mu.Unlock()
	nativemsg.Write(o.w, nativemsg.Message{Open: true})
}

// close tells the extension the channel ended, once.
func (o *hostOut) close(code int, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	o.closed = true
	nativemsg.Write(o.w, nativemsg.Message{Closed: &nativemsg.Closed{Code: code, Reason: reason}})
}

// cmdNativeManifest prints the native-messaging host manifest that lets
// the tte-agent extension start this program (packaging uses it).
func cmdNativeManifest(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("native-manifest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	family := fs.String("browser", nativemsg.Chromium, "chromium (Google Chrome, Chromium, Microsoft Edge) or firefox")
	exe := fs.String("path", "/usr/bin/tte-agent", "the tte-agent program browsers start")
	if err := fs.Parse(args); err != nil {
		return err
	}
	out, err := nativemsg.HostManifest(*family, *exe)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}
