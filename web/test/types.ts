// Compiled by `npm run typecheck` (in make test): the declarations describe
// what an e-office app writes.
import { AgentError, TteAgent, connect, describeError, type Certificate, type Progress } from "tte-agent-client";

// A FileList from an <input type=file> is taken as it is.
export async function fromInput(agent: TteAgent, input: HTMLInputElement): Promise<string> {
  try {
    await agent.signPdf(input.files!, { certificateId: "x" });
    return "";
  } catch (e) {
    return describeError(e, { files: input.files! });
  }
}

export async function example(files: File[], signal: AbortSignal): Promise<Blob[]> {
  const agent: TteAgent = await connect({ retries: 2 });
  agent.addEventListener("tokenschanged", (e) => console.log(e.detail.tokens.map((t) => t.pinStatus)));
  const info = await agent.info();
  if (!info.allow.includes("documents")) throw new Error("not allowed");
  const certs: Certificate[] = await agent.certificates({ validOnly: true, keyUsage: "nonRepudiation" });
  const byExpiry = certs.sort((a, b) => a.notAfterDate.getTime() - b.notAfterDate.getTime());
  try {
    const out = await agent.signPdf(files, {
      certificateId: byExpiry[0].id,
      level: "B-T",
      reason: "Disetujui",
      appearance: { page: 1, rect: [50, 50, 250, 110], text: ["Ditandatangani secara elektronik"] },
      signal,
      onProgress: (p: Progress) => console.log(p.stage, p.done, p.total),
    });
    return out.map((r) => r.blob);
  } catch (e) {
    if (e instanceof AgentError && e.reason === "pin_incorrect" && e.pinStatus === "final_try") {
      console.log("satu percobaan lagi");
    }
    throw e;
  }
}

export async function digests(agent: TteAgent): Promise<Uint8Array> {
  const res = await agent.signDigests({ certificateId: "x", signatureAlgorithm: "ECDSA", items: [{ name: "a", digest: new Uint8Array(32) }] });
  return res.items[0].signature;
}

export async function archive(agent: TteAgent, files: File[]): Promise<boolean> {
  const st = await agent.certificateStatus("x");
  if (st.revocation.status === "revoked") throw new Error(st.revocation.reason);
  const signed = await agent.signPdf(files, { certificateId: "x", level: "B-LTA", vri: false });
  if (signed[0].level !== "B-LTA") console.log(signed[0].revocation?.detail);
  const extended = await agent.extendPdf(signed.map((s) => s.blob), { level: "B-LTA" });
  const res = await agent.verify(extended.map((s) => s.blob), { language: "en" });
  return res.valid && res.reports.every((r) => r.signatures.every((s) => s.valid && s.level !== undefined));
}
