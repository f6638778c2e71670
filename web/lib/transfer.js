// Documents to and from the agent: uploads (HTTP, the fast path, or
// binary frames), batches declared and sent behind their request, and
// results the agent holds for download. client.js installs these
// methods on TteAgent's prototype: `this` is the TteAgent.
import { AgentError, CLIENT_REASONS, asAgentError, cancelledError } from "./errors.js";
import { binaryFrame, fromBase64, sleep } from "./bytes.js";

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

export const transferMethods = {
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
  },

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
  },

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
  },

  // _sendDeclared sends the bytes of declared uploads in groups, as
  // _uploadGroups does, one group after another.
  async _sendDeclared(files, declared, limits, signal, sentBytes) {
    for (let i = 0; i < files.length;) {
      const n = groupSize(files, i, limits);
      await this._sendGroup(files.slice(i, i + n), declared.slice(i, i + n), signal, sentBytes);
      i += n;
    }
  },

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
  },

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
  },

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
  },

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
  },

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
  },

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
  },
};

// mapWindow calls fn on every item, at most width at a time, and settles
// as Promise.allSettled does, in order.
export async function mapWindow(items, width, fn) {
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
export function checkLimits(files, limits) {
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
export function groupSize(files, i, limits) {
  let n = 1;
  let bytes = files[i].size;
  while (i + n < files.length && n < limits.uploads && bytes + files[i + n].size <= GROUP_BYTES) {
    bytes += files[i + n].size;
    n++;
  }
  return n;
}

export function uploadParams(f) {
  const params = { name: fileName(f), size: f.size };
  if (f.type) params.mediaType = f.type;
  return params;
}

export function fileName(f) {
  return f.name || "dokumen";
}
