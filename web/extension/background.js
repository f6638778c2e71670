// tte-agent extension, service worker: one native-messaging host per page
// connection. The host relays to the user's own agent over its private
// channel; the agent checks the page's origin against the policy. That
// origin is the browser's sender information for the content script's
// frame — never something the page says.
const HOST = "id.tte_agent";

chrome.runtime.onConnect.addListener((port) => {
  if (port.name !== "tte-agent") return;
  const sender = port.sender;
  let origin = sender?.origin;
  if (!origin && sender?.url) origin = new URL(sender.url).origin;
  if (!sender?.tab || !origin || origin === "null") {
    port.postMessage({ closed: { code: 1008, reason: "tte-agent serves web pages only" } });
    port.disconnect();
    return;
  }
  const host = chrome.runtime.connectNative(HOST);
  let text = ""; // an answer arriving in parts
  host.onMessage.addListener((m) => {
    if (typeof m.part === "string") {
      text += m.part;
      if (m.more) return;
      port.postMessage({ text });
      text = "";
      return;
    }
    port.postMessage(m);
  });
  host.onDisconnect.addListener(() => {
    const why = chrome.runtime.lastError?.message ?? "the tte-agent native host ended";
    try {
      port.postMessage({ closed: { code: 1006, reason: why } });
      port.disconnect();
    } catch {
      // the page is gone already
    }
  });
  port.onMessage.addListener((m) => {
    if (typeof m.text === "string") host.postMessage({ text: m.text });
    else if (typeof m.binary === "string") host.postMessage({ binary: m.binary });
  });
  port.onDisconnect.addListener(() => host.disconnect());
  host.postMessage({ origin });
});
