package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/agent/wsserver"
	"github.com/tte-agent/tte-agent/envelope"
	"github.com/tte-agent/tte-agent/protocol"
)

// cmdDecrypt opens a document encrypted to the user's token: `tte-agent
// decrypt IN.p7m > OUT`. It asks the user's running agent over its local
// channel, so that the consent and PIN go through the configured dialog,
// the token's lock is respected and the opening is in the audit trail,
// exactly as for a page (the dialog names the command line, not a site).
func cmdDecrypt(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("decrypt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (it says where the agent's local channel is)")
	certID := fs.String("certificate", "", "the certificate whose key opens it (default: the one it is encrypted to)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: tte-agent decrypt [--config FILE] [--certificate ID] IN.p7m > OUT")
		return flag.ErrHelp
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	der, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	if len(der) > envelope.MaxEnvelope {
		return fmt.Errorf("%s: %d bytes, tte-agent opens at most %d", fs.Arg(0), len(der), envelope.MaxEnvelope)
	}
	if _, err := envelope.Parse(der); err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	sock := cfg.Native.Socket
	ws, _, err := dialLocal(sock, wsserver.LocalToolOrigin)
	if err != nil {
		return fmt.Errorf("tte-agent is not running for this user (no local channel at %s): start it (`tte-agent service start`, or log on again), then decrypt again: %w", sock, err)
	}
	defer ws.Close()
	ws.SetReadLimit(256 << 20)
	call := func(id int, method string, params any, result any) error {
		if err := ws.WriteJSON(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}); err != nil {
			return err
		}
		for {
			var m struct {
				ID     *int            `json:"id"`
				Result json.RawMessage `json:"result"`
				Error  *protocol.Error `json:"error"`
			}
			if err := ws.ReadJSON(&m); err != nil {
				return err
			}
			if m.ID == nil || *m.ID != id {
				continue // progress and other notifications
			}
			if m.Error != nil {
				return m.Error
			}
			return json.Unmarshal(m.Result, result)
		}
	}
	var up protocol.DocumentUploadResult
	if err := call(1, "document.upload", map[string]any{"name": filepath.Base(fs.Arg(0)), "size": len(der)}, &up); err != nil {
		return err
	}
	for off := 0; off < len(der); off += 1 << 20 {
		frame := binary.BigEndian.AppendUint64(nil, up.UploadID)
		if err := ws.WriteMessage(websocket.BinaryMessage, append(frame, der[off:min(off+1<<20, len(der))]...)); err != nil {
			return err
		}
	}
	params := map[string]any{"items": []any{map[string]any{"uploadId": up.UploadID}}}
	if *certID != "" {
		params["certificateId"] = *certID
	}
	var res protocol.DocumentDecryptResult
	if err := call(2, "document.decrypt", params, &res); err != nil {
		var pe *protocol.Error
		if errors.As(err, &pe) {
			return fmt.Errorf("%s (%s)", pe.Message, pe.Data.Detail)
		}
		return err
	}
	_, err = stdout.Write(res.Items[0].Content)
	return err
}
