// tte-agent-client S/MIME: e-mail protection with the user's token.
//
// An ES module beside client.js. The page gives a MIME entity (headers,
// a blank line, the body; CRLF line endings) and gets the message to send:
// signed (multipart/signed with a detached CAdES signature from
// sign.cms), encrypted to the recipients' certificates
// (application/pkcs7-mime, from document.encrypt), or both (signed, then
// encrypted). openMime takes a received message apart: it opens an
// encrypted one with the token (document.decrypt, one dialog) and verifies
// a signed one (document.verify). See docs/integration.md.
import { AgentError, fromBase64, toBase64 } from "./client.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

function bytesOf(entity) {
  if (typeof entity === "string") return enc.encode(entity);
  if (entity instanceof Uint8Array) return entity;
  throw new AgentError("bad_request", "the MIME entity must be a string or a Uint8Array");
}

// canonical checks what S/MIME signs: CRLF line endings only (RFC 8551
// §3.1.1), so that what the mail program checks is what was signed.
function canonical(bytes) {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a && (i === 0 || bytes[i - 1] !== 0x0d)) {
      throw new AgentError("bad_request", "the MIME entity must use CRLF line endings");
    }
  }
  return bytes;
}

// base64 wrapped at 76 columns, as MIME wants it.
function base64Lines(bytes) {
  return toBase64(bytes).replace(/.{1,76}/g, "$&\r\n");
}

function boundary() {
  const r = new Uint8Array(12);
  crypto.getRandomValues(r);
  return `----tte-agent-${[...r].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function concat(...parts) {
  const all = parts.map((p) => (typeof p === "string" ? enc.encode(p) : p));
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of all) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Signs a MIME entity with the token: returns the multipart/signed entity
 * (Uint8Array) whose first part is the entity unchanged and whose second
 * is the detached CMS signature (SHA-256). One dialog.
 */
export async function signMime(agent, entity, { certificateId, level = "B-B", signal, onProgress } = {}) {
  const content = canonical(bytesOf(entity));
  const [signed] = await agent.signCms([new Blob([content])], { certificateId, hashAlgorithm: "SHA-256", level, signal, onProgress });
  const b = boundary();
  return concat(
    `Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="${b}"\r\n\r\n`,
    "This is an S/MIME signed message\r\n\r\n",
    `--${b}\r\n`, content, `\r\n--${b}\r\n`,
    'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7s"\r\n\r\n',
    base64Lines(signed.cms),
    `\r\n--${b}--\r\n`,
  );
}

/**
 * Encrypts a MIME entity to the recipients' DER certificates: returns the
 * application/pkcs7-mime entity (Uint8Array). No token, no dialog. Older
 * mail programs read only `cipher: "AES-256-CBC", rsaPadding:
 * "RSA-PKCS1-v1_5"`.
 */
export async function encryptMime(agent, entity, { recipients, cipher, rsaPadding, signal, onProgress } = {}) {
  const content = bytesOf(entity);
  const [out] = await agent.encryptDocuments([new Blob([content])], { recipients, cipher, rsaPadding, signal, onProgress });
  const type = cipher === "AES-256-CBC" ? "enveloped-data" : "authEnveloped-data";
  return concat(
    `Content-Type: application/pkcs7-mime; smime-type=${type}; name="smime.p7m"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7m"\r\n\r\n`,
    base64Lines(out.envelope),
  );
}

/** Signs, then encrypts (the usual order): one dialog. */
export async function signAndEncryptMime(agent, entity, opts = {}) {
  return encryptMime(agent, await signMime(agent, entity, opts), opts);
}

// splitEntity returns the headers (lower-cased names) and the body.
function splitEntity(bytes) {
  const text = dec.decode(bytes);
  // A part may have no header fields at all (some mail programs sign such
  // a body part): it starts with the blank line.
  const bare = /^\r?\n/.exec(text);
  if (bare) return { headers: {}, bodyText: text.slice(bare[0].length), bodyBytes: enc.encode(text.slice(bare[0].length)) };
  const end = text.search(/\r?\n\r?\n/);
  const head = end < 0 ? text : text.slice(0, end);
  const bodyStart = end < 0 ? text.length : end + text.slice(end).match(/^\r?\n\r?\n/)[0].length;
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, bodyText: text.slice(bodyStart), bodyBytes: enc.encode(text.slice(bodyStart)) };
}

function param(value, name) {
  const m = new RegExp(`${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, "i").exec(value ?? "");
  return m ? (m[1] ?? m[2]) : undefined;
}

/**
 * Takes a received message (or entity) apart. Returns `{entity, signed,
 * encrypted, report}`: the innermost entity (Uint8Array), whether it was
 * signed and encrypted, and for a signed one the agent's verification
 * report (`report.valid`, `report.reports[0]`). An encrypted message opens
 * with the token (one dialog); `online` lets the verifier fetch revocation
 * data. Signed-then-encrypted messages are opened, then verified.
 */
export async function openMime(agent, message, { certificateId, online = false, signal, onProgress } = {}) {
  let bytes = bytesOf(message);
  let encrypted = false;
  let signed = false;
  let report;
  for (let depth = 0; depth < 4; depth++) {
    const { headers, bodyText } = splitEntity(bytes);
    const type = (headers["content-type"] ?? "text/plain").toLowerCase();
    if (type.startsWith("application/pkcs7-mime") || type.startsWith("application/x-pkcs7-mime")) {
      const smime = (param(headers["content-type"], "smime-type") ?? "").toLowerCase();
      const der = fromBase64(bodyText.replace(/\s+/g, ""));
      if (smime === "signed-data") throw new AgentError("bad_request", "opaque signed S/MIME (signed-data) is not read; ask for a multipart/signed message");
      const [opened] = await agent.decryptDocuments([new Blob([der])], { certificateId, signal, onProgress });
      encrypted = true;
      bytes = opened.content ?? new Uint8Array(await opened.blob.arrayBuffer());
      continue;
    }
    if (type.startsWith("multipart/signed")) {
      const b = param(headers["content-type"], "boundary");
      if (!b) throw new AgentError("bad_request", "multipart/signed without a boundary");
      const text = dec.decode(bytes);
      const start = text.indexOf(`--${b}\r\n`);
      const mid = text.indexOf(`\r\n--${b}\r\n`, start);
      const end = text.indexOf(`\r\n--${b}--`, mid);
      if (start < 0 || mid < 0 || end < 0) throw new AgentError("bad_request", "multipart/signed whose parts cannot be found");
      const content = enc.encode(text.slice(start + b.length + 4, mid));
      const sigPart = splitEntity(enc.encode(text.slice(mid + b.length + 6, end)));
      const sig = fromBase64(sigPart.bodyText.replace(/\s+/g, ""));
      report = await agent.verify([new Blob([sig], { type: "application/pkcs7-signature" })], { contents: [new Blob([content])], online, signal, onProgress });
      signed = true;
      bytes = content;
      continue;
    }
    break;
  }
  return { entity: bytes, signed, encrypted, report };
}
