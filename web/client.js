// tte-agent-client: the browser side of tte-agent's protocol v1.
//
// An ES module with no dependencies and no build step. It connects to the
// agent on the user's workstation over ws://127.0.0.1, lists tokens and
// certificates, streams documents in binary frames and returns signed
// files as Blobs. See docs/integration.md in the tte-agent repository.

/** The agent's default WebSocket URL (contract §1). */
export const DEFAULT_URL = "ws://127.0.0.1:14545/v1";

/**
 * The ports an agent may listen on (its listen port and the nine after
 * it): on a machine where several users are logged in, each user's agent
 * takes the first free one, and the client finds its own with GET
 * /v1/hello, which only the agent that would serve this page answers.
 */
export const DEFAULT_PORTS = Object.freeze(Array.from({ length: 10 }, (_, i) => 14545 + i));

/** Reasons the client adds to the contract's own (§4). */
export const CLIENT_REASONS = Object.freeze({
  AGENT_UNAVAILABLE: "agent_unavailable",
  ORIGIN_NOT_ALLOWED: "origin_not_allowed",
  CONNECTION_LOST: "connection_lost",
  LOCAL_NETWORK_DENIED: "local_network_denied",
  // A file the page gave cannot be read (moved, deleted or changed on
  // disk since the user chose it).
  FILE_UNREADABLE: "file_unreadable",
  // Something failed in the page or the client, not in the agent; the
  // original error is the AgentError's `cause`.
  CLIENT_ERROR: "client_error",
});

const CHUNK = 1 << 20; // bytes of a document per binary frame
const HIGH_WATER = 8 << 20; // pause uploading above this bufferedAmount
const PARALLEL_UPLOADS = 4;
// Requests in flight while declaring many uploads: the agent answers busy
// past 16 on one connection (docs/protocol.md), and the sign request and
// document.uploadUrl need room beside them.
const DECLARE_WINDOW = 8;
const GROUP_BYTES = 16 << 20; // at most this much in one HTTP upload of several documents
// A batch of several documents over this many bytes is signed while its
// bytes still travel: the dialog shows at once and the token starts on
// the first documents (docs/protocol.md). A smaller one is uploaded first,
// so that the agent refuses an unsignable document before asking the user.
const STREAM_BYTES = 64 << 20;
// A held result (docs/protocol.md, "Results held for download") up to
// this size is also given as bytes; a larger one only as a Blob, which
// the browser may keep on disk.
const HELD_COPY_BYTES = 64 << 20;
const DOWNLOAD_PIECE = 1 << 20; // bytes per document.download

/**
 * An error from the agent or the connection. `reason` is the contract's
 * stable string (`pin_incorrect`, `token_removed`, ...) or one of
 * CLIENT_REASONS; `data` is the error's data member as the agent sent it.
 */
export class AgentError extends Error {
  constructor(reason, message, { code = 0, data = {} } = {}) {
    super(message);
    this.name = "AgentError";
    this.reason = reason;
    this.code = code;
    this.data = data;
  }
  /** Items finished before the request stopped, when the agent says. */
  get completed() {
    return this.data.completed;
  }
  /** The token's PIN status after a refused PIN, when the agent says. */
  get pinStatus() {
    return this.data.pinStatus;
  }
  /** Why a refused document cannot be signed (docs/protocol.md), if known. */
  get problem() {
    return this.data.problem;
  }
  /** The index of the refused document in the request's items, if known. */
  get item() {
    return this.data.item;
  }
  /**
   * Every refused document of the request, `[{item, name, problem,
   * detail}]`, when the agent says (docs/protocol.md).
   */
  get refused() {
    return this.data.refused ?? (this.data.item !== undefined ? [{ item: this.data.item, name: this.data.name, problem: this.data.problem, detail: this.data.detail }] : []);
  }
}

