// Unit tests of the client's own logic against a fake agent (node:test).
// The real agent and a real browser are exercised by web/e2e.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";

import { AgentError, DEFAULT_PORTS, TteAgent, binaryFrame, describeError, describePdfProblem, fromBase64, toBase64 } from "../client.js";
import { FakeAgent, INFO } from "./fakews.mjs";

function agentWith(fake, opts = {}) {
  return new TteAgent({ WebSocket: fake.WebSocket, retryDelay: 1, fetch: opts.fetch ?? (() => Promise.reject(new TypeError("refused"))), ...opts });
}

test("binary frames carry the upload id big-endian before the bytes", () => {
  const f = binaryFrame(0x0102030405, new Uint8Array([9, 8, 7]));
  assert.deepEqual([...f], [0, 0, 0, 1, 2, 3, 4, 5, 9, 8, 7]);
  const big = binaryFrame(2 ** 53 - 1, new Uint8Array(0));
  assert.deepEqual([...big], [0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
});

test("every refusal problem the agent documents has words in both languages", async () => {
  const { readFile } = await import("node:fs/promises");
  const doc = await readFile(new URL("../../docs/protocol.md", import.meta.url), "utf8");
  const problems = [...doc.matchAll(/^\| `([a-z_]+)` \| (?:is|ends|has|needs|carries|would|does)/gm)].map((m) => m[1]);
  assert.ok(problems.length >= 9, `found ${problems}`);
  for (const p of problems) {
    assert.match(describePdfProblem(p) ?? "", /\. /, `no Indonesian words for ${p}`);
    assert.ok(describePdfProblem(p, "en"), `no English words for ${p}`);
    assert.notEqual(describePdfProblem(p), describePdfProblem(p, "en"));
  }
  const e = new AgentError("bad_request", "x", { data: { problem: "encrypted", item: 2 } });
  assert.equal(e.problem, "encrypted");
  assert.equal(e.item, 2);
  assert.match(describePdfProblem(e.problem), /kata sandi/);
});

test("base64 round-trips every byte value and large buffers", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(toBase64(all), Buffer.from(all).toString("base64"));
  const big = new Uint8Array(randomBytes(300_000));
  assert.deepEqual(fromBase64(toBase64(big)), big);
});

test("connect retries, then succeeds", async () => {
  const fake = new FakeAgent();
  fake.refuse = 2;
  const a = await agentWith(fake, { retries: 3 }).connect();
  assert.equal(fake.attempts, 3);
  assert.ok(a.connected);
});

test("nothing on the port: agent_unavailable after the retries", async () => {
  const fake = new FakeAgent();
  fake.refuse = 99;
  const probes = [];
  const a = agentWith(fake, { retries: 2, fetch: (url, init) => { probes.push([url, init.mode]); return Promise.reject(new TypeError("Failed to fetch")); } });
  await assert.rejects(a.connect(), (e) => e instanceof AgentError && e.reason === "agent_unavailable" && /not running/.test(e.message));
  assert.equal(fake.attempts, 2);
  // Each attempt looks for this user's agent on every port of the range;
  // then one opaque probe tells "not running" from "not allowed".
  const hellos = DEFAULT_PORTS.map((p) => [`http://127.0.0.1:${p}/v1/hello`, "cors"]);
  assert.deepEqual(probes, [...hellos, ...hellos, ["http://127.0.0.1:14545/", "no-cors"]]);
});

test("several users on one machine: the client connects to the port whose agent answers this page's hello", async () => {
  const fake = new FakeAgent().on("agent.info", () => INFO);
  let url;
  const WebSocket = class extends fake.WebSocket {
    constructor(u) {
      super(u);
      url = u;
    }
  };
  // 14545 is another user's agent (403, unreadable: a CORS failure), 14546
  // is free, 14547 is ours.
  const fetch = (u) => u === "http://127.0.0.1:14547/v1/hello"
    ? Promise.resolve({ ok: true, json: () => Promise.resolve({ agent: "tte-agent", protocol: 1 }) })
    : Promise.reject(new TypeError("Failed to fetch"));
  const a = new TteAgent({ WebSocket, fetch, retryDelay: 1 });
  await a.connect();
  assert.equal(url, "ws://127.0.0.1:14547/v1");
  assert.equal(a.url, "ws://127.0.0.1:14547/v1");
  // An explicit url is used as it is, without looking.
  const seen = [];
  const b = new TteAgent({ url: "ws://127.0.0.1:9999/v1", WebSocket, fetch: (u) => { seen.push(u); return fetch(u); }, retryDelay: 1 });
  await b.connect();
  assert.equal(url, "ws://127.0.0.1:9999/v1");
  assert.deepEqual(seen, []);
});

test("the agent answers but refuses the handshake: origin_not_allowed", async () => {
  const fake = new FakeAgent();
  fake.refuse = 99;
  const a = agentWith(fake, { retries: 1, fetch: () => Promise.resolve({ type: "opaque" }) });
  await assert.rejects(a.connect(), (e) => e.reason === "origin_not_allowed" && /refuses pages/.test(e.message));
});

test("the browser denied local network access: local_network_denied, not 'not running'", async () => {
  const fake = new FakeAgent();
  fake.refuse = 99;
  const asked = [];
  const permissions = { query: (d) => { asked.push(d.name); return Promise.resolve({ state: "denied" }); } };
  await assert.rejects(agentWith(fake, { retries: 1, permissions }).connect(), (e) => e.reason === "local_network_denied" && /local network access/.test(e.message));
  assert.deepEqual(asked, ["local-network-access"]);
  // A browser that does not know the permission: the probe decides.
  const unknown = { query: () => Promise.reject(new TypeError("unknown permission")) };
  await assert.rejects(agentWith(fake, { retries: 1, permissions: unknown }).connect(), (e) => e.reason === "agent_unavailable");
});

test("too many connections (close 1013) is busy, without retrying", async () => {
  const fake = new FakeAgent();
  fake.refuse = 99;
  fake.closeCode = 1013;
  await assert.rejects(agentWith(fake, { retries: 3 }).connect(), (e) => e.reason === "busy");
  assert.equal(fake.attempts, 1);
});

test("a connection the agent closes with 1013 after the handshake fails its request with busy", async () => {
  const fake = new FakeAgent().on("tokens.list", (p, msg, ws) => { ws.close(1013); });
  const a = await agentWith(fake).connect();
  await assert.rejects(a.tokens(), (e) => e.reason === "busy" && e.data.closeCode === 1013);
});

test("agent errors keep their reason, code and data", async () => {
  const fake = new FakeAgent().on("sign.digest", () => FakeAgent.error("pin_incorrect", -32003, { pinStatus: "final_try" }));
  const a = await agentWith(fake).connect();
  await assert.rejects(a.signDigests({ certificateId: "c", items: [{ name: "x", digest: new Uint8Array(32) }] }), (e) => {
    assert.ok(e instanceof AgentError);
    assert.equal(e.reason, "pin_incorrect");
    assert.equal(e.code, -32003);
    assert.equal(e.pinStatus, "final_try");
    return true;
  });
  const req = fake.sent.find((m) => m.method === "sign.digest");
  assert.deepEqual(req.params, { certificateId: "c", hashAlgorithm: "SHA-256", items: [{ name: "x", digest: toBase64(new Uint8Array(32)) }] });
});

test("signPdf streams each file in order and returns original ‖ update", async () => {
  const fake = new FakeAgent().on("agent.info", () => INFO);
  let nextUpload = 0;
  const declared = new Map();
  fake.on("document.upload", (p) => { declared.set(++nextUpload, p); return { uploadId: nextUpload }; });
  fake.on("sign.pdf", (p, msg, ws) => {
    ws.deliver({ jsonrpc: "2.0", method: "progress", params: { id: msg.id, stage: "awaiting_user", done: 0, total: 2 } });
    ws.deliver({ jsonrpc: "2.0", method: "progress", params: { id: msg.id, stage: "signing", done: 2, total: 2 } });
    return { items: p.items.map((it) => ({ name: declared.get(it.uploadId).name, update: toBase64(new TextEncoder().encode(`upd${it.uploadId}`)), signedSize: declared.get(it.uploadId).size + 4 })) };
  });
  const big = new Uint8Array(randomBytes((2 << 20) + 123)); // three frames
  const files = [new File([big], "surat-1.pdf", { type: "application/pdf" }), new File(["%PDF-1.7 kecil"], "surat-2.pdf", { type: "application/pdf" })];
  const stages = [];
  const a = await agentWith(fake).connect();
  const out = await a.signPdf(files, { certificateId: "tok/01", level: "B-B", reason: "Setuju", onProgress: (p) => stages.push(`${p.stage}:${p.done}/${p.total}`) });

  // Uploads: declared with name, size and type; frames reassemble them.
  assert.deepEqual([...declared.values()].map((d) => [d.name, d.size, d.mediaType]).sort(), [["surat-1.pdf", big.length, "application/pdf"], ["surat-2.pdf", 14, "application/pdf"]]);
  const got = new Map();
  for (const f of fake.frames) {
    assert.ok(f.length <= 8 + (1 << 20), "a frame over 1 MiB of payload");
    const id = Number(new DataView(f.buffer, f.byteOffset).getBigUint64(0));
    got.set(id, Buffer.concat([got.get(id) ?? Buffer.alloc(0), Buffer.from(f.subarray(8))]));
  }
  const idOf = (name) => [...declared].find(([, d]) => d.name === name)[0];
  assert.ok(got.get(idOf("surat-1.pdf")).equals(Buffer.from(big)));
  assert.equal(got.get(idOf("surat-2.pdf")).toString(), "%PDF-1.7 kecil");

  // The sign request names the uploads in the files' order.
  const req = fake.sent.find((m) => m.method === "sign.pdf");
  assert.deepEqual(req.params.items, [{ uploadId: idOf("surat-1.pdf") }, { uploadId: idOf("surat-2.pdf") }]);
  assert.equal(req.params.reason, "Setuju");
  assert.equal(req.params.location, undefined);

  assert.equal(out[1].name, "surat-2.pdf");
  assert.equal(await out[1].blob.text(), `%PDF-1.7 kecilupd${idOf("surat-2.pdf")}`);
  assert.equal(out[0].blob.size, big.length + 4);
  assert.equal(out[0].blob.type, "application/pdf");
  assert.equal(stages[0], `uploading:0/${big.length + 14}`);
  assert.ok(stages.includes(`uploading:${big.length + 14}/${big.length + 14}`));
  assert.deepEqual(stages.slice(-2), ["awaiting_user:0/2", "signing:2/2"]);
});

test("files come as a FileList, an Array or any iterable; anything else is bad_request, never a TypeError", async () => {
  const fake = new FakeAgent().on("agent.info", () => INFO);
  let n = 0;
  fake.on("document.upload", () => ({ uploadId: ++n }));
  fake.on("sign.pdf", (p) => ({ items: p.items.map((it) => ({ name: `d${it.uploadId}`, update: toBase64(new Uint8Array(2)), signedSize: 6 })) }));
  const a = await agentWith(fake).connect();
  const make = () => [new File(["%PDF"], "a.pdf"), new File(["%PDF"], "b.pdf")];
  // What an <input type=file> gives: array-like and iterable, not an Array.
  const fileList = (files) => Object.assign(Object.create({ item(i) { return this[i]; }, *[Symbol.iterator]() { for (let i = 0; i < this.length; i++) yield this[i]; } }), { ...files, length: files.length });
  for (const files of [make(), fileList(make()), new Set(make()), (function* () { yield* make(); })()]) {
    const out = await a.signPdf(files, { certificateId: "c" });
    assert.equal(out.length, 2);
    assert.equal(out[1].blob.size, 6);
  }
  for (const bad of [undefined, "a.pdf", 42, [new File(["x"], "a.pdf"), "b.pdf"], [{ size: 3 }]]) {
    await assert.rejects(a.signPdf(bad, { certificateId: "c" }), (e) => e instanceof AgentError && e.reason === "bad_request" && /File or Blob/.test(e.message));
  }
});

test("a file the browser cannot read any more is file_unreadable; a failure in the page is client_error with its cause", async () => {
  const fake = new FakeAgent().on("agent.info", () => INFO).on("document.upload", () => ({ uploadId: 1 }));
  const a = await agentWith(fake).connect();
  class Gone extends Blob {
    slice() {
      return { arrayBuffer: () => Promise.reject(Object.assign(new Error("the file changed"), { name: "NotReadableError" })) };
    }
  }
  await assert.rejects(a.signPdf([new Gone(["%PDF-1.7"])], { certificateId: "c" }), (e) => e instanceof AgentError && e.reason === "file_unreadable" && e.cause?.name === "NotReadableError");
  const broken = { get onProgress() { throw new Error("page bug"); } };
  await assert.rejects(a.signPdf([new File(["%PDF"], "a.pdf")], broken), (e) => e instanceof AgentError && e.reason === "client_error" && e.cause?.message === "page bug");
});

test("describeError has Indonesian and English words for every reason, and names every refused document", async () => {
  const { readFile } = await import("node:fs/promises");
  const dts = await readFile(new URL("../client.d.ts", import.meta.url), "utf8");
  const union = dts.slice(dts.indexOf("export type Reason ="), dts.indexOf(";", dts.indexOf("export type Reason =")));
  const reasons = [...union.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
  assert.ok(reasons.length >= 23, `${reasons}`);
  for (const r of reasons) {
    const id = describeError(new AgentError(r, "x")), en = describeError(new AgentError(r, "x"), { language: "en" });
    assert.ok(id && !/menolak permintaan \(/.test(id), `no Indonesian words for ${r}`);
    assert.ok(en && !/refused the request \(/.test(en), `no English words for ${r}`);
    assert.notEqual(id, en);
  }
  const e = new AgentError("bad_request", "x", { data: { item: 1, problem: "encrypted", refused: [
    { item: 1, name: "b.pdf", problem: "encrypted", detail: "…" }, { item: 3, name: "d.pdf", problem: "broken_xref", detail: "…" }] } });
  const text = describeError(e, { files: [{ name: "a.pdf" }, { name: "Surat B.pdf" }, { name: "c.pdf" }, { name: "Surat D.pdf" }] });
  assert.match(text, /Berkas "Surat B\.pdf" tidak dapat ditandatangani: .*kata sandi.* Berkas "Surat D\.pdf" tidak dapat ditandatangani: .*cross-reference.*Tidak ada dokumen yang ditandatangani\./);
  assert.match(describeError(new AgentError("pin_incorrect", "x", { data: { pinStatus: "final_try" } })), /Sisa satu percobaan/);
  assert.match(describeError(new TypeError("boom")), /kesalahan di halaman ini|Permintaan tidak dapat/);
});

// fakeXHR is an XMLHttpRequest that answers with status (0: the request
// never reached anything) after reporting progress.
function fakeXHR(status, log) {
  return class {
    constructor() {
      this.upload = {};
      this.status = 0;
      this.responseText = "";
    }
    open(method, url) {
      this.method = method;
      this.url = url;
    }
    abort() {
      this.onabort?.();
    }
    send(body) {
      log.push({ method: this.method, url: this.url, body });
      queueMicrotask(() => {
        if (status === 0) return this.onerror?.();
        this.upload.onprogress?.({ loaded: Math.floor(body.size / 2) });
        this.status = status;
        this.responseText = status === 204 ? "" : "bad request: more bytes than its declared size";
        this.onload?.();
      });
    }
  };
}

test("the fast path: files go in one HTTP PUT to the URL document.upload gives, with progress; frames when the PUT cannot reach the agent", async () => {
  for (const [status, viaHTTP] of [[204, true], [0, false]]) {
    const fake = new FakeAgent().on("agent.info", () => INFO);
    let n = 0;
    fake.on("document.upload", () => ({ uploadId: ++n, uploadUrl: `http://127.0.0.1:14545/v1/upload/tok${n}` }));
    fake.on("sign.pdf", (p) => ({ items: p.items.map((it) => ({ name: "a.pdf", update: toBase64(new Uint8Array(2)), signedSize: 6 })) }));
    const log = [];
    const a = agentWith(fake, { XMLHttpRequest: fakeXHR(status, log) });
    await a.connect();
    const file = new File(["%PDF"], "a.pdf");
    const stages = [];
    await a.signPdf([file], { certificateId: "c", onProgress: (p) => stages.push(`${p.stage}:${p.done}/${p.total}`) });
    assert.equal(log.length, 1);
    assert.equal(log[0].method, "POST");
    assert.equal(log[0].url, "http://127.0.0.1:14545/v1/upload/tok1");
    assert.equal(log[0].body, file, "the File itself is the body (untyped: no CORS preflight): no chunks copied in JavaScript");
    assert.equal(fake.frames.length, viaHTTP ? 0 : 1, viaHTTP ? "no frames on the fast path" : "frames when the PUT never reached the agent");
    assert.ok(stages.includes("uploading:4/4"), `${stages}`);
    if (viaHTTP) assert.ok(stages.includes("uploading:2/4"), `progress from the PUT: ${stages}`);
  }
  // Refused by the agent: an AgentError with the agent's words.
  const fake = new FakeAgent().on("agent.info", () => INFO).on("document.upload", () => ({ uploadId: 1, uploadUrl: "http://127.0.0.1:14545/v1/upload/t" }));
  const a = agentWith(fake, { XMLHttpRequest: fakeXHR(400, []) });
  await assert.rejects(a.signPdf([new File(["%PDF"], "a.pdf")], { certificateId: "c" }), (e) => e instanceof AgentError && e.reason === "bad_request" && /declared size/.test(e.message));
  // httpUploads: false keeps to frames.
  const framesOnly = new FakeAgent().on("agent.info", () => INFO).on("document.upload", () => ({ uploadId: 1, uploadUrl: "http://127.0.0.1:14545/v1/upload/t" }));
  framesOnly.on("sign.pdf", () => ({ items: [{ name: "a.pdf", update: toBase64(new Uint8Array(2)), signedSize: 6 }] }));
  const log = [];
  await agentWith(framesOnly, { XMLHttpRequest: fakeXHR(204, log), httpUploads: false }).signPdf([new File(["%PDF"], "a.pdf")], { certificateId: "c" });
  assert.equal(log.length, 0);
  assert.equal(framesOnly.frames.length, 1);
});

test("a signed size that does not add up is an error, not a corrupt file", async () => {
  const fake = new FakeAgent().on("agent.info", () => INFO).on("document.upload", () => ({ uploadId: 1 }));
  fake.on("sign.pdf", () => ({ items: [{ name: "a.pdf", update: toBase64(new Uint8Array(3)), signedSize: 999 }] }));
  const a = await agentWith(fake).connect();
  await assert.rejects(a.signPdf([new File(["%PDF"], "a.pdf")], { certificateId: "c" }), (e) => e.reason === "internal" && /999/.test(e.message));
});

test("more files than the agent takes: too_large before any upload", async () => {
  const fake = new FakeAgent().on("agent.info", () => INFO);
  const a = await agentWith(fake).connect();
  const files = Array.from({ length: INFO.limits.items + 1 }, (_, i) => new File(["x"], `${i}.pdf`));
  await assert.rejects(a.signCms(files, { certificateId: "c" }), (e) => e.reason === "too_large");
  assert.equal(fake.sent.filter((m) => m.method === "document.upload").length, 0);
});

test("signCms returns DER SignedData blobs", async () => {
  const fake = new FakeAgent().on("agent.info", () => INFO).on("document.upload", () => ({ uploadId: 3 }));
  fake.on("sign.cms", (p) => ({ items: [{ name: "a.txt", cms: toBase64(new Uint8Array([0x30, 0x03, 1, 2, 3])) }] }));
  const a = await agentWith(fake).connect();
  const [r] = await a.signCms([new Blob(["isi surat"])], { certificateId: "c", level: "B-T" });
  assert.deepEqual([...r.cms], [0x30, 0x03, 1, 2, 3]);
  assert.equal(r.blob.type, "application/pkcs7-signature");
  const up = fake.sent.find((m) => m.method === "document.upload");
  assert.equal(up.params.name, "dokumen"); // a Blob has no name
  assert.equal(fake.sent.find((m) => m.method === "sign.cms").params.level, "B-T");
});

test("aborting a request sends request.cancel and rejects with cancelled and completed", async () => {
  const fake = new FakeAgent();
  let signMsg;
  fake.on("sign.digest", (p, msg) => { signMsg = msg; }); // answered on cancel
  fake.on("request.cancel", (p, msg, ws) => {
    ws.deliver({ jsonrpc: "2.0", id: p.id, error: FakeAgent.error("cancelled", -32010, { completed: 1 }).error });
    return {};
  });
  const a = await agentWith(fake).connect();
  const ctl = new AbortController();
  const pending = a.signDigests({ certificateId: "c", items: [{ name: "a", digest: "AA==" }, { name: "b", digest: "AA==" }] }, { signal: ctl.signal });
  await new Promise((r) => setTimeout(r, 5));
  ctl.abort();
  await assert.rejects(pending, (e) => e.reason === "cancelled" && e.completed === 1);
  const cancel = fake.sent.find((m) => m.method === "request.cancel");
  assert.equal(cancel.params.id, signMsg.id);
});

test("aborting before sending sends nothing", async () => {
  const fake = new FakeAgent().on("agent.info", () => INFO);
  const a = await agentWith(fake).connect();
  const ctl = new AbortController();
  ctl.abort();
  await assert.rejects(a.signPdf([new File(["%PDF"], "a.pdf")], { certificateId: "c", signal: ctl.signal }), (e) => e.reason === "cancelled" && e.completed === 0);
  assert.equal(fake.sent.filter((m) => m.method !== "agent.info").length, 0);
});

test("a document.error notification fails the upload with its reason", async () => {
  const fake = new FakeAgent().on("agent.info", () => INFO);
  fake.on("document.upload", () => ({ uploadId: 4 }));
  fake.onFrame = (frame, ws) => ws.deliver({ jsonrpc: "2.0", method: "document.error", params: { uploadId: 4, error: FakeAgent.error("too_large", -32008).error } });
  fake.on("document.discard", () => ({}));
  fake.on("sign.pdf", () => FakeAgent.error("bad_request", -32602)); // as the agent would: the upload is gone
  const a = await agentWith(fake).connect();
  const file = new File([new Uint8Array(8 << 20)], "besar.pdf");
  await assert.rejects(a.signPdf([file], { certificateId: "c" }), (e) => e.reason === "too_large");
  assert.ok(fake.frames.length < 8, `kept sending after the agent refused the upload: ${fake.frames.length} frames`);
  // The agent dropped the refused upload itself: nothing to discard.
  assert.ok(!fake.sent.some((m) => m.method === "document.discard"));
  assert.ok(!fake.sent.some((m) => m.method === "sign.pdf"));
});

test("tokens.changed becomes a tokenschanged event", async () => {
  const fake = new FakeAgent();
  const a = await agentWith(fake).connect();
  const seen = new Promise((r) => a.addEventListener("tokenschanged", (e) => r(e.detail.tokens)));
  fake.socket.deliver({ jsonrpc: "2.0", method: "tokens.changed", params: { tokens: [{ id: "1", label: "Kartu Baru" }] } });
  assert.deepEqual(await seen, [{ id: "1", label: "Kartu Baru" }]);
});

test("a lost connection fails pending requests with connection_lost and reconnects on the next call", async () => {
  const fake = new FakeAgent().on("tokens.list", () => ({ tokens: [] }));
  fake.on("certificates.list", () => undefined); // never answered
  const a = await agentWith(fake).connect();
  const closed = new Promise((r) => a.addEventListener("close", (e) => r(e.detail.code)));
  const pending = a.certificates();
  fake.socket.close(1006);
  await assert.rejects(pending, (e) => e.reason === "connection_lost");
  assert.equal(await closed, 1006);
  assert.deepEqual(await a.tokens(), []);
  assert.equal(fake.attempts, 2);
});

test("certificates adds notAfterDate and passes the filter", async () => {
  const fake = new FakeAgent().on("certificates.list", (p) => ({ certificates: [{ id: "t/01", notAfter: "2027-01-02T03:04:05Z", daysLeft: 40, filter: p }] }));
  const a = await agentWith(fake).connect();
  const [c] = await a.certificates({ validOnly: true });
  assert.equal(c.notAfterDate.toISOString(), "2027-01-02T03:04:05.000Z");
  assert.deepEqual(c.filter, { validOnly: true });
  const [d] = await a.certificates();
  assert.equal(d.filter, undefined);
});

test("verify sends each signature with its detached content, and extendPdf asks for B-LTA without a certificate", async () => {
  const fake = new FakeAgent().on("agent.info", () => INFO);
  let nextUpload = 0;
  const declared = new Map();
  fake.on("document.upload", (p) => { declared.set(++nextUpload, p.name); return { uploadId: nextUpload }; });
  fake.on("document.verify", (p) => ({ valid: true, reports: p.items.map((it) => ({ file: declared.get(it.uploadId), valid: true, signatures: [] })), text: "SAH" }));
  fake.on("pdf.extend", (p) => ({ items: p.items.map((it) => ({ name: declared.get(it.uploadId), update: toBase64(new Uint8Array(2)), signedSize: 6, level: p.level })) }));
  const a = await agentWith(fake).connect();
  const res = await a.verify([new File(["%PDF"], "a.pdf"), new File(["sig"], "nota.p7s")], { contents: [undefined, new File(["isi"], "nota.txt")] });
  const req = fake.sent.find((m) => m.method === "document.verify").params;
  const idOf = (name) => [...declared].find(([, n]) => n === name)[0];
  assert.deepEqual(req.items, [{ uploadId: idOf("a.pdf") }, { uploadId: idOf("nota.p7s"), contentUploadId: idOf("nota.txt") }]);
  assert.equal(req.language, "id");
  assert.equal(req.online, false);
  assert.equal(res.valid, true);
  const out = await a.extendPdf([new File(["%PDF"], "b.pdf")]);
  const ext = fake.sent.find((m) => m.method === "pdf.extend").params;
  assert.equal(ext.level, "B-LTA");
  assert.equal(ext.certificateId, undefined);
  assert.equal(out[0].level, "B-LTA");
  assert.equal(out[0].blob.size, 6);
});

test("an appearance image given as a Blob is uploaded and named by its upload id", async () => {
  const fake = new FakeAgent().on("agent.info", () => INFO);
  let nextUpload = 0;
  const declared = new Map();
  fake.on("document.upload", (p) => { declared.set(++nextUpload, p.name); return { uploadId: nextUpload }; });
  fake.on("sign.pdf", (p) => ({ items: p.items.map((it) => ({ name: declared.get(it.uploadId), update: toBase64(new Uint8Array(1)), signedSize: 5, level: "B-B" })) }));
  const a = await agentWith(fake).connect();
  const seal = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], "cap.png", { type: "image/png" });
  await a.signPdf([new File(["%PDF"], "a.pdf")], { certificateId: "c", appearance: { image: seal, qr: "https://x.go.id/v", anchor: "^" } });
  const req = fake.sent.find((m) => m.method === "sign.pdf").params;
  const idOf = (name) => [...declared].find(([, n]) => n === name)[0];
  assert.deepEqual(req.appearance, { image: { uploadId: idOf("cap.png") }, qr: "https://x.go.id/v", anchor: "^" });
  assert.deepEqual(req.items, [{ uploadId: idOf("a.pdf") }]);
});

test("a large batch is declared, named in its request at once and sent behind it; an older agent that refuses the declarations gets it uploaded first", async () => {
  const big = new Uint8Array(24 << 20); // three of these: over the 64 MiB the client streams from
  const files = [0, 1, 2].map((k) => new File([big], `surat-${k}.pdf`));
  const signedSize = big.length + 2;
  for (const oldAgent of [false, true]) {
    const fake = new FakeAgent().on("agent.info", () => INFO);
    const log = [];
    let n = 0;
    let declaredNow = 0;
    fake.on("document.upload", () => {
      if (oldAgent && declaredNow - log.length >= 2) return FakeAgent.error("too_large", -32011); // two receiving at most
      declaredNow++;
      return { uploadId: ++n, uploadUrl: `http://127.0.0.1:14545/v1/upload/tok${n}` };
    });
    fake.on("document.discard", () => {
      declaredNow--;
      return {};
    });
    fake.on("document.uploadUrl", (p) => ({ uploadUrl: `http://127.0.0.1:14545/v1/upload/group-${p.uploadIds.join("-")}` }));
    log.push = function (e) {
      e.afterSign = fake.sent.some((m) => m.method === "sign.pdf");
      return Array.prototype.push.call(this, e);
    };
    fake.on("sign.pdf", (p, msg, ws) => {
      // The agent answers once the bytes are in.
      const answer = () => ws.deliver({ jsonrpc: "2.0", id: msg.id, result: { items: p.items.map(() => ({ name: "x", update: toBase64(new Uint8Array(2)), signedSize })) } });
      const wait = () => (log.length === 3 || (oldAgent && log.length >= 1) ? answer() : setTimeout(wait, 1));
      wait();
    });
    const a = agentWith(fake, { XMLHttpRequest: fakeXHR(204, log) });
    const res = await a.signPdf(files, { certificateId: "c" });
    assert.equal(res.length, 3);
    const sign = fake.sent.find((m) => m.method === "sign.pdf");
    if (!oldAgent) {
      assert.ok(log.every((l) => l.afterSign), "the request goes before any byte");
      assert.deepEqual(sign.params.items.map((it) => it.uploadId), [1, 2, 3]);
      assert.deepEqual(log.map((l) => l.url), ["http://127.0.0.1:14545/v1/upload/tok1", "http://127.0.0.1:14545/v1/upload/tok2", "http://127.0.0.1:14545/v1/upload/tok3"],
        "each 24 MiB file is its own POST (16 MiB per group at most)");
    } else {
      assert.ok(fake.sent.some((m) => m.method === "document.discard"), "the declared uploads an older agent took are discarded");
      assert.ok(log.length > 0 && log.every((l) => !l.afterSign), "an older agent gets the bytes before the request");
    }
  }
});

test("a large batch whose bytes cannot be sent fails with the upload's error and cancels its request", async () => {
  const big = new Uint8Array(40 << 20);
  const files = [0, 1].map((k) => new File([big], `surat-${k}.pdf`));
  const fake = new FakeAgent().on("agent.info", () => INFO);
  let n = 0;
  fake.on("document.upload", () => ({ uploadId: ++n, uploadUrl: `http://127.0.0.1:14545/v1/upload/tok${n}` }));
  fake.on("sign.pdf", () => undefined); // answered when cancelled
  fake.on("request.cancel", (p, msg, ws) => {
    ws.deliver({ jsonrpc: "2.0", id: p.id, error: { code: -32010, message: "cancelled", data: { reason: "cancelled", completed: 0 } } });
    return {};
  });
  const a = agentWith(fake, { XMLHttpRequest: fakeXHR(400, []) });
  await assert.rejects(a.signPdf(files, { certificateId: "c" }), (e) => e instanceof AgentError && e.reason === "bad_request" && /declared size/.test(e.message));
  assert.ok(fake.sent.some((m) => m.method === "request.cancel"), "the request is cancelled");
});

// fakeExtensionWindow is a page's window with the tte-agent extension's
// content script in it, played by handle(msg, reply).
function fakeExtensionWindow(handle, { installed = true } = {}) {
  const listeners = new Set();
  const win = {
    location: { origin: "https://eoffice.kota.go.id" },
    document: { documentElement: { dataset: installed ? { tteAgentExtension: "1" } : {} } },
    addEventListener: (t, f) => listeners.add(f),
    removeEventListener: (t, f) => listeners.delete(f),
    posted: [],
    postMessage(data, targetOrigin) {
      assert.equal(targetOrigin, "https://eoffice.kota.go.id", "messages stay within the page's origin");
      if (data.tteAgent === "reply") {
        queueMicrotask(() => { for (const f of [...listeners]) f({ source: win, data }); });
        return;
      }
      win.posted.push(data);
      handle(data, (msg) => win.postMessage({ tteAgent: "reply", conn: data.conn, ...msg }, "https://eoffice.kota.go.id"));
    },
  };
  return win;
}

test("transport auto: with the extension installed the client talks through it (text, binary frames), without it over the WebSocket", async () => {
  const win = fakeExtensionWindow((m, reply) => {
    if (m.tteAgent === "open") reply({ open: true });
    if (m.tteAgent === "text") {
      const req = JSON.parse(m.text);
      if (req.method === "agent.info") reply({ text: JSON.stringify({ jsonrpc: "2.0", id: req.id, result: { ...INFO, transport: "native" } }) });
      if (req.method === "document.upload") reply({ text: JSON.stringify({ jsonrpc: "2.0", id: req.id, result: { uploadId: 7 } }) });
      if (req.method === "sign.pdf") reply({ text: JSON.stringify({ jsonrpc: "2.0", id: req.id, result: { items: [{ name: "a.pdf", update: toBase64(new Uint8Array(2)), signedSize: 6 }] } }) });
    }
  });
  const fake = new FakeAgent();
  const a = new TteAgent({ url: "ws://127.0.0.1:1/v1", WebSocket: fake.WebSocket, window: win, XMLHttpRequest: fakeXHR(204, []) });
  assert.equal((await a.info()).transport, "native");
  const [signed] = await a.signPdf([new File(["%PDF"], "a.pdf")], { certificateId: "c" });
  assert.equal(signed.blob.size, 6);
  const bin = win.posted.find((m) => m.tteAgent === "binary");
  assert.ok(bin && bin.data instanceof Uint8Array && bin.data.length === 12, "the document went as one binary frame (id + bytes)");
  assert.deepEqual([...bin.data.subarray(8)], [0x25, 0x50, 0x44, 0x46]);
  assert.equal(fake.attempts, 0, "no WebSocket with the extension");
  // Without the extension: the WebSocket.
  const plain = fakeExtensionWindow(() => assert.fail("nothing to the extension"), { installed: false });
  const ws = new FakeAgent().on("agent.info", () => INFO);
  await new TteAgent({ url: "ws://127.0.0.1:1/v1", WebSocket: ws.WebSocket, window: plain }).info();
  assert.equal(ws.attempts, 1);
});

test("transport through the extension: a refused page is origin_not_allowed, no agent is agent_unavailable, a forced extension that is missing is agent_unavailable", async () => {
  for (const [code, reason] of [[1008, "origin_not_allowed"], [1006, "agent_unavailable"]]) {
    const win = fakeExtensionWindow((m, reply) => { if (m.tteAgent === "open") reply({ closed: { code, reason: "x" } }); });
    const a = new TteAgent({ window: win, retries: 1, WebSocket: new FakeAgent().WebSocket });
    await assert.rejects(a.connect(), (e) => e instanceof AgentError && e.reason === reason, `close ${code}`);
  }
  const missing = fakeExtensionWindow(() => {}, { installed: false });
  await assert.rejects(new TteAgent({ window: missing, transport: "extension", retries: 1 }).connect(), (e) => e.reason === "agent_unavailable" && /extension is not installed/.test(e.message));
  assert.throws(() => new TteAgent({ transport: "pigeon" }), (e) => e.reason === "bad_request");
});

test("encryptDocuments sends the recipients' certificates and returns DER envelopes; decryptDocuments returns the content and the certificate that opened it", async () => {
  const fake = new FakeAgent().on("agent.info", () => INFO);
  let n = 0;
  fake.on("document.upload", () => ({ uploadId: ++n }));
  fake.on("document.encrypt", (p) => {
    assert.deepEqual(p.recipients, [toBase64(new Uint8Array([0x30, 1])), "MAI="]);
    assert.equal(p.cipher, "AES-256-CBC");
    return { items: p.items.map(() => ({ name: "nota.pdf", envelope: toBase64(new Uint8Array([0x30, 0x80])) })) };
  });
  fake.on("document.decrypt", (p) => {
    assert.equal(p.certificateId, undefined);
    return { certificateId: "abc/05", items: p.items.map(() => ({ name: "nota.pdf.p7m", content: toBase64(new TextEncoder().encode("isi")) })) };
  });
  const a = agentWith(fake);
  const [enc] = await a.encryptDocuments([new File(["%PDF"], "nota.pdf")], { recipients: [new Uint8Array([0x30, 1]), "MAI="], cipher: "AES-256-CBC" });
  assert.deepEqual([...enc.envelope], [0x30, 0x80]);
  assert.equal(enc.blob.type, "application/pkcs7-mime");
  const [dec] = await a.decryptDocuments([enc.blob]);
  assert.equal(new TextDecoder().decode(dec.content), "isi");
  assert.equal(dec.certificateId, "abc/05");
  await assert.rejects(a.encryptDocuments([new File(["x"], "x")], { recipients: [] }), (e) => e.reason === "bad_request");
});

test("a result the agent holds is fetched from its URL, or read with document.download when the fetch fails, and released", async () => {
  const big = new Uint8Array(2.5 * (1 << 20)).map((_, i) => i % 251);
  for (const viaURL of [true, false]) {
    const fake = new FakeAgent().on("agent.info", () => INFO);
    fake.on("document.upload", () => ({ uploadId: 1 }));
    fake.on("document.decrypt", () => ({ certificateId: "abc/05", items: [{ name: "besar.bin", size: big.length, downloadId: 4, downloadUrl: "http://127.0.0.1:14545/v1/download/tok" }] }));
    const pieces = [];
    fake.on("document.download", (p) => {
      assert.equal(p.downloadId, 4);
      pieces.push(p.offset);
      return { data: toBase64(big.subarray(p.offset, p.offset + p.length)), eof: p.offset + p.length >= big.length };
    });
    const discarded = [];
    let releasedNow;
    const released = new Promise((r) => (releasedNow = r));
    fake.on("document.discard", (p) => (discarded.push(p.downloadId), releasedNow(), {}));
    const fetched = [];
    const fetch = async (url, init) => {
      if (url.endsWith("/v1/hello")) throw new TypeError("Failed to fetch");
      fetched.push(url);
      if (!viaURL) throw new TypeError("Failed to fetch");
      assert.equal(init.credentials, "omit");
      return { ok: true, blob: async () => new Blob([big]) };
    };
    const a = agentWith(fake, { fetch });
    const [dec] = await a.decryptDocuments([new File(["x"], "besar.bin.p7m")]);
    assert.deepEqual(fetched, ["http://127.0.0.1:14545/v1/download/tok"]);
    assert.equal(dec.size, big.length);
    assert.equal(dec.blob.size, big.length);
    assert.deepEqual(dec.content, big);
    assert.deepEqual(pieces, viaURL ? [] : [0, 1 << 20, 2 << 20], "pieces only when the URL failed");
    // The client releases it without waiting for the answer: wait for the
    // message itself (failing after a generous bound, not a tuned one).
    let bound;
    await Promise.race([released, new Promise((_, no) => (bound = setTimeout(() => no(new Error("the held result was never released")), 10000)))]);
    clearTimeout(bound);
    assert.deepEqual(discarded, [4], "the held result is released");
  }
});

test("S/MIME helpers refuse an entity without CRLF line endings, wrap envelopes as application/pkcs7-mime, and give a plain entity back unchanged", async () => {
  const { signMime, encryptMime, openMime } = await import("../smime.js");
  const fake = new FakeAgent().on("agent.info", () => INFO);
  let n = 0;
  fake.on("document.upload", () => ({ uploadId: ++n }));
  fake.on("document.encrypt", (p) => ({ items: p.items.map(() => ({ name: "x", envelope: toBase64(new Uint8Array(100).fill(7)) })) }));
  const a = agentWith(fake);
  await assert.rejects(signMime(a, "Content-Type: text/plain\n\nhalo\n", { certificateId: "c" }), (e) => e.reason === "bad_request" && /CRLF/.test(e.message));
  const out = new TextDecoder().decode(await encryptMime(a, "Content-Type: text/plain\r\n\r\nhalo\r\n", { recipients: ["MAI="], cipher: "AES-256-CBC" }));
  assert.match(out, /^Content-Type: application\/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\n/);
  assert.ok(out.split("\r\n\r\n")[1].split("\r\n").every((l) => l.length <= 76), "base64 in lines of 76");
  const plain = await openMime(a, "Content-Type: text/plain\r\n\r\nhalo\r\n");
  assert.deepEqual([plain.signed, plain.encrypted, new TextDecoder().decode(plain.entity)], [false, false, "Content-Type: text/plain\r\n\r\nhalo\r\n"]);
  // A part with no header fields is a body, not headers.
  const bare = await openMime(a, "\r\nContent-Type: application/pkcs7-mime looks like a header but is the body\r\n\r\nx\r\n");
  assert.equal(bare.encrypted, false, "a header-less part's body is not read as its headers");
});
