// The browser extension's transport: the part of the WebSocket
// interface the client uses, over window.postMessage and native messaging.

let extensionConns = 0;

// ExtensionSocket is the part of the WebSocket interface the client uses,
// over the tte-agent browser extension: messages go to its content script
// with window.postMessage, and from there through native messaging to the
// agent's private channel. The page's origin is added by the extension from
// the browser's own sender information. No HTTP uploads here: the agent
// offers none on this transport, so documents go as binary messages.
export class ExtensionSocket {
  constructor(win) {
    this._win = win;
    this.conn = ++extensionConns;
    this.readyState = 0;
    this.bufferedAmount = 0;
    this.binaryType = "arraybuffer";
    this._listen = (ev) => {
      const m = ev.data;
      if (ev.source !== win || !m || m.tteAgent !== "reply" || m.conn !== this.conn) return;
      if (m.open) {
        this.readyState = 1;
        this.onopen?.({});
      } else if (typeof m.text === "string") {
        this.onmessage?.({ data: m.text });
      } else if (m.closed) {
        this._end(m.closed.code ?? 1006, m.closed.reason ?? "");
      }
    };
    win.addEventListener("message", this._listen);
    this._post({ tteAgent: "open" });
  }

  _post(m) {
    this._win.postMessage({ ...m, conn: this.conn }, this._win.location.origin);
  }

  send(data) {
    if (this.readyState !== 1) throw new Error("the extension's connection is not open");
    if (typeof data === "string") this._post({ tteAgent: "text", text: data });
    else this._post({ tteAgent: "binary", data: new Uint8Array(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength) });
  }

  close(code = 1000) {
    if (this.readyState === 3) return;
    this._post({ tteAgent: "close" });
    this._end(code, "closed by the page");
  }

  _end(code, reason) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this._win.removeEventListener("message", this._listen);
    this.onclose?.({ code, reason });
  }
}
