// End-to-end tests of the demo e-office page in Debian's chromium, driven
// by playwright-core. Run by web/e2e/e2e_test.go (`make test`), which
// starts the agent on a SoftHSM token and passes these variables:
//
//   TTE_AGENT_URL     the agent's WebSocket URL
//   TTE_PAGE_URL      the demo page on an allowed origin, served as public
//   TTE_PUBLIC_FLAG   the Chromium switch that makes that origin public
//   TTE_CHROMIUM      Chromium with the browser policy `tte-agent policy
//                     write` wrote for the allowed origin
//   TTE_EXTENSION     the tte-agent extension (web/extension)
//   TTE_EXT_PROFILE   a Chromium profile whose native host is this agent's
//   TTE_BAD_PAGE_URL  the same page on an origin not in the policy
//   TTE_CONTROL_URL   the Go side's control endpoint (fake pinentry, tokens)
//   TTE_FIXTURES      PDFs to sign
//   TTE_OUT           where downloads go; TTE_KEEP: the screenshots
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run these tests through go test ./web/e2e`);
  return v;
};
const AGENT = env("TTE_AGENT_URL");
const PAGE = `${env("TTE_PAGE_URL")}?agent=${encodeURIComponent(AGENT)}`;
const BAD_PAGE = `${env("TTE_BAD_PAGE_URL")}?agent=${encodeURIComponent(AGENT)}`;
const CONTROL = env("TTE_CONTROL_URL");
const FIXTURES = env("TTE_FIXTURES");
const OUT = env("TTE_OUT");
const KEEP = env("TTE_KEEP");
const PDFS = ["go-minimal.pdf", "cairo.pdf", "qpdf-objstm.pdf"].map((f) => join(FIXTURES, f));
const PIN = "246810";
// One scale factor for every wait (TTE_TEST_SCALE, as in the Go tests), so
// that the scenarios hold on a loaded machine.
const SCALE = Math.max(1, Number(process.env.TTE_TEST_SCALE) || 1);
const ms = (n) => Math.round(n * SCALE);

let browser;

// launch starts Chromium with the allowed page's origin made public, as a
// real e-office on the internet is; executablePath is the browser with the
// administrator's policy (TTE_CHROMIUM) or the plain one.
const launch = (executablePath) => chromium.launch({
  executablePath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", env("TTE_PUBLIC_FLAG")],
});

before(async () => {
  browser = await launch(env("TTE_CHROMIUM"));
});

after(async () => {
  await browser?.close();
});

async function control(method, path, body) {
  const res = await fetch(CONTROL + path, { method, body: body && JSON.stringify(body) });
  if (!res.ok) throw new Error(`control ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

const dialogs = async () => (await control("GET", "/dialogs")).count;

async function openPage(url = PAGE) {
  const context = await browser.newContext({ acceptDownloads: true, locale: "id-ID" });
  context.setDefaultTimeout(ms(30000));
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  return { page, context, errors };
}

async function connected(page) {
  await page.locator("#agent-status", { hasText: "Terhubung ke tte-agent" }).waitFor();
  await page.locator("#cert option").first().waitFor({ state: "attached" });
}

