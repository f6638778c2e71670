import type { TteAgent } from "./client.js";

/** Options of the S/MIME helpers; they pass on to the agent's calls. */
export interface SmimeOptions {
  certificateId?: string;
  level?: "B-B" | "B-T" | "B-LT";
  recipients?: Array<Uint8Array | ArrayBuffer | string>;
  cipher?: "AES-256-GCM" | "AES-256-CBC";
  rsaPadding?: "RSA-OAEP" | "RSA-PKCS1-v1_5";
  online?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: unknown) => void;
}

/** A multipart/signed entity: the entity (CRLF line endings) and its detached CMS signature. One dialog. */
export function signMime(agent: TteAgent, entity: string | Uint8Array, opts?: SmimeOptions): Promise<Uint8Array>;
/** An application/pkcs7-mime entity encrypted to `recipients`. No dialog. */
export function encryptMime(agent: TteAgent, entity: string | Uint8Array, opts: SmimeOptions & { recipients: Array<Uint8Array | ArrayBuffer | string> }): Promise<Uint8Array>;
/** Signed, then encrypted. One dialog. */
export function signAndEncryptMime(agent: TteAgent, entity: string | Uint8Array, opts: SmimeOptions & { recipients: Array<Uint8Array | ArrayBuffer | string> }): Promise<Uint8Array>;
/** A received message taken apart: opened with the token (one dialog) and verified. */
export function openMime(agent: TteAgent, message: string | Uint8Array, opts?: SmimeOptions): Promise<{
  entity: Uint8Array;
  signed: boolean;
  encrypted: boolean;
  report?: { valid: boolean; reports: unknown; text: string };
}>;
