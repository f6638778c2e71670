// "Amankan dokumen": encrypts documents to colleagues' certificates
// (document.encrypt, no PIN) and opens documents encrypted to the user's
// token (document.decrypt, one dialog), in Indonesian.
import { TteAgent, describeError } from "../client.js";

const $ = (id) => document.getElementById(id);
const url = new URLSearchParams(location.search).get("agent") || undefined;
const agent = new TteAgent({ url });
let mine = []; // the user's own certificates (DER, base64)

function status(el, text, cls = "") {
  el.textContent = text;
  el.className = cls;
}

function explain(e) {
  if (e.reason === "not_permitted") return "Situs ini belum diizinkan mengamankan dokumen (kemampuan \"encrypt\" dan \"decrypt\"). Minta admin TI menambahkannya di kebijakan tte-agent.";
  if (e.reason === "certificate_not_found") return "Dokumen ini tidak dienkripsi untuk sertifikat pada token Anda. Pasang token yang benar, atau minta pengirim mengenkripsinya untuk sertifikat Anda.";
  if (e.reason === "certificate_invalid") return `Sertifikat rekan tidak dapat dipakai: ${e.data?.detail ?? e.message}`;
  if (e.reason === "bad_request" && e.data?.detail) return `Dokumen tidak dapat diproses: ${e.data.detail}`;
  return describeError(e);
}

// certificateDER reads a certificate file, PEM or DER, as base64 DER.
async function certificateDER(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const text = new TextDecoder("latin1").decode(bytes);
  const m = text.match(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/);
  if (m) return m[1].replace(/\s+/g, "");
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function link(list, name, blob) {
  const li = document.createElement("li");
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.textContent = `Unduh ${name}`;
  li.append(a);
  list.append(li);
}

async function encrypt() {
  const files = [...$("enc-files").files];
  const recipients = await Promise.all([...$("recipient").files].map(certificateDER));
  if ($("to-me").checked) recipients.push(...mine);
  $("enc-results").replaceChildren();
  if (files.length === 0 || recipients.length === 0) {
    status($("enc-status"), "Pilih dokumen dan sertifikat penerima dahulu.", "error");
    return;
  }
  $("encrypt").disabled = true;
  status($("enc-status"), "Mengenkripsi…");
  try {
    // Many tokens do RSA-OAEP with SHA-1 only, or PKCS #1 v1.5 (the demo
    // token, SoftHSM, is one): the page lets the sender choose.
    const rsaPadding = $("legacy").checked ? "RSA-PKCS1-v1_5" : "RSA-OAEP";
    const out = await agent.encryptDocuments(files, { recipients, rsaPadding });
    for (const r of out) link($("enc-results"), `${r.name}.p7m`, r.blob);
    status($("enc-status"), `${out.length} dokumen terenkripsi untuk ${recipients.length} penerima.`, "ok");
  } catch (e) {
    status($("enc-status"), explain(e), "error");
  } finally {
    $("encrypt").disabled = false;
  }
}

async function decrypt() {
  const files = [...$("dec-files").files];
  $("dec-results").replaceChildren();
  if (files.length === 0) {
    status($("dec-status"), "Pilih dokumen terenkripsi dahulu.", "error");
    return;
  }
  $("decrypt").disabled = true;
  status($("dec-status"), "Membuka… Periksa jendela PIN tte-agent.");
  try {
    const out = await agent.decryptDocuments(files);
    for (const r of out) link($("dec-results"), r.name.replace(/\.p7m$/i, ""), r.blob);
    status($("dec-status"), `${out.length} dokumen dibuka.`, "ok");
  } catch (e) {
    status($("dec-status"), explain(e), "error");
  } finally {
    $("decrypt").disabled = false;
  }
}

async function start() {
  try {
    const info = await agent.info();
    status($("agent-status"), `Terhubung ke ${info.name} ${info.version}.`, "ok");
    const certs = await agent.certificates({ validOnly: true });
    mine = certs.filter((c) => c.keyUsage.includes("keyEncipherment") || c.keyUsage.includes("keyAgreement")).map((c) => c.certificate);
    $("encrypt").disabled = false;
    $("decrypt").disabled = false;
  } catch (e) {
    status($("agent-status"), explain(e), "error");
  }
}

$("encrypt").addEventListener("click", encrypt);
$("decrypt").addEventListener("click", decrypt);
start();
