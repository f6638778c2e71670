// Preview of where a visible signature goes: the page it lands on,
// rendered by pdf.js (vendored in vendor/pdfjs, loaded on first use), with
// the box drawn over it where tte-agent will put it. Without a document it
// shows an empty A4 page.
const A4 = [595, 842];
const MARGIN = 36; // pades autoMargin: the automatic box's distance from the edges
const GAP = 6; // pades freeSpot: the gap between stacked boxes

let pdfjs = null;
let loaded = { file: null, doc: null };
let generation = 0; // a newer preview makes older renders stop drawing
// pdf.js refuses two renders on one canvas at once ("Cannot use the same
// canvas during multiple render() operations"): each input event starts a
// preview, so a render still running is cancelled, and awaited, first.
let rendering = null;

async function library() {
  if (!pdfjs) {
    pdfjs = await import("./vendor/pdfjs/pdf.min.mjs");
    pdfjs.GlobalWorkerOptions.workerSrc = new URL("./vendor/pdfjs/pdf.worker.min.mjs", import.meta.url).href;
  }
  return pdfjs;
}

async function documentOf(file) {
  if (loaded.file !== file) {
    await loaded.doc?.destroy();
    const lib = await library();
    // No scripting, no eval: the preview only draws.
    const doc = await lib.getDocument({ data: new Uint8Array(await file.arrayBuffer()), isEvalSupported: false, enableXfa: false }).promise;
    loaded = { file, doc };
  }
  return loaded.doc;
}

// Signature widgets already on the page, as rectangles on the page as
// shown (origin bottom left, points).
async function signatureBoxes(page, view) {
  const boxes = [];
  for (const a of await page.getAnnotations()) {
    if (a.fieldType !== "Sig" || !a.rect) continue;
    const [x1, y1, x2, y2] = view.convertToViewportRectangle(a.rect);
    boxes.push([Math.min(x1, x2), view.height - Math.max(y1, y2), Math.max(x1, x2), view.height - Math.min(y1, y2)]);
  }
  return boxes;
}

// freeSpot is the agent's automatic placement: from the bottom right,
// leftwards, then upwards, past every signature already there.
function freeSpot(w, h, pw, ph, taken) {
  for (let y = MARGIN; y + h <= ph - MARGIN; y += h + GAP) {
    for (let x = pw - MARGIN - w; x >= MARGIN - 0.001; x -= w + GAP) {
      const free = taken.every((t) => !(x < t[2] + GAP / 2 && t[0] < x + w + GAP / 2 && y < t[3] + GAP / 2 && t[1] < y + h + GAP / 2));
      if (free) return [x, y];
    }
  }
  return null;
}

// findAnchor returns the page and the shown position of the first
// occurrence of the marker, as the agent looks for it (every page).
async function findAnchor(doc, marker) {
  for (let n = 1; n <= doc.numPages; n++) {
    const page = await doc.getPage(n);
    const view = page.getViewport({ scale: 1 });
    for (const item of (await page.getTextContent()).items) {
      const i = item.str?.indexOf(marker) ?? -1;
      if (i < 0) continue;
      // The marker's first character: proportionally along the run.
      const along = item.str.length ? (item.width * i) / item.str.length : 0;
      const [u, v] = view.convertToViewportPoint(item.transform[4] + along, item.transform[5]);
      return { n, x: u, y: view.height - v };
    }
  }
  return null;
}

/**
 * Draws the preview into canvas and says in note what it shows.
 * choice: { file, visible, place: "auto"|"anchor"|"rect", anchor, page, x, y, box: [w, h] }
 */
export async function drawPreview(canvas, note, choice) {
  const mine = ++generation;
  const g = canvas.getContext("2d");
  const [w, h] = choice.box;
  if (!choice.file) {
    canvas.width = 180;
    canvas.height = Math.round((180 * A4[1]) / A4[0]);
    const k = canvas.width / A4[0];
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.strokeStyle = "#5b6875";
    g.strokeRect(0.5, 0.5, canvas.width - 1, canvas.height - 1);
    note.textContent = "Pilih dokumen untuk melihat pratinjau halamannya.";
    if (choice.visible && choice.place !== "anchor") {
      const [x, y] = choice.place === "rect" ? [choice.x, choice.y] : [A4[0] - MARGIN - w, MARGIN];
      g.fillStyle = "rgba(17, 99, 41, 0.35)";
      g.fillRect(x * k, canvas.height - (y + h) * k, w * k, h * k);
    }
    return;
  }
  let doc;
  try {
    doc = await documentOf(choice.file);
  } catch (e) {
    if (mine === generation) note.textContent = `Pratinjau tidak tersedia: berkas ini tidak dapat dibaca sebagai PDF (${e.message}).`;
    return;
  }
  let n = doc.numPages;
  let spot = null;
  let text = "";
  if (choice.visible && choice.place === "rect") {
    n = Math.min(Math.max(1, choice.page), doc.numPages);
    spot = [choice.x, choice.y];
    text = choice.page > doc.numPages ? `Dokumen hanya ${doc.numPages} halaman: tte-agent akan menolaknya.` : "";
  } else if (choice.visible && choice.place === "anchor") {
    const found = choice.anchor ? await findAnchor(doc, choice.anchor) : null;
    if (found) {
      n = found.n;
      spot = [found.x, found.y];
    } else {
      n = 1;
      text = `Penanda "${choice.anchor}" tidak ditemukan di teks dokumen: tte-agent akan menolaknya.`;
    }
  }
  const page = await doc.getPage(n);
  const view1 = page.getViewport({ scale: 1 });
  if (choice.visible && choice.place === "auto") {
    spot = freeSpot(w, h, view1.width, view1.height, await signatureBoxes(page, view1));
    if (!spot) text = "Tidak ada ruang kosong di halaman terakhir: tte-agent akan menolaknya.";
  }
  const scale = 180 / view1.width;
  const view = page.getViewport({ scale });
  if (mine !== generation) return;
  if (rendering) {
    rendering.cancel();
    await rendering.promise.catch(() => {});
  }
  if (mine !== generation) return;
  canvas.width = Math.round(view.width);
  canvas.height = Math.round(view.height);
  const task = page.render({ canvas, canvasContext: g, viewport: view });
  rendering = task;
  try {
    await task.promise;
  } catch (e) {
    if (e?.name === "RenderingCancelledException") return; // a newer preview took over
    throw e;
  } finally {
    if (rendering === task) rendering = null;
  }
  if (mine !== generation) return;
  if (spot) {
    g.fillStyle = "rgba(17, 99, 41, 0.35)";
    g.strokeStyle = "#116329";
    g.fillRect(spot[0] * scale, canvas.height - (spot[1] + h) * scale, w * scale, h * scale);
    g.strokeRect(spot[0] * scale, canvas.height - (spot[1] + h) * scale, w * scale, h * scale);
  }
  canvas.dataset.page = String(n);
  canvas.dataset.box = spot ? JSON.stringify(spot.map(Math.round)) : "";
  note.textContent = text || `Pratinjau halaman ${n} dari ${doc.numPages} "${choice.file.name}"${spot ? " dengan letak tanda tangan" : ""}.`;
}