// asAgentError turns any failure into an AgentError with a reason, so
// that pages branch on `reason` alone: bad arguments are bad_request, a
// file the browser cannot read is file_unreadable, the rest client_error
// (the original error is `cause`).
function asAgentError(e) {
  if (e instanceof AgentError) return e;
  const name = e?.name ?? "";
  let reason = CLIENT_REASONS.CLIENT_ERROR;
  if (name === "NotReadableError" || name === "NotFoundError" || name === "NotAllowedError") reason = CLIENT_REASONS.FILE_UNREADABLE;
  else if (e instanceof TypeError || e instanceof RangeError) reason = "bad_request";
  else if (name === "InvalidStateError") reason = CLIENT_REASONS.CONNECTION_LOST;
  const err = new AgentError(reason, String(e?.message ?? e));
  err.cause = e;
  return err;
}

// blobs returns files (a FileList, an Array or any iterable of File or
// Blob) as an Array, or throws bad_request saying what is wrong.
function blobs(files, what = "files") {
  if (files == null || typeof files === "string" || typeof files[Symbol.iterator] !== "function") {
    throw new AgentError("bad_request", `${what} must be a FileList, an Array or another iterable of File or Blob objects`);
  }
  const all = Array.from(files);
  all.forEach((f, i) => {
    if (!(f instanceof Blob)) throw new AgentError("bad_request", `${what}[${i}] is not a File or Blob`);
  });
  return all;
}

const PDF_PROBLEMS = {
  id: {
    not_pdf: "Berkas ini bukan PDF. Kirim surat dalam format PDF.",
    truncated: "Berkas PDF ini terpotong (unduhan atau salinan yang tidak selesai). Unduh atau ekspor ulang berkasnya, lalu tandatangani lagi.",
    damaged: "Struktur berkas PDF ini rusak. Ekspor atau cetak ulang ke PDF, lalu tandatangani berkas yang baru.",
    broken_xref: "Tabel referensi silang (cross-reference) berkas PDF ini salah; penampil PDF hanya dapat membukanya dengan memperbaikinya sendiri, dan tanda tangan tidak dapat ditambahkan dengan aman. Buka berkas di penampil PDF, simpan sebagai PDF baru (Simpan Sebagai, atau Cetak ke PDF), lalu tandatangani berkas baru itu.",
    encrypted: "Berkas PDF ini dilindungi kata sandi untuk dibuka. Buka dengan kata sandinya, simpan salinan tanpa kata sandi, lalu tandatangani salinan itu.",
    permissions: "Pengaturan keamanan berkas PDF ini melarang pengisian formulir dan penandatanganan. Minta pembuat dokumen mengirim salinan yang mengizinkan tanda tangan.",
    certified: "Dokumen ini sudah disertifikasi dan sertifikasinya tidak mengizinkan tanda tangan tambahan. Minta pembuat dokumen versi yang mengizinkannya.",
    too_costly: "Berkas PDF ini terlalu berat untuk dibaca dengan aman (rusak atau dibuat untuk membebani). Ekspor atau cetak ulang ke PDF, lalu tandatangani berkas yang baru.",
    anchor_missing: "Penanda tempat tanda tangan (tag koordinat) tidak ditemukan di teks dokumen. Periksa penanda pada templat surat, atau pilih halaman dan posisi tanda tangan.",
  },
  en: {
    not_pdf: "This file is not a PDF. Send the letter as PDF.",
    truncated: "This PDF is truncated (an unfinished download or copy). Download or export it again, then sign it.",
    damaged: "This PDF's structure is damaged. Export or print it to PDF again, then sign the new file.",
    broken_xref: "This PDF's cross-reference table is wrong; viewers open it only by repairing it themselves, and a signature cannot be added safely. Open it in a PDF viewer, save it as a new PDF (Save As, or Print to PDF), then sign the new file.",
    encrypted: "This PDF needs a password to open. Open it with the password, save a copy without it, then sign that copy.",
    permissions: "This PDF's security settings forbid filling in forms and signing. Ask its author for a copy that allows signatures.",
    certified: "This document is certified, and its certification allows no more signatures. Ask its author for a version that allows them.",
    too_costly: "This PDF is too costly to read safely (damaged or built to overload). Export or print it to PDF again, then sign the new file.",
    anchor_missing: "The signature marker (the template's coordinate tag) is not in the document's text. Check the letter template's marker, or choose the page and position.",
  },
};

