// tte-agent-client: the browser side of tte-agent's protocol v1.
//
// ES modules with no dependencies and no build step: this one, and the
// parts it imports from lib/. It connects to the agent on the user's
// workstation over ws://127.0.0.1, lists tokens and certificates, streams
// documents in binary frames and returns signed files as Blobs. See docs/integration.md in the tte-agent repository.

/** The agent's default WebSocket URL (contract §1). */
export const DEFAULT_URL = "ws://127.0.0.1:14545/v1";

/**
 * The ports an agent may listen on (its listen port and the nine after
 * it): on a machine where several users are logged in, each user's agent
 * takes the first free one, and the client finds its own with GET
 * /v1/hello, which only the agent that would serve this page answers.
 */
export const DEFAULT_PORTS = Object.freeze(Array.from({ length: 10 }, (_, i) => 14545 + i));

export { AgentError, CLIENT_REASONS, describeError, describePdfProblem } from "./lib/errors.js";
export { binaryFrame, fromBase64, toBase64 } from "./lib/bytes.js";
import { AgentError, CLIENT_REASONS, asAgentError, cancelledError } from "./lib/errors.js";
import { blobs, fromBase64, sleep, toBase64 } from "./lib/bytes.js";
import { ExtensionSocket } from "./lib/extension.js";
import { transferMethods } from "./lib/transfer.js";

/**
 * A connection to tte-agent. Events: "tokenschanged" (detail: {tokens}),
 * "close" (detail: {code, reason}).
 */
export class TteAgent extends EventTarget {
  /**
   * @param {object} [opts]
   * @param {string} [opts.url] the agent's WebSocket URL; without it the
   *   client finds this user's agent among `ports`
   * @param {number[]} [opts.ports] where to look (DEFAULT_PORTS)
   * @param {number} [opts.retries] connection attempts before giving up
   * @param {number} [opts.retryDelay] milliseconds between attempts
   * @param {"auto"|"websocket"|"extension"} [opts.transport] how to reach
   *   the agent: "auto" (default) uses the tte-agent browser extension
   *   when it is installed, the WebSocket otherwise
   */
  constructor(opts = {}) {
    super();
    this.transport = opts.transport ?? "auto";
    if (!["auto", "websocket", "extension"].includes(this.transport)) {
      throw new AgentError("bad_request", `transport must be "auto", "websocket" or "extension", not ${JSON.stringify(this.transport)}`);
    }
    this._window = opts.window ?? globalThis.window;
    this.url = opts.url ?? DEFAULT_URL;
    this._ports = opts.url ? [] : [...(opts.ports ?? DEFAULT_PORTS)];
    this.retries = opts.retries ?? 3;
    this.retryDelay = opts.retryDelay ?? 500;
    this._WebSocket = opts.WebSocket ?? globalThis.WebSocket;
    this._fetch = opts.fetch ?? globalThis.fetch?.bind(globalThis);
    // XMLHttpRequest for the HTTP upload path (it reports upload progress,
    // which fetch does not); httpUploads: false keeps to WebSocket frames.
    this._XHR = opts.httpUploads === false ? null : (opts.XMLHttpRequest ?? globalThis.XMLHttpRequest);
    this._permissions = opts.permissions ?? globalThis.navigator?.permissions;
    this._ws = null;
    this._nextId = 1;
    this._pending = new Map();
    this._info = null;
    this._docErrors = new Set(); // uploads listening for document.error
  }

  /** Whether the connection is open. */
  get connected() {
    return this._ws !== null && this._ws.readyState === 1;
  }

