package agent_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/agent/pinentry/pinentrytest"
	"github.com/tte-agent/tte-agent/internal/testscale"
	"github.com/tte-agent/tte-agent/protocol"
)

// TestConnectionFlood: 500 connections at once are capped (the rest closed
// with 1013, or before their handshake by the listener's cap), the
// accepted ones flooding sign requests see one dialog at a time with a
// bounded queue (the rest busy), and a page connected before the flood is
// still served.
func TestConnectionFlood(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.fake.Set(t, pinentrytest.Behaviour{Action: "cancel", Delay: 300 * time.Millisecond})
	legit := h.dial(testOrigin)

	var mu sync.Mutex
	var accepted []*websocket.Conn
	refused, dropped := 0, 0
	var wg sync.WaitGroup
	for range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws, _, err := websocket.DefaultDialer.Dial(h.d.URL(), http.Header{"Origin": {testOrigin}})
			if err != nil {
				mu.Lock()
				dropped++ // closed by the listener's cap
				mu.Unlock()
				return
			}
			// An accepted connection answers agent.info; a refused one
			// reads the 1013 close frame instead.
			ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 0, "method": "agent.info"})
			ws.SetReadDeadline(time.Now().Add(testscale.D(20 * time.Second)))
			_, _, err = ws.ReadMessage()
			ws.SetReadDeadline(time.Time{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case websocket.IsCloseError(err, websocket.CloseTryAgainLater):
				refused++
				ws.Close()
			case err == nil:
				accepted = append(accepted, ws)
			default:
				// Closed by the listener's cap before any handshake.
				dropped++
				ws.Close()
			}
		}()
	}
	wg.Wait()
	// One origin holds at most three quarters of the 16 slots, one of
	// which the first page has; the rest are closed with 1013 or, beyond
	// the listener's cap, before their handshake.
	if len(accepted) != 11 || refused == 0 || refused+dropped != 489 {
		t.Fatalf("%d accepted, %d closed with 1013, %d dropped; want 11 and 489 refused (12 per origin, one taken)", len(accepted), refused, dropped)
	}
	// Every accepted connection asks for a signature at once.
	reasons := make(chan protocol.Reason, len(accepted))
	for _, ws := range accepted {
		go func() {
			ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "sign.digest", "params": digestParams(h, p256ID, "x")})
			for {
				var r rpcResponse
				if err := ws.ReadJSON(&r); err != nil {
					reasons <- "read failed"
					return
				}
				if r.Method == "" {
					reasons <- r.Error.Data.Reason
					return
				}
			}
		}()
	}
	// Meanwhile the page that was there first is answered at once.
	start := time.Now()
	if info := mustCall[protocol.AgentInfo](legit, "agent.info", nil); info.Name != "tte-agent" || time.Since(start) > testscale.D(time.Second) {
		t.Errorf("agent.info during the flood: %+v after %v", info, time.Since(start))
	}
	busy, cancelled := 0, 0
	for range accepted {
		switch <-reasons {
		case protocol.ReasonBusy:
			busy++
		case protocol.ReasonUserCancelled:
			cancelled++
		}
	}
	// One dialog shown and a queue of 4 behind it; every other request is
	// told the agent is busy.
	if shown := len(h.fake.Shown(t)); shown != cancelled || shown > 5 || busy != len(accepted)-shown {
		t.Errorf("%d dialogs shown, %d cancelled, %d busy of %d requests", shown, cancelled, busy, len(accepted))
	}
	// The trail says a dialog was shown only for the dialogs really shown,
	// not for the requests answered busy.
	audited := 0
	for _, r := range auditRecords(t, h) {
		if r.Event == "dialog_shown" {
			audited++
		}
	}
	if shown := len(h.fake.Shown(t)); audited != shown {
		t.Errorf("%d dialog_shown records for %d dialogs shown", audited, shown)
	}
	for _, ws := range accepted {
		ws.Close()
	}
	h.fake.Set(t, pinentrytest.Behaviour{Action: "pin", PIN: testPIN})
	mustCall[protocol.SignDigestResult](legit, "sign.digest", digestParams(h, p256ID, "after the flood"))
}