test("the allowed page signs three PDFs in one batch and they download", async () => {
  await control("POST", "/pinentry", { action: "pin", pin: PIN });
  const shownBefore = await dialogs();
  const { page, context, errors } = await openPage();
  await connected(page);
  assert.match(await page.locator("#tokens").innerText(), /Kartu ASN/);
  const option = await page.locator("#cert option").first().innerText();
  assert.match(option, /^Siti Rahmawati — berlaku s\.d\. .+ \(\d+ hari lagi\)( — .+)?$/);
  // The revocation status, as the agent checked it, beside the certificate.
  await page.locator("#cert-status", { hasText: "tidak dicabut (diperiksa lewat OCSP" }).waitFor();
  assert.match(await page.locator("#cert-status").innerText(), /Rantai sertifikat terpercaya/);
  assert.equal(await page.locator("#level").inputValue(), "B-LT", "B-LT is the default level");

  await page.setInputFiles("#files", PDFS);
  assert.equal(await page.locator("#chosen li").count(), 3);
  // The documents go over the HTTP fast path: the three small ones in one
  // POST (document.uploadUrl), without a CORS preflight (an untyped body
  // is a simple request).
  const puts = [];
  const preflights = [];
  page.on("requestfinished", (r) => {
    if (r.url().includes("/v1/upload/")) (r.method() === "POST" ? puts : preflights).push(`${r.method()} ${r.url()}`);
  });
  await page.click("#sign");
  await page.locator("#sign-status", { hasText: "3 dokumen berhasil ditandatangani (B-LT)." }).waitFor();
  assert.equal(await page.locator("#progress").evaluate((p) => p.value === p.max), true);
  assert.equal(await dialogs(), shownBefore + 1, "one dialog for the whole batch");
  assert.equal(puts.length, 1, `HTTP uploads: ${puts}`);
  assert.deepEqual(preflights, []);

  const links = page.locator("#results li:not(.all) a");
  assert.deepEqual(await links.allInnerTexts(), ["Unduh go-minimal-ttd.pdf", "Unduh cairo-ttd.pdf", "Unduh qpdf-objstm-ttd.pdf"]);
  for (let i = 0; i < 3; i++) {
    const [download] = await Promise.all([page.waitForEvent("download"), links.nth(i).click()]);
    await download.saveAs(join(OUT, download.suggestedFilename()));
  }
  // "Unduh semua": one ZIP holding the same three signed files.
  assert.equal(await page.locator("#download-all").innerText(), "Unduh semua (3 dokumen, ZIP)");
  const [zipped] = await Promise.all([page.waitForEvent("download"), page.click("#download-all")]);
  assert.equal(zipped.suggestedFilename(), "dokumen-ttd.zip");
  const zipPath = join(OUT, "dokumen-ttd.zip");
  await zipped.saveAs(zipPath);
  execFileSync("unzip", ["-tq", zipPath]); // CRCs and structure, by Info-ZIP's unzip
  for (const name of ["go-minimal-ttd.pdf", "cairo-ttd.pdf", "qpdf-objstm-ttd.pdf"]) {
    assert.ok(execFileSync("unzip", ["-p", zipPath, name]).equals(readFileSync(join(OUT, name))), `${name} in the ZIP differs from its own download`);
  }
  await page.screenshot({ path: join(KEEP, "signed.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test("the verify page says the signed letters are valid at B-LT, and a changed one is not", async () => {
  const signed = ["go-minimal-ttd.pdf", "cairo-ttd.pdf", "qpdf-objstm-ttd.pdf"].map((f) => join(OUT, f));
  const bytes = readFileSync(signed[1]);
  bytes[300] ^= 1;
  const tampered = join(OUT, "diubah.pdf");
  writeFileSync(tampered, bytes);
  const shownBefore = await dialogs();
  const { page, context, errors } = await openPage(PAGE.replace("/?", "/verify.html?"));
  await page.locator("#agent-status", { hasText: "Terhubung ke tte-agent" }).waitFor();
  await page.setInputFiles("#files", signed);
  await page.click("#verify");
  await page.locator("#verify-status", { hasText: "Semua tanda tangan SAH." }).waitFor();
  assert.equal(await page.locator("#verdicts li.ok").count(), 3);
  assert.match(await page.locator("#report").innerText(), /Level: B-LT/);
  await page.screenshot({ path: join(KEEP, "verified.png"), fullPage: true });
  await page.setInputFiles("#files", [tampered]);
  await page.click("#verify");
  await page.locator("#verify-status", { hasText: "TIDAK SAH" }).waitFor();
  assert.match(await page.locator("#verdicts").innerText(), /diubah\.pdf: TIDAK SAH/);
  assert.equal(await dialogs(), shownBefore, "verifying asks nothing of the user");
  assert.deepEqual(errors, []);
  await context.close();
});

test("a page from an origin not in the policy is told so, and no dialog appears", async () => {
  const shownBefore = await dialogs();
  const { page, context } = await openPage(BAD_PAGE);
  await page.locator("#agent-status", { hasText: "belum diizinkan" }).waitFor();
  assert.match(await page.locator("#agent-status").innerText(), /Minta admin TI menambahkan alamat e-office ini/);
  assert.equal(await page.locator("#sign").isDisabled(), true);
  assert.equal(await dialogs(), shownBefore);
  await page.screenshot({ path: join(KEEP, "not-allowed.png") });
  await context.close();
});

test("a public page without the browser policy is told, in Indonesian, that the browser blocks it and what to do", async () => {
  const plain = await launch("/usr/bin/chromium");
  try {
    const shownBefore = await dialogs();
    const context = await plain.newContext({ locale: "id-ID" });
    context.setDefaultTimeout(ms(30000));
    const page = await context.newPage();
    await page.goto(PAGE);
    const status = page.locator("#agent-status", { hasText: "Browser memblokir situs ini menghubungi tte-agent" });
    await status.waitFor();
    const text = await status.innerText();
    assert.match(text, /Izinkan "akses jaringan lokal" di pengaturan situs/, "what the user can do");
    assert.match(text, /admin TI/, "what the administrator does");
    assert.equal(await page.evaluate(async () => (await navigator.permissions.query({ name: "local-network-access" })).state), "denied");
    assert.equal(await dialogs(), shownBefore, "no dialog");
    await context.close();
  } finally {
    await plain.close();
  }
});

// withExtension runs f with a Chromium that has the tte-agent extension
// (unpacked) and its native host, and no Local Network Access policy.
async function withExtension(f) {
  const ext = env("TTE_EXTENSION");
  const context = await chromium.launchPersistentContext(env("TTE_EXT_PROFILE"), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    acceptDownloads: true,
    locale: "id-ID",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
      `--disable-extensions-except=${ext}`, `--load-extension=${ext}`, env("TTE_PUBLIC_FLAG")],
  });
  context.setDefaultTimeout(ms(30000));
  try {
    return await f(context);
  } finally {
    await context.close();
  }
}

test("with the browser extension, a public page and no browser policy: the batch is signed through native messaging", async () => {
  await control("POST", "/pinentry", { action: "pin", pin: PIN });
  const shownBefore = await dialogs();
  await withExtension(async (context) => {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const sockets = [];
    page.on("websocket", (ws) => sockets.push(ws.url()));
    await page.goto(PAGE);
    await connected(page);
    const transport = await page.evaluate(async (url) => {
      const { TteAgent } = await import("/client.js");
      return (await new TteAgent({ url }).info()).transport;
    }, AGENT);
    assert.equal(transport, "native", "auto picked the extension");
    await page.setInputFiles("#files", PDFS);
    const uploads = [];
    page.on("request", (r) => { if (r.url().includes("127.0.0.1") && r.url().includes("/v1/")) uploads.push(r.url()); });
    await page.click("#sign");
    await page.locator("#sign-status", { hasText: "3 dokumen berhasil ditandatangani (B-LT)." }).waitFor();
    assert.deepEqual(uploads, [], "nothing went to the agent's port: the page cannot reach it without the policy");
    assert.deepEqual(sockets, [], "no WebSocket: everything through the extension");
    assert.equal(await dialogs(), shownBefore + 1, "one dialog for the batch");
    const links = page.locator("#results li:not(.all) a");
    const [download] = await Promise.all([page.waitForEvent("download"), links.nth(0).click()]);
    await download.saveAs(join(OUT, "lewat-ekstensi.pdf"));
    assert.ok(readFileSync(join(OUT, "lewat-ekstensi.pdf")).includes("/ByteRange"), "a signed PDF came back");

    // Results the agent holds (3 MiB) come back through the extension too:
    // no download URL there, so in document.download pieces.
    const roundTrip = await page.evaluate(async (url) => {
      const { TteAgent } = await import("/client.js");
      const agent = new TteAgent({ url });
      const [cert] = await agent.certificates();
      const doc = new Uint8Array(3 << 20).map((_, i) => (i * 7919) % 251);
      const [enc] = await agent.encryptDocuments([new File([doc], "arsip.bin")], { recipients: [cert.certificate], rsaPadding: "RSA-PKCS1-v1_5" });
      const [dec] = await agent.decryptDocuments([new File([enc.blob], "arsip.bin.p7m")]);
      const back = new Uint8Array(await dec.blob.arrayBuffer());
      return { size: enc.size, same: back.length === doc.length && back.every((b, i) => b === doc[i]) };
    }, AGENT);
    assert.ok(roundTrip.size > 3 << 20 && roundTrip.same, `a 3 MiB document encrypted and opened through the extension: ${JSON.stringify(roundTrip)}`);
    assert.equal(await dialogs(), shownBefore + 2, "one more dialog, to open it");
    assert.deepEqual(uploads, [], "still nothing to the agent's port: the held results came as pieces");
    assert.deepEqual(errors, []);
  });
});

test("with the browser extension, a page outside the agent's policy is refused and told so", async () => {
  const shownBefore = await dialogs();
  await withExtension(async (context) => {
    const page = await context.newPage();
    const sockets = [];
    page.on("websocket", (ws) => sockets.push(ws.url()));
    await page.goto(BAD_PAGE);
    await page.locator("#agent-status", { hasText: "belum diizinkan" }).waitFor();
    assert.equal(await dialogs(), shownBefore);
    assert.deepEqual(sockets, [], "refused through the extension, not the WebSocket");
  });
});

test("Amankan dokumen: a letter encrypted to the user's own certificate with no dialog, then opened with the token in one dialog", async () => {
  await control("POST", "/pinentry", { action: "pin", pin: PIN });
  const shownBefore = await dialogs();
  const { page, context, errors } = await openPage(`${env("TTE_PAGE_URL")}protect.html?agent=${encodeURIComponent(AGENT)}`);
  await page.locator("#agent-status", { hasText: "Terhubung ke tte-agent" }).waitFor();
  await page.locator("#encrypt:not([disabled])").waitFor();
  await page.setInputFiles("#enc-files", [PDFS[0]]);
  await page.click("#encrypt");
  await page.locator("#enc-status", { hasText: "1 dokumen terenkripsi untuk 1 penerima." }).waitFor();
  assert.equal(await dialogs(), shownBefore, "encrypting asks nothing");
  const [enc] = await Promise.all([page.waitForEvent("download"), page.click("#enc-results a")]);
  const p7m = join(OUT, enc.suggestedFilename());
  await enc.saveAs(p7m);
  assert.equal(enc.suggestedFilename(), "go-minimal.pdf.p7m");
  assert.ok(!readFileSync(p7m).includes("%PDF"), "the envelope does not hold the letter in the clear");
  await page.setInputFiles("#dec-files", [p7m]);
  await page.click("#decrypt");
  await page.locator("#dec-status", { hasText: "1 dokumen dibuka." }).waitFor();
  assert.equal(await dialogs(), shownBefore + 1, "opening asks once");
  const [dec] = await Promise.all([page.waitForEvent("download"), page.click("#dec-results a")]);
  const opened = join(OUT, "dibuka-" + dec.suggestedFilename());
  await dec.saveAs(opened);
  assert.ok(readFileSync(opened).equals(readFileSync(PDFS[0])), "the opened letter is the letter");

  // A large document (12 MiB): its envelope and its opening are held by
  // the agent and fetched by the page from their download URLs — from a
  // public origin, under the Local Network Access policy.
  const fetched = [];
  page.on("requestfinished", (r) => r.url().includes("/v1/download/") && r.method() === "GET" && fetched.push(r.url()));
  const bigPath = join(OUT, "arsip-besar.bin");
  writeFileSync(bigPath, randomBytes(12 << 20));
  await page.setInputFiles("#enc-files", [bigPath]);
  await page.click("#encrypt");
  await page.locator("#enc-status", { hasText: "1 dokumen terenkripsi untuk 1 penerima." }).waitFor();
  const [bigEnc] = await Promise.all([page.waitForEvent("download"), page.click("#enc-results a")]);
  const bigP7m = join(OUT, bigEnc.suggestedFilename());
  await bigEnc.saveAs(bigP7m);
  await page.setInputFiles("#dec-files", [bigP7m]);
  await page.click("#decrypt");
  await page.locator("#dec-status", { hasText: "1 dokumen dibuka." }).waitFor();
  const [bigDec] = await Promise.all([page.waitForEvent("download"), page.click("#dec-results a")]);
  const bigOpened = join(OUT, "dibuka-" + bigDec.suggestedFilename());
  await bigDec.saveAs(bigOpened);
  assert.ok(readFileSync(bigOpened).equals(readFileSync(bigPath)), "the opened 12 MiB document is the document");
  assert.equal(fetched.length, 2, `the envelope and the opening came from download URLs: ${fetched}`);
  assert.deepEqual(errors, []);
  await context.close();
});

test("S/MIME: a message signed with the token verifies in openssl smime; signed-then-encrypted opens and verifies in the page; openssl's encrypted message opens with the token", async () => {
  await control("POST", "/pinentry", { action: "pin", pin: PIN });
  const shownBefore = await dialogs();
  const { page, context, errors } = await openPage();
  await connected(page);
  const entity = "Content-Type: text/plain; charset=utf-8\r\n\r\nRapat koordinasi pukul 09.00 di ruang Walikota.\r\n";
  const out = await page.evaluate(async ({ url, entity }) => {
    const { TteAgent, toBase64 } = await import("/client.js");
    const { signMime, signAndEncryptMime, openMime } = await import("/smime.js");
    const agent = new TteAgent({ url });
    const [cert] = await agent.certificates();
    const signed = await signMime(agent, entity, { certificateId: cert.id });
    const sealed = await signAndEncryptMime(agent, entity, { certificateId: cert.id, recipients: [cert.certificate], rsaPadding: "RSA-PKCS1-v1_5" });
    const opened = await openMime(agent, sealed, { online: true });
    if (!opened.report?.valid) return { report: opened.report?.text };
    return { cert: cert.certificate, signed: toBase64(signed), opened: new TextDecoder().decode(opened.entity), wasSigned: opened.signed, wasEncrypted: opened.encrypted, valid: opened.report?.valid };
  }, { url: AGENT, entity });
  assert.equal(await dialogs(), shownBefore + 3, "a dialog to sign, one to sign again, one to open");
  assert.deepEqual([out.opened, out.wasSigned, out.wasEncrypted, out.valid], [entity, true, true, true]);
  const signedFile = join(OUT, "signed.eml");
  writeFileSync(signedFile, Buffer.from(out.signed, "base64"));
  const verified = execFileSync("openssl", ["smime", "-verify", "-in", signedFile, "-CAfile", env("TTE_CA_FILE")], { stdio: ["ignore", "pipe", "pipe"] });
  assert.equal(verified.toString().replace(/\r\n/g, "\n"), entity.replace(/\r\n/g, "\n"), "openssl smime -verify gives back the signed entity");
  // A message openssl encrypted to the token's certificate.
  const certFile = join(OUT, "token.pem");
  writeFileSync(certFile, `-----BEGIN CERTIFICATE-----\n${out.cert.replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE-----\n`);
  const plain = join(OUT, "entity.txt");
  writeFileSync(plain, entity);
  const encrypted = execFileSync("openssl", ["smime", "-encrypt", "-aes256", "-binary", "-in", plain, certFile]).toString();
  const theirs = await page.evaluate(async ({ url, message }) => {
    const { TteAgent } = await import("/client.js");
    const { openMime } = await import("/smime.js");
    const opened = await openMime(new TteAgent({ url }), message);
    return { entity: new TextDecoder().decode(opened.entity), encrypted: opened.encrypted };
  }, { url: AGENT, message: encrypted });
  assert.deepEqual(theirs, { entity, encrypted: true });
  assert.deepEqual(errors, []);
  await context.close();
});

// sNail runs the real mail program s-nail headless on a mailbox, with no
// user or system configuration, and returns what it printed.
function sNail(args, input) {
  const r = spawnSync("s-nail", ["-n", "-Sv15-compat", "-Sttycharset=utf-8", ...args], { input, env: { ...process.env, MAILRC: "/dev/null", HOME: OUT }, encoding: "utf8" });
  if (r.error) throw new Error(`s-nail is not installed (scripts/install-deps.sh test): ${r.error.message}`);
  return { status: r.status, out: r.stdout + r.stderr };
}

// mbox stores a message as a Unix mailbox does: a From_ line, LF endings.
function mbox(from, message) {
  return `From ${from} Mon Dec  7 03:13:09 2026\n${message.replace(/\r\n/g, "\n")}\n`;
}

test("S/MIME with a real mail program: s-nail verifies the page's signed mail and opens its encrypted mail, openssl its GCM mail; the page opens and verifies what s-nail signed and encrypted to the token", async () => {
  await control("POST", "/pinentry", { action: "pin", pin: PIN });
  const shownBefore = await dialogs();
  const { page, context, errors } = await openPage();
  await connected(page);
  const rinaCert = readFileSync(env("TTE_RINA"), "utf8").match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)[0];
  const chain = join(OUT, "ca-chain.pem");
  writeFileSync(chain, readFileSync(env("TTE_CA_FILE"), "utf8") + readFileSync(env("TTE_INTER_FILE"), "utf8"));
  const head = "From: siti@demo.go.id\r\nTo: rina@demo.go.id\r\nSubject: Undangan rapat\r\nDate: Mon, 07 Dec 2026 03:13:09 +0000\r\nMIME-Version: 1.0\r\n";
  const entity = "Content-Type: text/plain; charset=utf-8\r\n\r\nRapat koordinasi pukul 09.00 di ruang Walikota.\r\n";
  const made = await page.evaluate(async ({ url, entity, rina }) => {
    const { TteAgent } = await import("/client.js");
    const { signMime, signAndEncryptMime } = await import("/smime.js");
    const agent = new TteAgent({ url });
    const [cert] = await agent.certificates();
    const der = rina.replace(/-----[A-Z ]+-----|\s+/g, "");
    const dec = new TextDecoder();
    const signed = dec.decode(await signMime(agent, entity, { certificateId: cert.id }));
    // s-nail reads EnvelopedData with RSA PKCS #1 v1.5 key transport only
    // (OpenSSL's PKCS #7 API): the options for older readers.
    const sealed = dec.decode(await signAndEncryptMime(agent, entity, { certificateId: cert.id, recipients: [der], cipher: "AES-256-CBC", rsaPadding: "RSA-PKCS1-v1_5" }));
    // The defaults (AuthEnvelopedData with AES-256-GCM, RSA-OAEP-SHA-256),
    // for readers that have them: OpenSSL's CMS.
    const sealedGCM = dec.decode(await signAndEncryptMime(agent, entity, { certificateId: cert.id, recipients: [der] }));
    return { signed, sealed, sealedGCM, cert: cert.certificate };
  }, { url: AGENT, entity, rina: rinaCert });
  assert.equal(await dialogs(), shownBefore + 3, "a dialog for each signature");

  // openssl opens the page's GCM message with Rina's key and verifies the
  // signature inside.
  const gcmFile = join(OUT, "sealed-gcm.eml");
  writeFileSync(gcmFile, head + made.sealedGCM);
  const inner = execFileSync("openssl", ["cms", "-decrypt", "-in", gcmFile, "-recip", env("TTE_RINA"), "-inkey", env("TTE_RINA")]);
  const innerFile = join(OUT, "sealed-gcm-inner.eml");
  writeFileSync(innerFile, inner);
  const verifiedInner = execFileSync("openssl", ["smime", "-verify", "-in", innerFile, "-CAfile", chain], { stdio: ["ignore", "pipe", "pipe"] });
  assert.equal(verifiedInner.toString().replace(/\r\n/g, "\n"), entity.replace(/\r\n/g, "\n"), "openssl opens and verifies the page's AuthEnvelopedData message");

  // s-nail verifies the signed message against the CA.
  const signedBox = join(OUT, "signed.mbox");
  writeFileSync(signedBox, mbox("siti@demo.go.id", head + made.signed));
  let r = sNail(["-Ssmime-ca-file=" + chain, "-R", "-f", signedBox], "verify 1\n");
  assert.match(r.out, /Message 1 was verified successfully/, r.out);
  assert.equal(r.status, 0, r.out);
  // Changed in transit: s-nail refuses it.
  writeFileSync(signedBox, mbox("siti@demo.go.id", head + made.signed.replace("09.00", "10.00")));
  r = sNail(["-Ssmime-ca-file=" + chain, "-R", "-f", signedBox], "verify 1\n");
  assert.doesNotMatch(r.out, /verified successfully/, "a changed message verified");

  // s-nail opens the signed-then-encrypted message with Rina's key, and
  // verifies the signature inside.
  const sealedBox = join(OUT, "sealed.mbox");
  const openedBox = join(OUT, "opened.mbox");
  writeFileSync(sealedBox, mbox("siti@demo.go.id", head + made.sealed));
  r = sNail(["-Ssmime-sign-cert-rina@demo.go.id=" + env("TTE_RINA"), "-R", "-f", sealedBox], `decrypt 1 ${openedBox}\n`);
  const opened = readFileSync(openedBox, "utf8");
  assert.match(opened, /Rapat koordinasi pukul 09\.00 di ruang Walikota\./, `s-nail could not open the page's message:\n${r.out}`);
  r = sNail(["-Ssmime-ca-file=" + chain, "-R", "-f", openedBox], "verify 1\n");
  assert.match(r.out, /Message 1 was verified successfully/, r.out);

  // s-nail signs with Rina's key and encrypts to the token's certificate;
  // the page opens it with the token and verifies Rina's signature.
  const tokenCert = join(OUT, "siti.pem");
  writeFileSync(tokenCert, `-----BEGIN CERTIFICATE-----\n${made.cert.replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE-----\n`);
  const sent = join(OUT, "sent-by-snail.eml");
  const mta = join(OUT, "mta.sh");
  writeFileSync(mta, `#!/bin/sh\ncat > '${sent}'\n`, { mode: 0o700 });
  r = sNail(["-Smta=" + mta, "-Ssmime-sign", "-Ssmime-sign-cert=" + env("TTE_RINA"), "-Ssmime-sign-include-certs=" + env("TTE_INTER_FILE"),
    "-Ssmime-encrypt-siti@demo.go.id=" + tokenCert, "-Ssmime-cipher=aes256", "-r", "rina@demo.go.id", "-s", "Balasan", "siti@demo.go.id"], "Baik, saya hadir.\n");
  assert.equal(r.status, 0, r.out);
  const message = readFileSync(sent, "utf8");
  assert.match(message, /application\/pkcs7-mime/);
  const theirs = await page.evaluate(async ({ url, message }) => {
    const { TteAgent } = await import("/client.js");
    const { openMime } = await import("/smime.js");
    const opened = await openMime(new TteAgent({ url }), message, { online: true });
    return { text: new TextDecoder().decode(opened.entity), signed: opened.signed, encrypted: opened.encrypted, valid: opened.report?.valid, report: opened.report?.text };
  }, { url: AGENT, message });
  assert.equal(await dialogs(), shownBefore + 4, "one dialog to open");
  assert.match(theirs.text, /Baik, saya hadir\./);
  assert.deepEqual([theirs.signed, theirs.encrypted, theirs.valid], [true, true, true], theirs.report);
  assert.deepEqual(errors, []);
  await context.close();
});