  /**
   * Opens the connection, retrying a few times. Fails with reason
   * `agent_unavailable` when nothing answers on the port, and
   * `origin_not_allowed` when the agent answers but refuses this page.
   */
  async connect() {
    if (this.connected) return this;
    let last;
    const viaExtension = this._useExtension();
    for (let attempt = 0; attempt < Math.max(1, this.retries); attempt++) {
      if (attempt > 0) await sleep(this.retryDelay);
      try {
        if (viaExtension) {
          await this._open(() => new ExtensionSocket(this._window));
        } else {
          await this._discover();
          await this._open();
        }
        // Pages show "connected" again after a lost connection.
        this.dispatchEvent(new CustomEvent("open"));
        return this;
      } catch (err) {
        last = err;
        if (err instanceof AgentError && err.reason === "busy") break;
      }
    }
    if (last instanceof AgentError && last.reason === "busy") throw last;
    if (viaExtension) {
      // The extension's native host tells why: the agent refused this
      // page (1008), or is not running for this user.
      if (last instanceof AgentError && last.data?.closeCode === 1008) {
        throw new AgentError(CLIENT_REASONS.ORIGIN_NOT_ALLOWED, `tte-agent refuses pages from ${globalThis.location?.origin ?? "this origin"}; ask your administrator to allow it`);
      }
      throw new AgentError(CLIENT_REASONS.AGENT_UNAVAILABLE, `tte-agent is not running on this computer (the extension says: ${last?.message ?? "no answer"}); start it or ask your administrator to install it`);
    }
    // Chrome and Edge (142+) block pages from reaching 127.0.0.1 unless the
    // user or the administrator allowed "local network access".
    if (await this._localNetworkDenied()) {
      throw new AgentError(CLIENT_REASONS.LOCAL_NETWORK_DENIED,
        "the browser blocks this site from reaching tte-agent on this computer; allow local network access in the site settings or ask your administrator");
    }
    // A refused handshake and a closed port look the same to a page; an
    // opaque HTTP request tells them apart.
    if (await this._agentAnswers()) {
      throw new AgentError(CLIENT_REASONS.ORIGIN_NOT_ALLOWED,
        `tte-agent is running but refuses pages from ${globalThis.location?.origin ?? "this origin"}; ask your administrator to allow it`);
    }
    throw new AgentError(CLIENT_REASONS.AGENT_UNAVAILABLE,
      "tte-agent is not running on this computer; start it or ask your administrator to install it");
  }

  // _useExtension says whether this connection goes through the browser
  // extension: its content script marks the page when it is installed.
  _useExtension() {
    if (this.transport === "websocket") return false;
    const present = this._window?.document?.documentElement?.dataset?.tteAgentExtension === "1";
    if (this.transport === "extension" && !present) {
      throw new AgentError(CLIENT_REASONS.AGENT_UNAVAILABLE, "the tte-agent browser extension is not installed in this browser; ask your administrator to install it");
    }
    return present;
  }

