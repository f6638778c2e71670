// Drives Debian's chromium for tte-bench scenario w: the page (an allowed
// origin) measures, in the same browser, a bare fetch() POST of a document
// to a loopback sink (the browser's own ceiling), the project's client
// signing it with sign.cms, and a batch of PDFs with sign.pdf. Prints one
// JSON line of timings in milliseconds. Environment: TTE_PAGE (the bench
// page), TTE_AGENT (the agent's WebSocket URL), TTE_CERT, TTE_RUNS, TTE_PDFS.
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
try {
  const page = await browser.newPage();
  await page.goto(env("TTE_PAGE"));
  const result = await page.evaluate(async ({ agentURL, cert, runs, pdfs }) => {
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
  }, { agentURL: env("TTE_AGENT"), cert: env("TTE_CERT"), runs: Number(env("TTE_RUNS")), pdfs: Number(env("TTE_PDFS")) });
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
