// A fake WebSocket for unit tests of the client's own logic: the test
// plays the agent through `serve`, and sees every frame the client sent.

export class FakeAgent {
  constructor() {
    this.attempts = 0;
    this.refuse = 0; // attempts to refuse before accepting
    this.closeCode = 1006; // close code of a refused attempt
    this.sent = []; // parsed text messages
    this.frames = []; // binary frames as Uint8Array
    this.handlers = new Map(); // method → (params, msg, ws) => result | {error} | undefined (answer later)
    this.socket = null;
    this.onFrame = null; // (frame, ws) => void
    const agent = this;
    this.WebSocket = class {
      constructor(url) {
        this.url = url;
        this.readyState = 0;
        this.bufferedAmount = 0;
        agent.attempts++;
        const refuse = agent.attempts <= agent.refuse;
        queueMicrotask(() => {
          if (refuse) {
            this.readyState = 3;
            this.onerror?.({});
            this.onclose?.({ code: agent.closeCode, reason: "" });
            return;
          }
          this.readyState = 1;
          agent.socket = this;
          this.onopen?.({});
        });
      }
      send(data) {
        if (this.readyState !== 1) throw new Error("send on a closed socket");
        if (typeof data === "string") {
          const msg = JSON.parse(data);
          agent.sent.push(msg);
          const h = agent.handlers.get(msg.method);
          if (h) {
            queueMicrotask(() => {
              const r = h(msg.params, msg, this);
              if (r === undefined) return;
              if (r.error) this.deliver({ jsonrpc: "2.0", id: msg.id, error: r.error });
              else this.deliver({ jsonrpc: "2.0", id: msg.id, result: r });
            });
          }
        } else {
          const frame = new Uint8Array(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength);
          agent.frames.push(frame);
          if (agent.onFrame) queueMicrotask(() => agent.onFrame(frame, this));
        }
      }
      deliver(msg) {
        this.onmessage?.({ data: JSON.stringify(msg) });
      }
      close(code = 1000) {
        if (this.readyState === 3) return;
        this.readyState = 3;
        queueMicrotask(() => this.onclose?.({ code, reason: "" }));
      }
    };
  }

  /** Answers method with fn(params, msg, ws). */
  on(method, fn) {
    this.handlers.set(method, fn);
    return this;
  }

  /** The agent's error object for a reason. */
  static error(reason, code, data = {}) {
    return { error: { code, message: `agent says ${reason}`, data: { reason, ...data } } };
  }
}

export const INFO = {
  name: "tte-agent", version: "test", protocol: 1, origin: "http://127.0.0.1:1", allow: ["documents", "digest"],
  formats: ["raw", "cms", "pades"],
  limits: { textFrameBytes: 1 << 20, binaryFrameBytes: 4 << 20, documentBytes: 64 << 20, items: 5, uploads: 8, connections: 16 },
};
