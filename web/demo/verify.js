// "Periksa tanda tangan": sends the chosen files to tte-agent's
// document.verify (the same checks as `tte-agent verify`) and shows the
// verdict per file and the whole report, in Indonesian.
import { AgentError, TteAgent, describeError } from "../client.js";

const $ = (id) => document.getElementById(id);
const url = new URLSearchParams(location.search).get("agent") || undefined;
const agent = new TteAgent({ url });

function status(el, text, cls = "") {
  el.textContent = text;
  el.className = cls;
}

function explain(e) {
  if (e.reason === "not_permitted") return "Situs ini belum diizinkan memeriksa tanda tangan (kemampuan \"verify\"). Minta admin TI menambahkannya di kebijakan tte-agent.";
  if (e.reason === "bad_request" && !e.problem && e.data?.detail) return `Berkas tidak dapat diperiksa: ${e.data.detail}`;
  return describeError(e);
}

function verdictItem(r) {
  const li = document.createElement("li");
  const sigs = r.signatures.map((s) => {
    const kind = s.kind === "document-timestamp" ? "cap waktu dokumen" : `${s.signer}${s.level ? ` (${s.level})` : ""}`;
    return `${kind}: ${s.valid ? "sah" : "TIDAK SAH"}`;
  });
  const name = r.file;
  li.textContent = r.error
    ? `${name}: TIDAK DAPAT DIPERIKSA — ${r.error}`
    : `${name}: ${r.valid ? "SAH" : "TIDAK SAH"} — ${sigs.join("; ")}`;
  li.className = r.valid ? "ok" : "error";
  return li;
}

async function verifyAll() {
  const files = [...$("files").files];
  const content = $("content").files[0];
  $("verify").disabled = true;
  $("verdicts").replaceChildren();
  $("report").textContent = "";
  status($("verify-status"), "Memeriksa…");
  try {
    const contents = files.map((f) => (content && /\.(p7s|sig)$/i.test(f.name) ? content : undefined));
    const res = await agent.verify(files, { contents, online: $("online").checked, language: "id" });
    $("verdicts").replaceChildren(...res.reports.map(verdictItem));
    $("report").textContent = res.text;
    status($("verify-status"), res.valid ? "Semua tanda tangan SAH." : "Ada tanda tangan yang TIDAK SAH atau tidak dapat dipastikan: lihat laporan.", res.valid ? "ok" : "error");
  } catch (e) {
    status($("verify-status"), explain(e), "error");
  } finally {
    $("verify").disabled = $("files").files.length === 0;
  }
}

async function start() {
  try {
    const info = await agent.info();
    status($("agent-status"), `Terhubung ke ${info.name} ${info.version}.`, "ok");
    if (!info.allow.includes("verify")) status($("verify-status"), explain(new AgentError("not_permitted", "")), "warn");
  } catch (e) {
    status($("agent-status"), explain(e), "error");
  }
}

$("files").addEventListener("change", () => { $("verify").disabled = $("files").files.length === 0; });
$("verify").addEventListener("click", verifyAll);
start();
