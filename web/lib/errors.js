// Errors of tte-agent-client: AgentError, the reasons the client adds,
// and what to tell the user about each, in Indonesian and English.

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
export function asAgentError(e) {
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

// cancelledError is what an AbortSignal turns into before the agent has a
// request to cancel: the same reason the agent answers, nothing completed.
export function cancelledError() {
  return new AgentError("cancelled", "the request was cancelled", { data: { completed: 0 } });
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
