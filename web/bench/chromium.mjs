// Drives Debian's chromium for tte-bench's browser scenarios, from a page
// on an allowed origin with the project's client. Prints one JSON line of
// timings in milliseconds. Environment: TTE_SCENARIO (w or t), TTE_PAGE
// (the bench page), TTE_AGENT (the agent's WebSocket URL), TTE_CERT,
// TTE_RUNS, TTE_PDFS.
//
// w: a bare fetch() POST of a document to a loopback sink (the browser's
//    own ceiling), the client signing it with sign.cms, and a batch of
//    PDFs with sign.pdf.
// t: one batch of PDFs at B-LT against a token at a smartcard's pace: the
//    times of the dialog, the consent, the last signature and the end;
//    the first and last signed PDF are posted back to /keep/INDEX.
import { chromium } from "playwright-core";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: tte-bench runs this script`);
  return v;
};
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update"],
});
const args = { agentURL: env("TTE_AGENT"), cert: env("TTE_CERT"), runs: Number(env("TTE_RUNS")), pdfs: Number(env("TTE_PDFS")) };
try {
  const page = await browser.newPage();
  await page.goto(env("TTE_PAGE"));
  const result = env("TTE_SCENARIO") === "t" ? await page.evaluate(tokenBound, args) : await page.evaluate(throughput, args);
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}

async function throughput({ agentURL, cert, runs, pdfs }) {
  const { TteAgent } = await import("/client.js");
  const doc = await (await fetch("/doc.bin")).blob();
  const letter = await (await fetch("/letter.pdf")).blob();
  const agent = new TteAgent({ url: agentURL });
  await agent.connect();
  const ms = async (f) => {
    const t = performance.now();
    await f();
    return performance.now() - t;
  };
  const out = { fetch: [], cms: [], pdf: [], docBytes: doc.size, pdfBytes: letter.size * pdfs };
  for (let i = 0; i < runs; i++) {
    out.fetch.push(await ms(() => fetch("/sink", { method: "POST", body: doc })));
    out.cms.push(await ms(() => agent.signCms([doc], { certificateId: cert })));
    const files = Array.from({ length: pdfs }, (_, k) => new File([letter], `surat-${k}.pdf`, { type: "application/pdf" }));
    out.pdf.push(await ms(() => agent.signPdf(files, { certificateId: cert })));
  }
  return out;
}

async function tokenBound({ agentURL, cert, pdfs }) {
  const { TteAgent } = await import("/client.js");
  const letter = await (await fetch("/letter.pdf")).blob();
  const agent = new TteAgent({ url: agentURL });
  await agent.connect();
  await agent.info();
  const files = Array.from({ length: pdfs }, (_, k) => new File([letter], `surat-${k}.pdf`, { type: "application/pdf" }));
  const out = {};
  const t0 = performance.now();
  const res = await agent.signPdf(files, {
    certificateId: cert,
    level: "B-LT",
    onProgress: (p) => {
      const t = performance.now() - t0;
      if (p.stage === "awaiting_user") out.dialog ??= t;
      if (p.stage === "signing") out.signing ??= t;
      if (p.stage === "signing" && p.done === p.total) out.lastSigned ??= t;
    },
  });
  out.total = performance.now() - t0;
  out.levels = [...new Set(res.map((r) => r.level))];
  for (const i of [0, res.length - 1]) await fetch(`/keep/${i}`, { method: "POST", body: res[i].blob });
  return out;
}
