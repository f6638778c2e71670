package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/gorilla/websocket"

	"github.com/tte-agent/tte-agent/protocol"
)

// client is a page talking protocol v1 to the agent under test.
type client struct {
	ws     *websocket.Conn
	nextID int
}

func dial(url, origin string) (*client, error) {
	d := websocket.Dialer{ReadBufferSize: 1 << 20, WriteBufferSize: 1 << 20}
	ws, _, err := d.Dial(url, http.Header{"Origin": {origin}})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 30)
	return &client{ws: ws}, nil
}

func (c *client) Close() { c.ws.Close() }

// call sends a request and decodes its result, skipping notifications.
func (c *client) call(method string, params, result any) error {
	raw, err := c.roundTrip(c.request(method, params))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, result)
}

// request encodes a request with the next id.
func (c *client) request(method string, params any) []byte {
	c.nextID++
	data, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": c.nextID, "method": method, "params": params})
	return data
}

// roundTrip sends an encoded request and returns its raw result once the
// whole response has arrived, skipping notifications.
func (c *client) roundTrip(req []byte) (json.RawMessage, error) {
	id := c.nextID
	if err := c.ws.WriteMessage(websocket.TextMessage, req); err != nil {
		return nil, err
	}
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return nil, err
		}
		var msg struct {
			ID     *int            `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *protocol.Error `json:"error"`
		}
		if err := json.Unmarshal(data, &msg); err != nil {
			return nil, err
		}
		if msg.ID == nil || *msg.ID != id {
			continue // progress and other notifications
		}
		if msg.Error != nil {
			return nil, fmt.Errorf("request %d: %w", id, msg.Error)
		}
		return msg.Result, nil
	}
}

// upload sends a file in frames of chunk bytes and returns its upload id.
func (c *client) upload(name string, r io.Reader, size int64, chunk int) (uint64, error) {
	var res protocol.DocumentUploadResult
	if err := c.call("document.upload", map[string]any{"name": name, "size": size}, &res); err != nil {
		return 0, err
	}
	buf := make([]byte, 8+chunk)
	binary.BigEndian.PutUint64(buf, res.UploadID)
	for sent := int64(0); sent < size; {
		n, err := io.ReadFull(r, buf[8:8+min(int64(chunk), size-sent)])
		if err != nil {
			return 0, err
		}
		if err := c.ws.WriteMessage(websocket.BinaryMessage, buf[:8+n]); err != nil {
			return 0, err
		}
		sent += int64(n)
	}
	return res.UploadID, nil
}

func (c *client) uploadFile(path string, chunk int) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return c.upload(fi.Name(), f, fi.Size(), chunk)
}
