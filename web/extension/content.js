// tte-agent extension, content script: the bridge between an e-office
// page and the extension. The page's client (web/client.js, transport
// "auto" or "extension") posts {tteAgent: "open"|"text"|"binary"|"close",
// conn} to this window; each connection becomes a runtime port to the
// service worker, which opens the native-messaging host for it. The page's
// origin is not taken from the page: the service worker reads it from the
// browser's sender information.
(() => {
  const ports = new Map(); // conn → runtime port
  // The client looks for this before it picks a transport.
  document.documentElement.dataset.tteAgentExtension = "1";

  const reply = (conn, msg) => window.postMessage({ tteAgent: "reply", conn, ...msg }, window.location.origin);

  window.addEventListener("message", (ev) => {
    if (ev.source !== window || ev.origin !== window.location.origin) return;
    const m = ev.data;
    if (!m || typeof m !== "object" || typeof m.conn !== "number") return;
    switch (m.tteAgent) {
      case "open": {
        if (ports.has(m.conn)) return;
        const port = chrome.runtime.connect({ name: "tte-agent" });
        ports.set(m.conn, port);
        port.onMessage.addListener((msg) => reply(m.conn, msg));
        port.onDisconnect.addListener(() => {
          if (ports.delete(m.conn)) reply(m.conn, { closed: { code: 1006, reason: "the tte-agent extension ended the connection" } });
        });
        return;
      }
      case "text":
        if (typeof m.text === "string") ports.get(m.conn)?.postMessage({ text: m.text });
        return;
      case "binary":
        // Runtime ports carry JSON: bytes travel as base64, as the
        // native host reads them.
        if (m.data instanceof Uint8Array) ports.get(m.conn)?.postMessage({ binary: toBase64(m.data) });
        return;
      case "close": {
        const port = ports.get(m.conn);
        ports.delete(m.conn);
        port?.disconnect();
        return;
      }
    }
  });

  function toBase64(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }
})();