test("no agent on the port: the page says the agent is not running", async () => {
  const { page, context } = await openPage(`${env("TTE_PAGE_URL")}?agent=${encodeURIComponent("ws://127.0.0.1:9/v1")}`);
  await page.locator("#agent-status", { hasText: "tte-agent tidak berjalan di komputer ini" }).waitFor({ timeout: ms(15000) });
  await context.close();
});

test("cancel mid-batch: the dialog closes and the page says nothing was signed", async () => {
  await control("POST", "/pinentry", { action: "hang" });
  const { page, context } = await openPage();
  await connected(page);
  await page.setInputFiles("#files", PDFS);
  await page.click("#sign");
  await page.locator("#sign-status", { hasText: "Menunggu persetujuan dan PIN Anda" }).waitFor();
  assert.equal(await page.locator("#cancel").isEnabled(), true);
  // Waiting for the user is not progress: the bar has no value, not 100%.
  assert.equal(await page.locator("#progress").evaluate((p) => p.hasAttribute("value")), false);
  await page.click("#cancel");
  await page.locator("#sign-status", { hasText: "Penandatanganan dibatalkan." }).waitFor();
  assert.match(await page.locator("#sign-status").innerText(), /0 dokumen sudah ditandatangani sebelum berhenti/);
  assert.equal(await page.locator("#results li").count(), 0);
  assert.equal(await page.locator("#sign").isEnabled(), true);
  assert.equal(await page.locator("#progress").isHidden(), true, "no full bar after a cancel");

  // The agent is free again: the same batch signs now.
  await control("POST", "/pinentry", { action: "pin", pin: PIN });
  await page.click("#sign");
  await page.locator("#sign-status", { hasText: "3 dokumen berhasil ditandatangani" }).waitFor();
  await context.close();
});

