// Demo e-office page: picks PDFs, chooses a certificate and signs them all
// in one batch through tte-agent with tte-agent-client. ?agent=ws://…
// points it at an agent on another port.
import { AgentError, TteAgent, describeError } from "../client.js";
import { drawPreview } from "./preview.js";
import { makeZip } from "./zip.js";

const $ = (id) => document.getElementById(id);
const url = new URLSearchParams(location.search).get("agent") || undefined;
const agent = new TteAgent({ url });
let busy = null; // the AbortController of the batch being signed
let lastFiles = []; // the files of the batch being signed, for errors

// What the user reads: the client's words for every reason (Indonesian),
// with the demo's own for two cases it knows more about.
function explain(e) {
  let text = describeError(e, { files: lastFiles });
  if (e.reason === "bad_request" && !e.problem && /time-stamping/.test(`${e.message} ${e.data?.detail ?? ""}`)) {
    text = "tte-agent belum diatur dengan layanan cap waktu (TSA). Pilih PAdES B-B, atau minta admin TI mengisi [tsa] url.";
  }
  if (e.reason === "certificate_invalid" && /revoked/.test(e.data?.detail ?? "")) {
    text = "Sertifikat ini telah DICABUT oleh penerbitnya dan tidak dapat lagi dipakai menandatangani. Hubungi admin/RA (BSrE) untuk sertifikat baru.";
  }
  return text;
}

function status(el, text, cls = "") {
  el.textContent = text;
  el.className = cls;
}

function cn(dn) {
  return (dn.match(/CN=((?:\\,|[^,])+)/) || [, dn])[1].replace(/\\,/g, ",");
}

function showTokens(tokens) {
  const PIN = { ok: "", count_low: " — PIN pernah salah", final_try: " — sisa satu percobaan PIN", locked: " — PIN terblokir" };
  $("tokens").replaceChildren(...tokens.map((t) => {
    const li = document.createElement("li");
    li.textContent = `${t.label} (${t.manufacturer}, seri ${t.serial})${PIN[t.pinStatus] ?? ""}`;
    return li;
  }));
  if (tokens.length === 0) $("tokens").replaceChildren(Object.assign(document.createElement("li"), { textContent: "Tidak ada token terpasang." }));
}

async function loadCertificates() {
  const certs = await agent.certificates({ validOnly: true });
  const sel = $("cert");
  const before = sel.value;
  sel.replaceChildren(...certs.map((c) => {
    const until = c.notAfterDate.toLocaleDateString("id-ID", { day: "numeric", month: "long", year: "numeric" });
    const opt = new Option(`${cn(c.subject)} — berlaku s.d. ${until} (${c.daysLeft} hari lagi)`, c.id);
    opt.dataset.cn = cn(c.subject);
    return opt;
  }));
  if (certs.some((c) => c.id === before)) sel.value = before;
  sel.disabled = certs.length === 0;
  updateButtons();
  // The revocation status of each, as the agent checks it before signing.
  await Promise.all(certs.map(async (c) => {
    try {
      statuses.set(c.id, await agent.certificateStatus(c.id));
    } catch {
      statuses.delete(c.id);
    }
    const opt = [...sel.options].find((o) => o.value === c.id);
    if (opt) opt.textContent += ` — ${statusText(statuses.get(c.id)).short}`;
  }));
  showCertStatus();
  if (certs.length === 0) status($("sign-status"), "Tidak ada sertifikat yang berlaku pada token. Pasang token Anda.", "warn");
}

const statuses = new Map(); // certificate id → certificates.status

function when(iso) {
  return new Date(iso).toLocaleString("id-ID", { dateStyle: "long", timeStyle: "short" });
}