/**
 * Tells the user, in Indonesian ("id", the default) or English ("en"),
 * why a document was refused and what to do, from an AgentError's
 * `problem`; undefined for a problem this client does not know.
 */
export function describePdfProblem(problem, language = "id") {
  return (PDF_PROBLEMS[language] ?? PDF_PROBLEMS.id)[problem];
}

/** Encodes bytes as base64. */
export function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Decodes base64 into bytes. */
export function fromBase64(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Builds one binary frame: the 8-byte big-endian upload id, then bytes. */
export function binaryFrame(uploadId, bytes) {
  const frame = new Uint8Array(8 + bytes.byteLength);
  new DataView(frame.buffer).setBigUint64(0, BigInt(uploadId));
  frame.set(bytes, 8);
  return frame;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// cancelledError is what an AbortSignal turns into before the agent has a
// request to cancel: the same reason the agent answers, nothing completed.
function cancelledError() {
  return new AgentError("cancelled", "the request was cancelled", { data: { completed: 0 } });
}

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

  // _result gives an item's result as a Blob, and as bytes up to
  // HELD_COPY_BYTES. A result the agent holds is fetched from its URL
  // (the fast path), or read with document.download when there is no URL
  // (the extension) or the fetch fails; then it is released.
  async _result(it, inline, type, signal) {
    if (!it.downloadId) {
      const bytes = fromBase64(inline ?? "");
      return { bytes, blob: new Blob([bytes], { type }) };
    }
    let blob = null;
    if (it.downloadUrl && this._fetch) {
      try {
        const res = await this._fetch(it.downloadUrl, { mode: "cors", cache: "no-store", credentials: "omit", signal });
        const got = res.ok ? await res.blob() : null;
        // A transfer that broke off ends short: read it in pieces instead.
        if (got && got.size === it.size) blob = new Blob([got], { type });
      } catch (e) {
        if (signal?.aborted) throw new AgentError("cancelled", "The request was cancelled.");
      }
    }
    if (!blob) {
      const parts = [];
      for (let off = 0; off < it.size; ) {
        const r = await this.call("document.download", { downloadId: it.downloadId, offset: off, length: DOWNLOAD_PIECE }, { signal });
        const data = fromBase64(r.data ?? "");
        if (data.length === 0) throw new AgentError("internal", `The agent sent ${off} of ${it.size} bytes of ${it.name}; try again.`);
        parts.push(data);
        off += data.length;
      }
      blob = new Blob(parts, { type });
    }
    this.call("document.discard", { downloadId: it.downloadId }).catch(() => {});
    const bytes = it.size <= HELD_COPY_BYTES ? new Uint8Array(await blob.arrayBuffer()) : undefined;
    return { bytes, blob };
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

  // _signFiles sends files and the request method with params(ids). A
  // batch over STREAM_BYTES is declared first and its bytes sent behind
  // the request; a smaller one, or one an agent will not take that way,
  // is uploaded first.
  async _signFiles(method, files, params, { signal, onProgress }) {
    if (this._XHR && files.length > 1 && files.reduce((n, f) => n + f.size, 0) > STREAM_BYTES) {
      const res = await this._streamed(method, files, params, { signal, onProgress });
      if (res !== undefined) return res;
    }
    const ids = await this._uploadAll(files, { signal, onProgress });
    return this.call(method, params(ids), { signal, onProgress });
  }

  // _streamed declares every file, sends the request naming them at once
  // and their bytes behind it: the agent shows the dialog with the
  // declared names and sizes and signs each document as its bytes arrive
  // (docs/protocol.md, "some still arriving"). It returns undefined when
  // the agent will not hold the whole batch declared (an older agent
  // counts declared uploads as receiving): the caller uploads first.
  async _streamed(method, files, params, { signal, onProgress }) {
    const info = await this.info();
    checkLimits(files, info.limits);
    if (signal?.aborted) throw cancelledError();
    const settled = await mapWindow(files, DECLARE_WINDOW, (f) => this.call("document.upload", uploadParams(f)));
    const refused = settled.find((r) => r.status === "rejected");
    if (refused) {
      for (const r of settled) if (r.status === "fulfilled") this.call("document.discard", { uploadId: r.value.uploadId }).catch(() => {});
      if (refused.reason?.reason === "too_large") return undefined;
      throw refused.reason;
    }
    const declared = settled.map((r) => r.value);
    const total = files.reduce((n, f) => n + f.size, 0);
    let sent = 0;
    let agentSays = false; // once the agent reports its stages, they are the progress
    const sentBytes = (n) => {
      sent += n;
      if (!agentSays) onProgress?.({ stage: "uploading", done: sent, total });
    };
    const ctl = new AbortController();
    const abort = () => ctl.abort();
    signal?.addEventListener("abort", abort, { once: true });
    // The request goes first, so that the dialog does not wait for bytes.
    const request = this.call(method, params(declared.map((d) => d.uploadId)), {
      signal: ctl.signal,
      onProgress: (p) => {
        agentSays = true;
        onProgress?.(p);
      },
    });
    let sendErr = null;
    const sending = this._sendDeclared(files, declared, info.limits, ctl.signal, sentBytes).catch((e) => {
      sendErr = e;
      ctl.abort(); // the request cannot finish without these bytes
    });
    try {
      const res = await request;
      await sending;
      return res;
    } catch (err) {
      ctl.abort();
      await sending;
      // The request was cancelled because the bytes could not be sent:
      // that failure is the answer, unless the page cancelled.
      if (sendErr && !signal?.aborted && sendErr.reason !== "cancelled") throw asAgentError(sendErr);
      throw err;
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }

  // _sendDeclared sends the bytes of declared uploads in groups, as
  // _uploadGroups does, one group after another.
  async _sendDeclared(files, declared, limits, signal, sentBytes) {
    for (let i = 0; i < files.length;) {
      const n = groupSize(files, i, limits);
      await this._sendGroup(files.slice(i, i + n), declared.slice(i, i + n), signal, sentBytes);
      i += n;
    }
  }

  // _uploadAll streams the files to the agent (document.upload + binary
  // frames), a few at a time, and returns their upload ids in order.
  async _uploadAll(files, { signal, onProgress }) {
    const info = await this.info();
    checkLimits(files, info.limits);
    const total = files.reduce((n, f) => n + f.size, 0);
    let sent = 0;
    const report = () => onProgress?.({ stage: "uploading", done: sent, total });
    report();
    const ids = new Array(files.length);
    const sentBytes = (n) => {
      sent += n;
      report();
    };
    let next = 0;
    const width = Math.min(PARALLEL_UPLOADS, info.limits.uploads, files.length);
    const worker = async () => {
      while (next < files.length) {
        const i = next++;
        ids[i] = await this._upload(files[i], signal, sentBytes);
      }
    };
    try {
      // Many small documents: a few at a time in one HTTP body each, as
      // browsers pay a fixed price per request. The first group tells
      // whether the agent offers HTTP at all; the rest then follow.
      if (this._XHR && files.length > 1) next = await this._uploadGroups(files, ids, info.limits, signal, sentBytes);
      await Promise.all(Array.from({ length: width }, worker));
    } catch (err) {
      if (signal?.aborted) err = cancelledError();
      // Uploads already made are discarded by the agent when the
      // connection closes; free them now so the connection stays usable.
      for (const id of ids) if (id !== undefined) this.call("document.discard", { uploadId: id }).catch(() => {});
      throw err;
    }
    return ids;
  }

  // _uploadGroups sends files in groups of at most limits.uploads
  // documents and GROUP_BYTES, each group in one HTTP request through a
  // document.uploadUrl URL, filling ids. It returns how many files it sent:
  // 0 when the agent offers no HTTP, leaving them all to _upload.
  async _uploadGroups(files, ids, limits, signal, sentBytes) {
    let i = 0;
    while (i < files.length) {
      if (signal?.aborted) throw cancelledError();
      const group = files.slice(i, i + groupSize(files, i, limits));
      const settled = await mapWindow(group, DECLARE_WINDOW, (f) => this.call("document.upload", uploadParams(f)));
      const declared = settled.map((r) => r.value);
      declared.forEach((d, k) => { if (d) ids[i + k] = d.uploadId; });
      const refused = settled.find((r) => r.status === "rejected");
      if (refused) throw refused.reason;
      if (!declared.some((d) => d.uploadUrl)) {
        // An agent without the fast path: frames for these and the rest.
        for (const [k, d] of declared.entries()) await this._frames(d.uploadId, group[k], signal, sentBytes, () => null);
        return i + group.length;
      }
      await this._sendGroup(group, declared, signal, sentBytes);
      i += group.length;
    }
    return i;
  }

  // _sendGroup sends the bytes of a group of declared uploads in one HTTP
  // request (document.uploadUrl for several), in frames when the agent
  // offers no URL or the request never reached it.
  async _sendGroup(group, declared, signal, sentBytes) {
    if (signal?.aborted) throw cancelledError();
    const failures = new Map();
    const onErr = (p) => failures.set(p.uploadId, p.error);
    this._docErrors.add(onErr);
    try {
      let viaHTTP = false;
      if (this._XHR && declared.every((d) => d.uploadUrl)) {
        const url = group.length === 1 ? declared[0].uploadUrl
          : (await this.call("document.uploadUrl", { uploadIds: declared.map((d) => d.uploadId) })).uploadUrl;
        const bytes = group.reduce((n, f) => n + f.size, 0);
        const failed = () => declared.map((d) => failures.get(d.uploadId)).find(Boolean) ?? null;
        viaHTTP = await this._put(url, group.length === 1 ? group[0] : new Blob(group), bytes, signal, sentBytes, failed);
      }
      if (!viaHTTP) {
        for (const [k, d] of declared.entries()) await this._frames(d.uploadId, group[k], signal, sentBytes, () => failures.get(d.uploadId) ?? null);
      }
    } finally {
      this._docErrors.delete(onErr);
    }
  }

  async _upload(file, signal, sentBytes) {
    if (signal?.aborted) throw cancelledError();
    const { uploadId, uploadUrl } = await this.call("document.upload", uploadParams(file));
    let failed = null;
    const onErr = (p) => {
      if (p.uploadId === uploadId) failed = p.error;
    };
    this._docErrors.add(onErr);
    try {
      // The fast path: the browser streams the File itself in one HTTP
      // request, many times faster than WebSocket frames. Frames remain
      // the fallback when the agent offers no URL or the request never
      // reached it (a browser or proxy blocking it).
      if (uploadUrl && this._XHR && (await this._put(uploadUrl, file, file.size, signal, sentBytes, () => failed))) return uploadId;
      await this._frames(uploadId, file, signal, sentBytes, () => failed);
    } finally {
      this._docErrors.delete(onErr);
    }
    return uploadId;
  }

  // _frames sends file's bytes to upload uploadId in binary frames.
  async _frames(uploadId, file, signal, sentBytes, failed) {
    for (let off = 0; off < file.size; off += CHUNK) {
      if (signal?.aborted) throw cancelledError();
      const f = failed();
      if (f) throw new AgentError(f.data?.reason ?? "bad_request", f.message, { code: f.code, data: f.data });
      if (!this.connected) throw new AgentError(CLIENT_REASONS.CONNECTION_LOST, "the connection to tte-agent was lost");
      const bytes = new Uint8Array(await file.slice(off, off + CHUNK).arrayBuffer());
      while (this._ws && this._ws.bufferedAmount > HIGH_WATER) await sleep(5);
      this._ws.send(binaryFrame(uploadId, bytes));
      sentBytes(bytes.byteLength);
    }
  }

  // _put sends file to the upload URL with progress and cancel; it
  // resolves true when the agent took it, false when the request never
  // reached the agent (nothing sent: use frames), and rejects otherwise.
  _put(url, file, size, signal, sentBytes, failed) {
    return new Promise((resolve, reject) => {
      const xhr = new this._XHR();
      let loaded = 0;
      const abort = () => xhr.abort();
      // POST of an untyped Blob is a CORS "simple" request: no preflight,
      // one round trip less per document. new Blob([file]) refers to the
      // file's data; nothing is copied.
      xhr.open("POST", url);
      xhr.upload.onprogress = (e) => {
        sentBytes(e.loaded - loaded);
        loaded = e.loaded;
      };
      xhr.onload = () => {
        signal?.removeEventListener("abort", abort);
        if (xhr.status >= 200 && xhr.status < 300) {
          sentBytes(size - loaded);
          resolve(true);
          return;
        }
        const f = failed();
        reject(f ? new AgentError(f.data?.reason ?? "bad_request", f.message, { code: f.code, data: f.data })
          : new AgentError(xhr.status === 404 || xhr.status === 410 ? CLIENT_REASONS.CONNECTION_LOST : "bad_request", `tte-agent refused the upload of ${fileName(file)}: ${xhr.responseText}`));
      };
      xhr.onerror = () => {
        signal?.removeEventListener("abort", abort);
        if (loaded === 0) resolve(false);
        else reject(new AgentError(CLIENT_REASONS.CONNECTION_LOST, `the upload of ${fileName(file)} to tte-agent broke off`));
      };
      xhr.onabort = () => reject(cancelledError());
      if (signal?.aborted) {
        reject(cancelledError());
        return;
      }
      signal?.addEventListener("abort", abort, { once: true });
      xhr.send(file.type ? new Blob([file]) : file);
    });
  }
}

let extensionConns = 0;

// ExtensionSocket is the part of the WebSocket interface the client uses,
// over the tte-agent browser extension: messages go to its content script
// with window.postMessage, and from there through native messaging to the
// agent's private channel. The page's origin is added by the extension from
// the browser's own sender information. No HTTP uploads here: the agent
// offers none on this transport, so documents go as binary messages.
class ExtensionSocket {
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

// mapWindow calls fn on every item, at most width at a time, and settles
// as Promise.allSettled does, in order.
async function mapWindow(items, width, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = { status: "fulfilled", value: await fn(items[i]) };
      } catch (reason) {
        out[i] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

// checkLimits refuses a batch the agent would refuse, before any byte.
function checkLimits(files, limits) {
  if (files.length > limits.items) {
    throw new AgentError("too_large", `at most ${limits.items} documents can be signed at once`);
  }
  for (const f of files) {
    if (f.size > limits.documentBytes) {
      throw new AgentError("too_large", `${fileName(f)} is larger than ${limits.documentBytes} bytes`);
    }
  }
}

// groupSize is how many files from i go in one HTTP request: at most the
// agent's uploads limit and GROUP_BYTES (one file at least).
function groupSize(files, i, limits) {
  let n = 1;
  let bytes = files[i].size;
  while (i + n < files.length && n < limits.uploads && bytes + files[i + n].size <= GROUP_BYTES) {
    bytes += files[i + n].size;
    n++;
  }
  return n;
}

function uploadParams(f) {
  const params = { name: fileName(f), size: f.size };
  if (f.type) params.mediaType = f.type;
  return params;
}

function fileName(f) {
  return f.name || "dokumen";
}

// Every public method's failures reach the page as AgentErrors with a
// reason (asAgentError), whatever failed.
for (const m of ["connect", "call", "info", "tokens", "certificates", "certificateStatus", "signDigests", "signCms", "signPdf", "extendPdf", "verify"]) {
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

const REASON_MESSAGES = {
  id: {
    agent_unavailable: "tte-agent tidak berjalan di komputer ini. Jalankan tte-agent (atau hubungi admin TI), lalu muat ulang halaman.",
    origin_not_allowed: "Situs ini belum diizinkan oleh tte-agent. Minta admin TI menambahkan alamat e-office ini ke kebijakan tte-agent.",
    connection_lost: "Koneksi ke tte-agent terputus. Muat ulang halaman.",
    local_network_denied: "Browser memblokir situs ini menghubungi tte-agent. Izinkan \"akses jaringan lokal\" di pengaturan situs (ikon gembok), atau minta admin TI memasang kebijakan browser untuk situs ini (tte-agent policy write, atau pasang ulang tte-agent dengan daftar situs e-office).",
    file_unreadable: "Berkas yang dipilih tidak dapat dibaca lagi (dipindah, dihapus, atau diubah sejak dipilih). Pilih berkasnya kembali.",
    client_error: "Terjadi kesalahan di halaman ini, bukan di tte-agent. Muat ulang halaman lalu coba lagi; jika berulang, hubungi admin aplikasi.",
    parse_error: "Halaman mengirim pesan yang tidak dapat dibaca tte-agent. Muat ulang halaman; jika berulang, hubungi admin aplikasi.",
    invalid_request: "Halaman mengirim permintaan yang tidak sah ke tte-agent. Muat ulang halaman; jika berulang, hubungi admin aplikasi.",
    method_not_found: "Versi tte-agent di komputer ini belum mendukung fungsi ini. Minta admin TI memperbarui tte-agent.",
    bad_request: "Permintaan tidak dapat diproses tte-agent. Periksa dokumen dan pilihan Anda, lalu coba lagi.",
    internal: "Terjadi kesalahan di tte-agent. Coba lagi; jika berulang, minta admin TI memeriksa log tte-agent.",
    not_permitted: "Situs ini tidak diizinkan melakukan tindakan tersebut. Minta admin TI memeriksa kebijakan tte-agent.",
    user_cancelled: "Penandatanganan dibatalkan di dialog PIN.",
    pin_incorrect: "PIN salah. Periksa PIN lalu coba lagi.",
    pin_locked: "PIN token terblokir. Hubungi admin/RA untuk membukanya.",
    token_removed: "Token dicabut saat penandatanganan. Pasang kembali token lalu coba lagi.",
    certificate_not_found: "Sertifikat tidak ditemukan. Pasang token lalu muat ulang daftar sertifikat.",
    certificate_invalid: "Sertifikat tidak berlaku (kedaluwarsa, belum berlaku, dicabut, tidak dipercaya, atau bukan untuk tanda tangan).",
    too_large: "Dokumen terlalu besar atau terlalu banyak untuk sekali proses.",
    busy: "tte-agent sedang melayani permintaan lain. Coba lagi sebentar lagi.",
    cancelled: "Penandatanganan dibatalkan.",
    timeout: "Dialog PIN tidak dijawab tepat waktu. Coba lagi.",
    upstream_failed: "Layanan cap waktu (TSA) atau pemeriksaan status sertifikat (OCSP/CRL) tidak dapat dihubungi. Coba lagi nanti.",
    dialog_unavailable: "Dialog PIN tte-agent tidak dapat ditampilkan (jendela terminal terlalu kecil, atau tidak ada layar). Perbesar jendela terminal tempat tte-agent berjalan lalu coba lagi, atau minta admin TI memasang pinentry grafis.",
  },
  en: {
    agent_unavailable: "tte-agent is not running on this computer. Start tte-agent (or ask IT), then reload the page.",
    origin_not_allowed: "tte-agent does not allow this site yet. Ask IT to add this site's address to the tte-agent policy.",
    connection_lost: "The connection to tte-agent was lost. Reload the page.",
    local_network_denied: "The browser blocks this site from reaching tte-agent. Allow \"local network access\" in the site settings (the padlock icon), or ask IT to install the browser policy for this site (tte-agent policy write, or reinstall tte-agent with the e-office sites).",
    file_unreadable: "A chosen file cannot be read any more (moved, deleted or changed since it was chosen). Choose it again.",
    client_error: "Something failed in this page, not in tte-agent. Reload the page and try again; if it happens again, tell the application's administrator.",
    parse_error: "The page sent a message tte-agent cannot read. Reload the page; if it happens again, tell the application's administrator.",
    invalid_request: "The page sent tte-agent an invalid request. Reload the page; if it happens again, tell the application's administrator.",
    method_not_found: "The tte-agent on this computer does not support this yet. Ask IT to update tte-agent.",
    bad_request: "tte-agent cannot process this request. Check your documents and choices, then try again.",
    internal: "Something failed inside tte-agent. Try again; if it happens again, ask IT to look at tte-agent's log.",
    not_permitted: "This site is not allowed to do that. Ask IT to check the tte-agent policy.",
    user_cancelled: "Signing was cancelled in the PIN dialog.",
    pin_incorrect: "The PIN is wrong. Check it and try again.",
    pin_locked: "The token's PIN is locked. Ask your administrator/RA to unlock it.",
    token_removed: "The token was removed while signing. Insert it again and retry.",
    certificate_not_found: "The certificate was not found. Insert the token and reload the certificate list.",
    certificate_invalid: "The certificate cannot be used (expired, not yet valid, revoked, untrusted, or not for signing).",
    too_large: "The documents are too large or too many for one request.",
    busy: "tte-agent is busy with another request. Try again shortly.",
    cancelled: "Cancelled.",
    timeout: "The PIN dialog was not answered in time. Try again.",
    upstream_failed: "The time-stamping service (TSA) or certificate status service (OCSP/CRL) cannot be reached. Try again later.",
    dialog_unavailable: "tte-agent's PIN dialog cannot be shown (the terminal window is too small, or there is no screen). Enlarge the terminal tte-agent runs in and try again, or ask IT to install a graphical pinentry.",
  },
};

/**
 * What to tell the user about an AgentError, in Indonesian ("id", the
 * default) or English ("en"): what happened and what to do. Every reason
 * has words; a refused document names itself (from `files`, the files
 * the request was given, or the agent's name for it) and why, for every
 * refused document.
 */
export function describeError(e, { language = "id", files } = {}) {
  const en = language === "en";
  const words = REASON_MESSAGES[en ? "en" : "id"];
  if (!(e instanceof AgentError)) e = asAgentError(e);
  let text = words[e.reason] ?? (en ? `tte-agent refused the request (${e.reason}).` : `tte-agent menolak permintaan (${e.reason}).`);
  const refused = e.reason === "bad_request" ? e.refused.filter((r) => r.problem) : [];
  if (refused.length) {
    const list = Array.from(files ?? []);
    text = refused.map((r) => {
      const name = list[r.item]?.name ?? r.name ?? `#${r.item + 1}`;
      const why = describePdfProblem(r.problem, en ? "en" : "id") ?? r.detail;
      return en ? `"${name}" cannot be signed: ${why}` : `Berkas "${name}" tidak dapat ditandatangani: ${why}`;
    }).join(" ") + (en ? " Nothing was signed." : " Tidak ada dokumen yang ditandatangani.");
  }
  if (e.reason === "pin_incorrect" && e.pinStatus === "final_try") {
    text += en ? " One try left: a wrong PIN once more locks the token." : " Sisa satu percobaan: PIN salah sekali lagi akan memblokir token.";
  }
  if (e.reason === "pin_incorrect" && e.pinStatus === "locked") text = words.pin_locked;
  if ((e.reason === "cancelled" || e.reason === "token_removed") && e.completed !== undefined) {
    text += en ? ` ${e.completed} documents were finished before it stopped; none was kept.` : ` ${e.completed} dokumen sudah ditandatangani sebelum berhenti; tidak ada yang disimpan.`;
  }
  return text;
}

/** Connects to the agent: `const agent = await connect()`. */
export async function connect(opts) {
  return new TteAgent(opts).connect();
}