test("cancel while time-stamping: the page says how many were finished, nothing is downloaded", async () => {
  await control("POST", "/pinentry", { action: "pin", pin: PIN });
  await control("POST", "/tsa?delay=2s");
  const { page, context } = await openPage();
  await connected(page);
  await page.setInputFiles("#files", PDFS);
  await page.selectOption("#level", "B-T");
  await page.click("#sign");
  // The three time-stamps are asked at once: none is back after 2 s.
  await page.locator("#sign-status", { hasText: "Meminta cap waktu… (0 dari 3)" }).waitFor({ timeout: ms(20000) });
  await page.click("#cancel");
  await page.locator("#sign-status", { hasText: "Penandatanganan dibatalkan." }).waitFor();
  assert.match(await page.locator("#sign-status").innerText(), /0 dokumen sudah ditandatangani sebelum berhenti; tidak ada yang disimpan/);
  assert.equal(await page.locator("#results li").count(), 0);
  await control("POST", "/tsa?delay=0s");
  await context.close();
});

test("the preview renders the page the box lands on (pdf.js), with the box where the agent puts it", async () => {
  const { page, context, errors } = await openPage();
  await page.setInputFiles("#files", PDFS.slice(0, 1)); // go-minimal.pdf: two pages of text
  // Automatic placement: the last page, bottom right.
  await page.locator("#preview-note", { hasText: "Pratinjau halaman 2 dari 2" }).waitFor({ timeout: ms(20000) });
  const look = () => page.locator("#preview").evaluate((c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    const [bx, by] = JSON.parse(c.dataset.box || "[0,0]");
    const k = c.width / 595.276;
    let text = 0, box = 0;
    for (let y = 0; y < c.height; y++) {
      for (let x = 0; x < c.width; x++) {
        const i = 4 * (y * c.width + x);
        const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
        const inBox = x >= bx * k && x < (bx + 230) * k && y >= c.height - (by + 80) * k && y < c.height - by * k;
        if (inBox && g > r + 20 && g > b) box++;
        if (!inBox && r < 120 && g < 120 && b < 120) text++;
      }
    }
    return { text, box, area: c.width * c.height, page: c.dataset.page, spot: [bx, by] };
  });
  let seen = await look();
  assert.equal(seen.page, "2");
  assert.deepEqual(seen.spot, [595 - 36 - 230, 36], "the automatic box sits at the bottom right, 36 points in");
  // The page's one line of text ("Surat Edaran Walikota - halaman 2"); a
  // blank page has none.
  assert.ok(seen.text > 15, `the page's text is rendered (${seen.text} dark pixels)`);
  assert.ok(seen.box > 0.5 * (230 * 80 * (180 / 595) ** 2), `the box is drawn (${seen.box} green pixels)`);
  // A page and position.
  await page.selectOption("#place", "rect");
  await page.fill("#page", "1");
  await page.fill("#posx", "100");
  await page.fill("#posy", "500");
  await page.locator("#preview-note", { hasText: "Pratinjau halaman 1 dari 2" }).waitFor();
  seen = await look();
  assert.deepEqual(seen.spot, [100, 500]);
  assert.ok(seen.text > 15, `page 1's text is rendered (${seen.text} dark pixels)`);
  assert.ok(seen.box > 0.5 * (230 * 80 * (180 / 595) ** 2));
  // A marker in the text: its page, the box at the marker.
  await page.selectOption("#place", "anchor");
  await page.fill("#anchor", "Walikota");
  // The note already said page 1 (the position above): wait for the box
  // itself to move, or a loaded machine reads the old drawing.
  await page.waitForFunction(() => JSON.parse(document.querySelector("#preview").dataset.box || "[0,0]")[1] > 700, null, { timeout: ms(20000) });
  await page.locator("#preview-note", { hasText: "Pratinjau halaman 1 dari 2" }).waitFor();
  seen = await look();
  assert.ok(seen.spot[1] > 700 && seen.box > 0, `the box is at the line near the top (${seen.spot})`);
  // A marker the template does not have: the page says the agent will refuse.
  await page.fill("#anchor", "#TTE#");
  await page.locator("#preview-note", { hasText: "tidak ditemukan" }).waitFor();
  await page.screenshot({ path: join(KEEP, "preview.png"), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

// markerLetter is a one-page letter whose template put the marker "^"
// where the signature goes, as e-office templates do.
// markerLetter is a one-page letter with a "^" marker; padding, when
// given, adds an unused stream of that many bytes (a large scanned letter).
function markerLetter(padding = 0) {
  const content = "BT /F1 12 Tf 72 720 Td (Nota Dinas Nomor 7) Tj ET\nBT /F1 12 Tf 330 200 Td (^) Tj ET";
  const objs = [
    "<</Type/Catalog/Pages 2 0 R>>",
    "<</Type/Pages/Kids[3 0 R]/Count 1/MediaBox[0 0 595 842]>>",
    "<</Type/Page/Parent 2 0 R/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
    `<</Length ${content.length}>>stream\n${content}\nendstream`,
    "<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>",
  ];
  if (padding) objs.push(`<</Length ${padding}>>stream\n${"0".repeat(padding)}\nendstream`);
  let pdf = "%PDF-1.7\n";
  const offs = objs.map((body, i) => {
    const at = pdf.length;
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
    return at;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offs.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  pdf += `trailer\n<</Size ${objs.length + 1}/Root 1 0 R>>\nstartxref\n${xref}\n%%EOF\n`;
  return pdf;
}

test("every code example in docs/integration.md runs as written in the browser against the agent", async () => {
  const doc = readFileSync(new URL("../../docs/integration.md", import.meta.url), "utf8");
  const examples = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(examples.length >= 2, `${examples.length} examples`);
  const letter = join(OUT, "nota-dinas.pdf");
  writeFileSync(letter, markerLetter());
  await control("POST", "/pinentry", { action: "pin", pin: PIN });
  const { page, context, errors } = await openPage();
  await connected(page);
  // The names the examples say the page provides.
  await page.evaluate(async () => {
    const input = Object.assign(document.createElement("input"), { type: "file", multiple: true, id: "example-files" });
    document.body.append(input);
    const c = Object.assign(document.createElement("canvas"), { width: 60, height: 60 });
    const g = c.getContext("2d");
    g.fillStyle = "#c00";
    g.fillRect(10, 10, 40, 40);
    Object.assign(window, {
      fileInput: input,
      sealFile: await new Promise((r) => c.toBlob(r, "image/png")),
      log: [],
      showProgress: (stage, done, total) => window.log.push(["progress", stage, done, total]),
      upload: (name, blob) => window.log.push(["upload", name, blob.size]),
      showMessage: (...args) => window.log.push(["message", ...args.map(String)]),
    });
    window.addEventListener("error", (e) => { window.exampleError = e.message; });
    window.addEventListener("unhandledrejection", (e) => { window.exampleError = String(e.reason); });
  });
  await page.setInputFiles("#example-files", [letter]);
  for (const [i, code] of examples.entries()) {
    // The package name resolves to the client the page serves; the agent
    // is on this test's port, not the default one.
    const src = code.replaceAll('from "tte-agent-client"', 'from "/client.js"').replaceAll("new TteAgent()", `new TteAgent({ url: ${JSON.stringify(AGENT)} })`);
    await page.addScriptTag({ type: "module", content: `${src}\nwindow.exampleDone = ${i};` });
    await page.waitForFunction((i) => window.exampleDone === i || window.exampleError, i, { timeout: ms(60000) });
    assert.equal(await page.evaluate(() => window.exampleError), undefined, `example ${i + 1} failed`);
  }
  const log = await page.evaluate(() => window.log);
  // Example 1 signed the letter at its marker, with progress on the way.
  const uploaded = log.find((l) => l[0] === "upload");
  assert.ok(uploaded && uploaded[1] === "nota-dinas.pdf" && uploaded[2] > markerLetter().length, `log: ${JSON.stringify(log)}`);
  assert.ok(log.some((l) => l[0] === "progress" && l[1] === "signing"));
  // Example 2 told the user, in Indonesian, that the certificate is missing.
  const messages = log.filter((l) => l[0] === "message").map((l) => l[1]);
  assert.deepEqual(messages, ["Sertifikat tidak ditemukan. Pasang token lalu muat ulang daftar sertifikat."]);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a batch over 64 MiB is signed while its bytes travel: the dialog comes before they are all in", async () => {
  const paths = [0, 1, 2].map((k) => join(OUT, `pindaian-${k}.pdf`));
  const letter = markerLetter(24 << 20);
  for (const p of paths) writeFileSync(p, letter);
  await control("POST", "/pinentry", { action: "pin", pin: PIN });
  const shownBefore = await dialogs();
  const { page, context, errors } = await openPage();
  await connected(page);
  await page.evaluate(() => {
    const input = Object.assign(document.createElement("input"), { type: "file", multiple: true, id: "big-files" });
    document.body.append(input);
  });
  await page.setInputFiles("#big-files", paths);
  const out = await page.evaluate(async (agentURL) => {
    const { TteAgent } = await import("/client.js");
    const agent = new TteAgent({ url: agentURL });
    const files = document.getElementById("big-files").files;
    let dialogAt;
    performance.clearResourceTimings();
    const res = await agent.signPdf(files, {
      certificateId: (await agent.certificates())[0].id,
      level: "B-T",
      onProgress: (p) => { if (p.stage === "awaiting_user") dialogAt ??= performance.now(); },
    });
    const uploads = performance.getEntriesByType("resource").filter((e) => e.name.includes("/v1/upload/"));
    return { dialogAt, uploadsEnd: uploads.map((e) => e.responseEnd), sizes: res.map((r) => r.blob.size), levels: res.map((r) => r.level) };
  }, AGENT);
  assert.equal(await dialogs(), shownBefore + 1, "one dialog");
  assert.deepEqual(out.levels, ["B-T", "B-T", "B-T"]);
  for (const size of out.sizes) assert.ok(size > letter.length, `signed size ${size}`);
  assert.equal(out.uploadsEnd.length, 3, "each 24 MiB letter in its own HTTP upload");
  assert.ok(out.dialogAt !== undefined && out.dialogAt < Math.max(...out.uploadsEnd),
    `the dialog (at ${out.dialogAt} ms) waited for every byte (uploads ended at ${out.uploadsEnd})`);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a wrong PIN is explained in plain words", async () => {
  await control("POST", "/pinentry", { action: "pin", pin: "000000" });
  const { page, context } = await openPage();
  await connected(page);
  await page.setInputFiles("#files", PDFS.slice(0, 1));
  await page.click("#sign");
  await page.locator("#sign-status", { hasText: "PIN salah. Periksa PIN lalu coba lagi." }).waitFor();
  await control("POST", "/pinentry", { action: "pin", pin: PIN });
  await context.close();
});

test("the token list refreshes by itself when a token is added", async () => {
  const { page, context } = await openPage();
  await connected(page);
  assert.equal(await page.locator("#tokens li").count(), 1);
  await control("POST", "/token?label=Kartu%20Kedua");
  await page.locator("#tokens li", { hasText: "Kartu Kedua" }).waitFor({ timeout: ms(10000) });
  await page.locator("#cert option", { hasText: "Agus Wijaya" }).waitFor({ state: "attached", timeout: ms(10000) });
  assert.equal(await page.locator("#tokens li").count(), 2);
  await page.screenshot({ path: join(KEEP, "token-added.png") });
  await context.close();
});
