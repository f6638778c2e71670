// Demo e-office page: lists the token's certificates through tte-agent and
// signs the SHA-256 digest of a text. It speaks protocol v1 directly; the
// reusable client library arrives in web/ later.
const AGENT = "ws://127.0.0.1:14545/v1";

const $ = (id) => document.getElementById(id);
let ws;
let nextId = 1;
const pending = new Map();

// Plain-language messages for the contract's error reasons.
const MESSAGES = {
  user_cancelled: "Penandatanganan dibatalkan oleh pengguna.",
  pin_incorrect: "PIN salah. Periksa PIN lalu coba lagi.",
  pin_locked: "PIN token terkunci. Hubungi admin untuk membukanya.",
  token_removed: "Token dicabut. Pasang kembali token lalu coba lagi.",
  certificate_not_found: "Sertifikat tidak ditemukan. Pasang token lalu muat ulang daftar.",
  certificate_invalid: "Sertifikat tidak berlaku (kedaluwarsa atau belum berlaku).",
  not_permitted: "Situs ini tidak diizinkan melakukan tindakan tersebut.",
  timeout: "Dialog PIN tidak dijawab tepat waktu.",
  busy: "Agen sedang melayani permintaan lain. Coba lagi sebentar lagi.",
};

function status(el, text, cls) {
  el.textContent = text;
  el.className = cls || "";
}

function call(method, params) {
  const id = nextId++;
  const msg = { jsonrpc: "2.0", id, method };
  if (params) msg.params = params;
  ws.send(JSON.stringify(msg));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

function onMessage(ev) {
  const msg = JSON.parse(ev.data);
  if (msg.method === "progress") {
    const p = msg.params;
    const stage = { awaiting_user: "Menunggu persetujuan dan PIN di dialog tte-agent…", signing: `Menandatangani ${p.done}/${p.total}…` }[p.stage];
    if (stage) status($("sign-status"), stage);
    return;
  }
  const p = pending.get(msg.id);
  if (!p) return;
  pending.delete(msg.id);
  if (msg.error) {
    const err = new Error(MESSAGES[msg.error.data?.reason] || msg.error.message);
    err.reason = msg.error.data?.reason;
    p.reject(err);
  } else {
    p.resolve(msg.result);
  }
}

function b64(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

async function loadCertificates() {
  const { certificates } = await call("certificates.list", { validOnly: true });
  const sel = $("cert");
  sel.replaceChildren();
  for (const c of certificates) {
    const cn = (c.subject.match(/CN=([^,]+)/) || [, c.subject])[1];
    const opt = new Option(`${cn} — ${c.keyType}, berlaku ${c.daysLeft} hari lagi`, c.id);
    sel.add(opt);
  }
  sel.disabled = certificates.length === 0;
  $("sign").disabled = certificates.length === 0;
  if (certificates.length === 0) status($("sign-status"), "Tidak ada sertifikat yang berlaku pada token.", "error");
}

async function sign() {
  $("sign").disabled = true;
  $("result").hidden = true;
  try {
    const data = new TextEncoder().encode($("text").value);
    const digest = await crypto.subtle.digest("SHA-256", data);
    const res = await call("sign.digest", {
      certificateId: $("cert").value,
      hashAlgorithm: "SHA-256",
      items: [{ name: "surat-edaran.txt", digest: b64(digest) }],
    });
    status($("sign-status"), "Berhasil ditandatangani.", "ok");
    $("result").textContent = `Tanda tangan (base64):\n${res.items[0].signature}`;
    $("result").hidden = false;
  } catch (e) {
    status($("sign-status"), e.message, "error");
  } finally {
    $("sign").disabled = false;
  }
}

function connect() {
  ws = new WebSocket(AGENT);
  ws.onmessage = onMessage;
  ws.onopen = async () => {
    try {
      const info = await call("agent.info");
      status($("agent-status"), `Terhubung ke ${info.name} ${info.version}.`, "ok");
      await loadCertificates();
    } catch (e) {
      status($("agent-status"), e.message, "error");
    }
  };
  ws.onclose = () => {
    for (const p of pending.values()) p.reject(new Error("Koneksi ke tte-agent terputus."));
    pending.clear();
    status($("agent-status"), "tte-agent tidak berjalan atau menolak situs ini. Jalankan `make demo`, lalu muat ulang halaman.", "error");
    $("sign").disabled = true;
  };
}

$("sign").addEventListener("click", sign);
$("refresh").addEventListener("click", () => loadCertificates().catch((e) => status($("sign-status"), e.message, "error")));
connect();