// statusText says in words what certificates.status found.
function statusText(st) {
  if (!st) return { short: "status tidak diketahui", long: "Status sertifikat tidak dapat dibaca dari tte-agent.", cls: "warn" };
  const r = st.revocation;
  const via = r.source === "ocsp" ? "OCSP" : "CRL";
  if (r.status === "revoked") {
    return { short: "DICABUT", long: `Sertifikat ini DICABUT sejak ${when(r.revokedAt)} (${r.reason}). Tidak dapat dipakai menandatangani.`, cls: "error" };
  }
  let long = r.status === "good"
    ? `Status sertifikat: tidak dicabut (diperiksa lewat ${via}, berlaku s.d. ${r.nextUpdate ? when(r.nextUpdate) : "-"}).`
    : r.status === "unchecked"
      ? "Pemeriksaan status sertifikat dimatikan oleh admin."
      : "Status pencabutan tidak dapat diperiksa saat ini (OCSP/CRL tidak terjangkau): tanda tangan dibuat tanpa data LTV.";
  long += st.trusted ? " Rantai sertifikat terpercaya." : " Rantai sertifikat TIDAK terhubung ke CA yang dipercaya admin.";
  const short = r.status === "good" ? "tidak dicabut" : r.status === "unchecked" ? "status tidak diperiksa" : "status tidak dapat diperiksa";
  return { short, long, cls: r.status === "good" && st.trusted ? "ok" : "warn" };
}

function showCertStatus() {
  const id = $("cert").value;
  if (!id) return status($("cert-status"), "");
  const t = statusText(statuses.get(id));
  status($("cert-status"), t.long, t.cls);
}

async function refresh() {
  showTokens(await agent.tokens());
  await loadCertificates();
}

function updateButtons() {
  $("sign").disabled = busy !== null || $("cert").disabled || $("files").files.length === 0;
  $("cancel").disabled = busy === null;
}

function showChosen() {
  const files = [...$("files").files];
  $("chosen").replaceChildren(...files.map((f) => Object.assign(document.createElement("li"), { textContent: `${f.name} (${Math.ceil(f.size / 1024)} KB)` })));
  $("results").replaceChildren();
  updateButtons();
}

function progress({ stage, done, total }) {
  const bar = $("progress");
  bar.hidden = false;
  // While the agent receives or waits for the user there is no fraction
  // to show: the bar runs without a value (indeterminate).
  if (stage === "receiving" || stage === "awaiting_user") bar.removeAttribute("value");
  const text = {
    uploading: `Mengirim dokumen ke tte-agent… ${Math.round((100 * done) / Math.max(total, 1))}%`,
    receiving: "tte-agent menerima dokumen…",
    awaiting_user: "Menunggu persetujuan dan PIN Anda di dialog tte-agent…",
    signing: `Menandatangani ${done} dari ${total} dokumen…`,
    timestamping: `Meminta cap waktu… (${done} dari ${total})`,
  }[stage];
  if (text) status($("sign-status"), text);
  if (stage === "signing" || stage === "uploading" || stage === "timestamping") {
    bar.max = Math.max(total, 1);
    bar.value = done;
  }
}

// appearanceFor is the visible signature the choices describe.
function appearanceFor(name, when) {
  const ap = { text: ["Ditandatangani secara elektronik oleh", name, when], size: BOX };
  if ($("qr").checked && $("qr-url").value) ap.qr = $("qr-url").value;
  if ($("bsre").checked && ap.qr) ap.preset = "bsre";
  const image = $("image").files[0];
  if (image) ap.image = image;
  switch ($("place").value) {
    case "anchor":
      ap.anchor = $("anchor").value;
      break;
    case "rect": {
      const x = Number($("posx").value), y = Number($("posy").value);
      delete ap.size;
      ap.page = Number($("page").value);
      ap.rect = [x, y, x + BOX[0], y + BOX[1]];
      break;
    }
  }
  return ap;
}

// The box's size in points (7 × 2.8 cm).
const BOX = [230, 80];

// showPreview shows the first chosen document's page where the box goes,
// with the box, or an empty A4 page before a document is chosen.
function showPreview() {
  $("place-anchor").hidden = $("place").value !== "anchor";
  $("place-rect").hidden = $("place").value !== "rect";
  drawPreview($("preview"), $("preview-note"), {
    file: $("files").files[0], visible: $("visible").checked, place: $("place").value, anchor: $("anchor").value,
    page: Number($("page").value), x: Number($("posx").value), y: Number($("posy").value), box: BOX,
  }).catch((e) => { $("preview-note").textContent = `Pratinjau tidak tersedia (${e.message}).`; });
}

function signedName(name) {
  return name.replace(/(\.pdf)?$/i, "-ttd.pdf");
}

