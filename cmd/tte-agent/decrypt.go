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
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size > cfg.Limits.DocumentBytes {
		return fmt.Errorf("%s: %d bytes, the agent takes documents of at most %d ([limits] document_bytes)", fs.Arg(0), size, cfg.Limits.DocumentBytes)
	}
	// Read here first, so that a file that is no envelope is said at once
	// (only its recipients are read into memory).
	if _, err := envelope.ParseFrom(f, size); err != nil {
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
	if err := call(1, "document.upload", map[string]any{"name": filepath.Base(fs.Arg(0)), "size": size}, &up); err != nil {
		return err
	}
	frame := make([]byte, 8+1<<20)
	binary.BigEndian.PutUint64(frame, up.UploadID)
	for off := int64(0); off < size; {
		n, err := f.ReadAt(frame[8:8+min(1<<20, size-off)], off)
		if err != nil && !(errors.Is(err, io.EOF) && off+int64(n) == size) {
			return err
		}
		if err := ws.WriteMessage(websocket.BinaryMessage, frame[:8+n]); err != nil {
			return err
		}
		off += int64(n)
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
	item := res.Items[0]
	if item.DownloadID == 0 {
		_, err = stdout.Write(item.Content)
		return err
	}
	// A large document is held by the agent and read in pieces, decrypted
	// as they come.
	for off, id := int64(0), 3; off < item.Size; id++ {
		var piece protocol.DocumentDownloadResult
		if err := call(id, "document.download", map[string]any{"downloadId": item.DownloadID, "offset": off, "length": protocol.MaxDownloadChunk}, &piece); err != nil {
			return fmt.Errorf("the output is incomplete (%d of %d bytes): %w", off, item.Size, err)
		}
		if len(piece.Data) == 0 {
			return fmt.Errorf("the output is incomplete (%d of %d bytes): the agent sent nothing more", off, item.Size)
		}
		if _, err := stdout.Write(piece.Data); err != nil {
			return err
		}
		off += int64(len(piece.Data))
	}
	return nil
}