  _open(make = () => new this._WebSocket(this.url)) {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = make();
      } catch (err) {
        reject(new AgentError(CLIENT_REASONS.AGENT_UNAVAILABLE, String(err)));
        return;
      }
      ws.binaryType = "arraybuffer";
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this._ws = ws;
        resolve();
      };
      ws.onmessage = (ev) => this._onMessage(ev.data);
      ws.onerror = () => {};
      ws.onclose = (ev) => {
        if (!opened) {
          reject(ev.code === 1013
            ? new AgentError("busy", "tte-agent has too many connections; close other tabs and try again")
            : new AgentError(CLIENT_REASONS.AGENT_UNAVAILABLE, ev.reason || "connection refused", { data: { closeCode: ev.code } }));
          return;
        }
        this._closed(ws, ev.code, ev.reason);
      };
    });
  }

  // _localNetworkDenied asks the browser whether it blocks this page from
  // the loopback address: "local-network-access" (Chrome 139+) or, since
  // Chrome split it, "loopback-network". A name the browser does not know
  // throws, and counts as not denied.
  async _localNetworkDenied() {
    for (const name of ["local-network-access", "loopback-network"]) {
      try {
        const st = await this._permissions?.query({ name });
        if (st?.state === "denied") return true;
      } catch {
        // not this browser's permission
      }
    }
    return false;
  }

  // _discover points url at this user's agent: the first port of the
  // range whose /v1/hello answers this page (CORS for its origin). An
  // agent of another user, or one that does not allow this page, answers
  // without CORS headers, which a page cannot read. Without an answer the
  // url stays as it is, and connect says why.
  async _discover() {
    if (!this._fetch || this._ports.length === 0) return;
    for (const port of this._ports) {
      try {
        const res = await this._fetch(`http://127.0.0.1:${port}/v1/hello`, { mode: "cors", cache: "no-store", credentials: "omit" });
        const hello = res.ok ? await res.json() : null;
        if (hello?.agent === "tte-agent") {
          this.url = `ws://127.0.0.1:${port}/v1`;
          return;
        }
      } catch {
        // nothing there, or not ours: the next port
      }
    }
    this.url = `ws://127.0.0.1:${this._ports[0]}/v1`;
  }

  async _agentAnswers() {
    if (!this._fetch) return false;
    const probe = this.url.replace(/^ws/, "http").replace(/\/v1$/, "/");
    try {
      await this._fetch(probe, { mode: "no-cors", cache: "no-store", credentials: "omit" });
      return true;
    } catch {
      return false;
    }
  }

  _closed(ws, code, reason) {
    if (this._ws !== ws) return;
    this._ws = null;
    this._info = null;
    // The agent accepts the handshake and then closes with 1013 when it
    // has too many connections: that is busy, not a lost connection.
    const [why, msg] = code === 1013 ? ["busy", "tte-agent has too many connections; close other tabs and try again"]
      : code === 1009 ? [CLIENT_REASONS.CONNECTION_LOST, "a message was larger than tte-agent accepts"]
      : [CLIENT_REASONS.CONNECTION_LOST, "the connection to tte-agent was lost"];
    for (const p of this._pending.values()) {
      p.reject(new AgentError(why, msg, { data: { closeCode: code } }));
    }
    this._pending.clear();
    this.dispatchEvent(new CustomEvent("close", { detail: { code, reason } }));
  }

  /** Closes the connection; pending requests fail with connection_lost. */
  close() {
    const ws = this._ws;
    if (!ws) return;
    ws.close(1000);
    this._closed(ws, 1000, "closed by the page");
  }

  _onMessage(data) {
    if (typeof data !== "string") return;
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (msg.method) {
      if (msg.method === "progress") {
        this._pending.get(msg.params?.id)?.onProgress?.(msg.params);
      } else if (msg.method === "tokens.changed") {
        this.dispatchEvent(new CustomEvent("tokenschanged", { detail: msg.params }));
      } else if (msg.method === "document.error") {
        for (const f of this._docErrors) f(msg.params);
      }
      return;
    }
    const p = this._pending.get(msg.id);
    if (!p) return;
    this._pending.delete(msg.id);
    if (msg.error) {
      const e = msg.error;
      p.reject(new AgentError(e.data?.reason ?? "internal", e.message, { code: e.code, data: e.data ?? {} }));
    } else {
      p.resolve(msg.result);
    }
  }

  /**
   * Sends one request. `signal` cancels it with request.cancel; the agent
   * then answers `cancelled` with data.completed.
   */
  async call(method, params, { signal, onProgress } = {}) {
    if (!this.connected) await this.connect();
    if (signal?.aborted) throw cancelledError();
    const id = this._nextId++;
    const msg = { jsonrpc: "2.0", id, method };
    if (params !== undefined) msg.params = params;
    const done = new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject, onProgress });
    });
    const abort = () => {
      if (this._pending.has(id) && this.connected) {
        this._ws.send(JSON.stringify({ jsonrpc: "2.0", id: this._nextId++, method: "request.cancel", params: { id } }));
      }
    };
    signal?.addEventListener("abort", abort, { once: true });
    try {
      this._ws.send(JSON.stringify(msg));
      return await done;
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }

  /** agent.info, cached for the connection. */
  async info() {
    this._info ??= await this.call("agent.info");
    return this._info;
  }

  /** The tokens present (tokens.list). */
  async tokens() {
    return (await this.call("tokens.list")).tokens;
  }

  /**
   * Certificates whose key is on a token (certificates.list), with
   * `notAfter` as a Date beside the wire fields.
   * @param {{validOnly?: boolean, keyUsage?: string}} [filter]
   */
  async certificates(filter) {
    const res = await this.call("certificates.list", filter && Object.keys(filter).length ? filter : undefined);
    return res.certificates.map((c) => ({ ...c, notAfterDate: new Date(c.notAfter) }));
  }

  /**
   * Signs digests the page computed (sign.digest; the origin needs
   * "digest"). Digests are Uint8Arrays or base64 strings.
   */
  async signDigests({ certificateId, hashAlgorithm = "SHA-256", signatureAlgorithm, items }, { signal, onProgress } = {}) {
    const params = {
      certificateId, hashAlgorithm,
      items: items.map((it) => ({ name: it.name, digest: typeof it.digest === "string" ? it.digest : toBase64(it.digest) })),
    };
    if (signatureAlgorithm) params.signatureAlgorithm = signatureAlgorithm;
    const res = await this.call("sign.digest", params, { signal, onProgress });
    return {
      certificate: fromBase64(res.certificate),
      items: res.items.map((it) => ({ name: it.name, signature: fromBase64(it.signature) })),
    };
  }

  /**
   * Signs files as detached CMS/CAdES (sign.cms). Returns, per file in
   * order, `{name, cms, blob}`: the DER SignedData and a Blob of it.
   */
  async signCms(files, { certificateId, hashAlgorithm = "SHA-256", level = "B-B", signal, onProgress } = {}) {
    files = blobs(files);
    const res = await this._signFiles("sign.cms", files, (ids) => ({ certificateId, hashAlgorithm, level, items: ids.map((uploadId) => ({ uploadId })) }),
      { signal, onProgress });
    return res.items.map((it) => {
      const cms = fromBase64(it.cms);
      return { name: it.name, cms, blob: new Blob([cms], { type: "application/pkcs7-signature" }), level: it.level, revocation: res.revocation };
    });
  }

  /**
   * The trust chain and revocation status of a certificate now
   * (certificates.status): `{trusted, trustDetail, chain, revocation}`.
   */
  async certificateStatus(certificateId) {
    return this.call("certificates.status", { certificateId });
  }

  /**
   * Signs PDF files (sign.pdf, PAdES). Returns, per file in order,
   * `{name, blob, signedSize}`: the blob is the original bytes followed by
   * the agent's incremental update.
   */
  async signPdf(files, opts = {}) {
    const { certificateId, hashAlgorithm = "SHA-256", level = "B-B", signal, onProgress } = opts;
    files = blobs(files);
    const params = { certificateId, hashAlgorithm, level };
    for (const k of ["reason", "location", "contactInfo", "appearance", "vri", "certify", "field"]) {
      if (opts[k] !== undefined) params[k] = opts[k];
    }
    // An appearance image given as a File or Blob travels as an upload.
    const image = opts.appearance?.image;
    if (image instanceof Blob) {
      const [uploadId] = await this._uploadAll([image], { signal });
      params.appearance = { ...opts.appearance, image: { uploadId } };
    }
    const res = await this._signFiles("sign.pdf", files, (ids) => ({ ...params, items: ids.map((uploadId) => ({ uploadId })) }),
      { signal, onProgress });
    return pdfResults(files, res);
  }

  /**
   * Encrypts files to the certificates of their recipients
   * (document.encrypt; the origin needs "encrypt"): no token, no PIN.
   * `recipients` are DER certificates (Uint8Array, ArrayBuffer or
   * base64). Returns, per file in order, `{name, size, envelope, blob}`:
   * the DER CMS envelope and a Blob of it (application/pkcs7-mime). Any
   * size: an envelope over 1 MiB is held by the agent and fetched from it;
   * over 64 MiB only `blob` is given (the browser may keep it on disk).
   */
  async encryptDocuments(files, { recipients, cipher, rsaPadding, signal, onProgress } = {}) {
    files = blobs(files);
    const certs = Array.from(recipients ?? [], (c) => (typeof c === "string" ? c : toBase64(c instanceof ArrayBuffer ? new Uint8Array(c) : c)));
    if (certs.length === 0) throw new AgentError("bad_request", "recipients: at least one certificate is required");
    const ids = await this._uploadAll(files, { signal, onProgress });
    const params = { items: ids.map((uploadId) => ({ uploadId })), recipients: certs };
    if (cipher !== undefined) params.cipher = cipher;
    if (rsaPadding !== undefined) params.rsaPadding = rsaPadding;
    const res = await this.call("document.encrypt", params, { signal, onProgress });
    const type = "application/pkcs7-mime";
    const out = [];
    for (const it of res.items) {
      const { blob, bytes } = await this._result(it, it.envelope, type, signal);
      out.push({ name: it.name, size: it.size, envelope: bytes, blob });
    }
    return out;
  }

  /**
   * Opens files encrypted to a certificate on the user's token
   * (document.decrypt; the origin needs "decrypt"): one dialog, one PIN.
   * Returns, per file in order, `{name, size, content, blob}`, and the
   * certificate that opened them as `certificateId` on each. Any size, as
   * for encryptDocuments: over 64 MiB only `blob` is given.
   */
  async decryptDocuments(files, { certificateId, signal, onProgress } = {}) {
    files = blobs(files);
    const ids = await this._uploadAll(files, { signal, onProgress });
    const params = { items: ids.map((uploadId) => ({ uploadId })) };
    if (certificateId !== undefined) params.certificateId = certificateId;
    const res = await this.call("document.decrypt", params, { signal, onProgress });
    const out = [];
    for (const it of res.items) {
      const { blob, bytes } = await this._result(it, it.content, "", signal);
      out.push({ name: it.name, size: it.size, content: bytes, blob, certificateId: res.certificateId });
    }
    return out;
  }

  /**
   * Adds validation data (B-LT) and a document time-stamp (B-LTA) to
   * signed PDFs (pdf.extend; the origin needs "extend"): no token, no
   * dialog. Returns what signPdf returns.
   */
  async extendPdf(files, { level = "B-LTA", vri, signal, onProgress } = {}) {
    files = blobs(files);
    const ids = await this._uploadAll(files, { signal, onProgress });
    const params = { level, items: ids.map((uploadId) => ({ uploadId })) };
    if (vri !== undefined) params.vri = vri;
    return pdfResults(files, await this.call("pdf.extend", params, { signal, onProgress }));
  }

  /**
   * Verifies signed PDFs, or CMS signatures with their content
   * (document.verify; the origin needs "verify"). `files` holds PDFs and
   * signatures; `contents`, when given, the detached content of
   * files[i] at index i. Returns `{valid, reports, text}`.
   */
  async verify(files, { contents = [], online = false, language = "id", signal, onProgress } = {}) {
    files = blobs(files);
    contents = Array.from(contents ?? []);
    const all = [...files];
    const contentAt = [];
    files.forEach((_, i) => {
      if (contents[i]) {
        contentAt[i] = all.length;
        all.push(contents[i]);
      }
    });
    const ids = await this._uploadAll(all, { signal, onProgress });
    const items = files.map((_, i) => (contentAt[i] === undefined ? { uploadId: ids[i] } : { uploadId: ids[i], contentUploadId: ids[contentAt[i]] }));
    return this.call("document.verify", { items, online, language }, { signal, onProgress });
  }
}