async function signAll() {
  const files = [...$("files").files];
  lastFiles = files;
  const opt = $("cert").selectedOptions[0];
  busy = new AbortController();
  updateButtons();
  $("results").replaceChildren();
  status($("sign-status"), "Menyiapkan…");
  try {
    const when = new Date().toLocaleString("id-ID", { dateStyle: "long", timeStyle: "short" });
    const out = await agent.signPdf(files, {
      certificateId: opt.value,
      level: $("level").value,
      reason: "Disetujui secara elektronik",
      location: "Indonesia",
      appearance: $("visible").checked ? appearanceFor(opt.dataset.cn, when) : undefined,
      signal: busy.signal,
      onProgress: progress,
    });
    $("progress").max = 1;
    $("progress").value = 1;
    $("results").replaceChildren(...out.map((r) => {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(r.blob);
      a.download = signedName(r.name);
      a.textContent = `Unduh ${a.download}`;
      const li = document.createElement("li");
      li.append(a, ` (${r.level})`);
      return li;
    }));
    const asked = $("level").value;
    const got = out[0]?.level ?? asked;
    if (got !== asked) {
      status($("sign-status"), `${out.length} dokumen berhasil ditandatangani, tetapi sebagai ${got}, bukan ${asked}: status sertifikat (OCSP/CRL) atau rantainya tidak dapat diperiksa sehingga data validasi jangka panjang tidak disertakan.`, "warn");
    } else {
      status($("sign-status"), `${out.length} dokumen berhasil ditandatangani (${got}).`, "ok");
    }
    if (out.length > 1) {
      // "Unduh semua": one ZIP of every signed letter, made in the page.
      const zip = await makeZip(out.map((r) => ({ name: signedName(r.name), blob: r.blob })));
      const a = Object.assign(document.createElement("a"), { id: "download-all", href: URL.createObjectURL(zip), download: "dokumen-ttd.zip",
        textContent: `Unduh semua (${out.length} dokumen, ZIP)` });
      const li = Object.assign(document.createElement("li"), { className: "all" });
      li.append(a);
      $("results").prepend(li);
    }
  } catch (e) {
    // Nothing was signed: the bar does not stay full.
    $("progress").hidden = true;
    $("progress").value = 0;
    status($("sign-status"), explain(e), "error");
  } finally {
    busy = null;
    updateButtons();
  }
}

// offerLevels leaves only the levels the agent can make (time-stamped
// ones need its TSA) and keeps the choice when it still can.
function offerLevels(levels) {
  const sel = $("level");
  for (const o of sel.options) {
    o.disabled = !levels.includes(o.value);
    o.title = o.disabled ? "tte-agent ini belum diatur dengan layanan cap waktu (TSA)" : "";
  }
  if (sel.selectedOptions[0]?.disabled) sel.value = levels.includes("B-LT") ? "B-LT" : levels[0];
}

async function start() {
  try {
    const info = await agent.info();
    status($("agent-status"), `Terhubung ke ${info.name} ${info.version}.`, "ok");
    offerLevels(info.levels ?? ["B-B"]);
    await refresh();
  } catch (e) {
    status($("agent-status"), explain(e), "error");
  }
}

agent.addEventListener("tokenschanged", (e) => {
  showTokens(e.detail.tokens);
  loadCertificates().catch((err) => status($("sign-status"), explain(err), "error"));
});
agent.addEventListener("close", () => status($("agent-status"), explain(new AgentError("connection_lost", "closed")), "error"));
// A new connection (a reload, the next request) clears "terputus".
agent.addEventListener("open", () => {
  agent.info().then((info) => status($("agent-status"), `Terhubung ke ${info.name} ${info.version}.`, "ok"), () => {});
});
$("files").addEventListener("change", () => {
  showChosen();
  showPreview();
});
$("cert").addEventListener("change", showCertStatus);
for (const id of ["visible", "place", "anchor", "page", "posx", "posy"]) $(id).addEventListener("input", showPreview);
$("qr-url").value = new URL("verify.html", location.href).href.split("?")[0];
showPreview();
$("sign").addEventListener("click", signAll);
$("cancel").addEventListener("click", () => busy?.abort());
$("refresh").addEventListener("click", () => refresh().catch((e) => status($("sign-status"), explain(e), "error")));
start();
