// Bytes and files: base64, binary frames, the page's file lists.
import { AgentError } from "./errors.js";

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

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// blobs returns files (a FileList, an Array or any iterable of File or
// Blob) as an Array, or throws bad_request saying what is wrong.
export function blobs(files, what = "files") {
  if (files == null || typeof files === "string" || typeof files[Symbol.iterator] !== "function") {
    throw new AgentError("bad_request", `${what} must be a FileList, an Array or another iterable of File or Blob objects`);
  }
  const all = Array.from(files);
  all.forEach((f, i) => {
    if (!(f instanceof Blob)) throw new AgentError("bad_request", `${what}[${i}] is not a File or Blob`);
  });
  return all;
}