// Uploads, batches and held results (lib/transfer.js).
Object.assign(TteAgent.prototype, transferMethods);

// pdfResults joins each file with its update, checking the announced size.
function pdfResults(files, res) {
  return res.items.map((it, i) => {
    const blob = new Blob([files[i], fromBase64(it.update)], { type: "application/pdf" });
    if (blob.size !== it.signedSize) {
      throw new AgentError("internal", `signed ${it.name} is ${blob.size} bytes, the agent says ${it.signedSize}`);
    }
    return { name: it.name, blob, signedSize: it.signedSize, level: it.level, revocation: res.revocation };
  });
}

// Every public method's failures reach the page as AgentErrors with a
// reason (asAgentError), whatever failed.
for (const m of ["connect", "call", "info", "tokens", "certificates", "certificateStatus", "signDigests", "signCms", "signPdf", "extendPdf", "verify", "encryptDocuments", "decryptDocuments"]) {
  const f = TteAgent.prototype[m];
  if (typeof f !== "function") continue;
  Object.defineProperty(TteAgent.prototype, m, {
    value: async function (...args) {
      try {
        return await f.apply(this, args);
      } catch (e) {
        throw asAgentError(e);
      }
    },
    writable: true,
    configurable: true,
  });
}

/** Connects to the agent: `const agent = await connect()`. */
export async function connect(opts) {
  return new TteAgent(opts).connect();
}
