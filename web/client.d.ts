// Type declarations for tte-agent-client (protocol v1).

/** The agent's default WebSocket URL. */
export declare const DEFAULT_URL: "ws://127.0.0.1:14545/v1";
/** The ports searched for this user's agent when no url is given: 14545 to 14554. */
export declare const DEFAULT_PORTS: readonly number[];

/** Reasons the client adds to the contract's own. */
export declare const CLIENT_REASONS: Readonly<{
  AGENT_UNAVAILABLE: "agent_unavailable";
  ORIGIN_NOT_ALLOWED: "origin_not_allowed";
  CONNECTION_LOST: "connection_lost";
  LOCAL_NETWORK_DENIED: "local_network_denied";
  FILE_UNREADABLE: "file_unreadable";
  CLIENT_ERROR: "client_error";
}>;

/** The contract's stable error reasons (§4) and the client's own. */
export type Reason =
  | "parse_error" | "invalid_request" | "method_not_found" | "bad_request" | "internal"
  | "not_permitted" | "user_cancelled" | "pin_incorrect" | "pin_locked" | "token_removed"
  | "certificate_not_found" | "certificate_invalid" | "too_large" | "busy" | "cancelled"
  | "timeout" | "upstream_failed" | "dialog_unavailable"
  | "agent_unavailable" | "origin_not_allowed" | "connection_lost" | "local_network_denied"
  | "file_unreadable" | "client_error";

export type PINStatus = "ok" | "count_low" | "final_try" | "locked";
export type HashAlgorithm = "SHA-256" | "SHA-384" | "SHA-512";
export type SignatureAlgorithm = "RSA-PKCS1-v1_5" | "RSA-PSS" | "ECDSA";
export type Level = "B-B" | "B-T" | "B-LT" | "B-LTA";

/** Why the agent refused a document (docs/protocol.md). */
export type PdfProblem =
  | "not_pdf" | "truncated" | "damaged" | "broken_xref" | "encrypted"
  | "permissions" | "certified" | "too_costly" | "anchor_missing";

/** What to tell the user about a refused document, in Indonesian or English. */
export declare function describePdfProblem(problem: PdfProblem | string | undefined, language?: "id" | "en"): string | undefined;

/** One refused document of a request. */
export interface Refusal {
  item: number;
  name?: string;
  problem?: PdfProblem;
  detail?: string;
}

/**
 * What to tell the user about an error, in Indonesian (default) or English:
 * every reason has words; refused documents are named with why.
 */
export declare function describeError(e: unknown, opts?: { language?: "id" | "en"; files?: Files }): string;

/** Files as the client's methods take them: a FileList, an Array or any iterable. */
export type Files = Iterable<File | Blob> | ArrayLike<File | Blob>;

/** An error from the agent or the connection. */
export declare class AgentError extends Error {
  constructor(reason: Reason, message: string, opts?: { code?: number; data?: Record<string, unknown> });
  readonly reason: Reason;
  /** The JSON-RPC error code (0 for the client's own reasons). */
  readonly code: number;
  /** The error's data member as the agent sent it. */
  readonly data: { reason?: Reason; detail?: string; completed?: number; pinStatus?: PINStatus; item?: number; problem?: PdfProblem; [k: string]: unknown };
  /** Items finished before the request stopped, when the agent says. */
  readonly completed: number | undefined;
  /** The token's PIN status after a refused PIN. */
  readonly pinStatus: PINStatus | undefined;
  /** Why a refused document cannot be signed. */
  readonly problem: PdfProblem | undefined;
  /** The index of the refused document in the request's items. */
  readonly item: number | undefined;
  /** Every refused document of the request. */
  readonly refused: Refusal[];
}

export interface AgentInfo {
  name: string;
  version: string;
  protocol: number;
  origin: string;
  allow: Array<"documents" | "digest" | "extend" | "verify" | "encrypt" | "decrypt">;
  formats: Array<"raw" | "cms" | "pades">;
  /** The levels this agent can make now (time-stamped ones need its TSA). */
  levels: Level[];
  /** How this page reaches the agent: the WebSocket, or the browser extension (native messaging). */
  transport: "websocket" | "native";
  limits: {
    textFrameBytes: number;
    binaryFrameBytes: number;
    documentBytes: number;
    items: number;
    uploads: number;
    connections: number;
    /** How many of `connections` one origin may hold (absent from older agents). */
    originConnections?: number;
  };
}

export interface Token {
  id: string;
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  pinStatus: PINStatus;
  protectedAuthPath: boolean;
}

export interface Certificate {
  id: string;
  tokenId: string;
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  /** notAfter as a Date (added by the client). */
  notAfterDate: Date;
  daysLeft: number;
  keyType: string;
  keyUsage: string[];
  /** base64 DER */
  certificate: string;
}

export interface Progress {
  /** "uploading" is the client's own stage: bytes sent of all files. */
  stage: "uploading" | "receiving" | "awaiting_user" | "signing" | "timestamping";
  done: number;
  total: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export interface SignOptions extends CallOptions {
  certificateId: string;
  hashAlgorithm?: HashAlgorithm;
  level?: Level;
}

export interface PdfOptions extends SignOptions {
  reason?: string;
  location?: string;
  contactInfo?: string;
  appearance?: Appearance;
  /** Certification signature with DocMDP permissions P. */
  certify?: 1 | 2 | 3;
  /** Sign the template's empty signature field of this name. */
  field?: string;
  /** Per-signature /VRI entries in the DSS at B-LT and above. */
  vri?: boolean;
}

/** A visible signature (docs/protocol.md, sign.pdf). */
export interface Appearance {
  page?: number;
  /** [llx, lly, urx, ury] in points on the page as shown; without it the agent places a `size` box. */
  rect?: [number, number, number, number];
  size?: [number, number];
  anchor?: string;
  anchorAll?: boolean;
  offset?: [number, number];
  text?: string[];
  qr?: string;
  /** A PNG or JPEG: a File/Blob (uploaded by the client), or what the agent takes. */
  image?: Blob | { uploadId: number } | { data: string };
  layout?: "image-left" | "image-top";
  preset?: "bsre";
  frame?: boolean;
}

/** What the agent learnt of the signer's certificate before signing. */
export interface RevocationInfo {
  status: "good" | "revoked" | "unavailable" | "unchecked";
  source?: "ocsp" | "crl";
  thisUpdate?: string;
  nextUpdate?: string;
  revokedAt?: string;
  reason?: string;
  /** Why no status was had, or why the level is lower than asked. */
  detail?: string;
}

export interface CertificateStatus {
  certificateId: string;
  trusted: boolean;
  trustDetail?: string;
  chain?: string[];
  revocation: RevocationInfo;
}

export interface SignedPdf {
  name: string;
  blob: Blob;
  signedSize: number;
  /** The level reached: lower than asked when validation data was missing (see revocation.detail). */
  level: Level;
  revocation?: RevocationInfo;
}

export interface Check {
  ok: boolean;
  detail?: string;
}

/** One signature or document time-stamp, as `tte-agent verify --json` reports it. */
export interface VerifiedSignature {
  field?: string;
  kind: "signature" | "document-timestamp";
  signer: string;
  subject: string;
  claimedTime?: string;
  timestampTime?: string;
  integrity: Check;
  timestamp?: Check;
  chain: Check;
  chainSubjects?: string[];
  revocation: Check;
  revocationSource?: "embedded" | "online";
  unchanged: Check;
  coversWholeFile: boolean;
  level?: "B-B" | "B-T" | "B-LT" | "B-LTA";
  valid: boolean;
}

export interface VerifyReport {
  file: string;
  format: "pdf" | "cms";
  error?: string;
  signatures: VerifiedSignature[];
  valid: boolean;
}

export interface ConnectOptions {
  /** The agent's WebSocket URL; without it the client finds this user's agent among `ports`. */
  url?: string;
  /** Where to look for this user's agent (GET /v1/hello); default DEFAULT_PORTS. */
  ports?: number[];
  /** Send documents over HTTP when the agent offers it (default true); false keeps to WebSocket frames. */
  httpUploads?: boolean;
  /** Connection attempts before giving up; default 3. */
  retries?: number;
  /** Milliseconds between attempts; default 500. */
  retryDelay?: number;
  /**
   * How to reach the agent: "auto" (default) uses the tte-agent browser
   * extension when it is installed and the WebSocket otherwise;
   * "extension" fails with agent_unavailable without it.
   */
  transport?: "auto" | "websocket" | "extension";
}

export interface TokensChangedEvent extends CustomEvent<{ tokens: Token[] }> {}

/** A connection to tte-agent. */
export declare class TteAgent extends EventTarget {
  constructor(opts?: ConnectOptions);
  readonly url: string;
  readonly transport: "auto" | "websocket" | "extension";
  readonly connected: boolean;
  /** Fails with reason agent_unavailable, origin_not_allowed, local_network_denied or busy. */
  connect(): Promise<this>;
  close(): void;
  call<T = unknown>(method: string, params?: unknown, opts?: CallOptions): Promise<T>;
  info(): Promise<AgentInfo>;
  tokens(): Promise<Token[]>;
  certificates(filter?: { validOnly?: boolean; keyUsage?: string }): Promise<Certificate[]>;
  /** Encrypts files to recipients' DER certificates (document.encrypt; needs "encrypt"). */
  encryptDocuments(files: Iterable<Blob> | ArrayLike<Blob>, opts: {
    recipients: Array<Uint8Array | ArrayBuffer | string>;
    cipher?: "AES-256-GCM" | "AES-256-CBC";
    rsaPadding?: "RSA-OAEP" | "RSA-PKCS1-v1_5";
    signal?: AbortSignal;
    onProgress?: (p: Progress) => void;
  }): Promise<Array<{ name: string; size: number; /** absent above 64 MiB: use blob */ envelope?: Uint8Array; blob: Blob }>>;
  /** Opens files encrypted to a certificate on the token (document.decrypt; needs "decrypt"): one dialog. */
  decryptDocuments(files: Iterable<Blob> | ArrayLike<Blob>, opts?: {
    certificateId?: string;
    signal?: AbortSignal;
    onProgress?: (p: Progress) => void;
  }): Promise<Array<{ name: string; size: number; /** absent above 64 MiB: use blob */ content?: Uint8Array; blob: Blob; certificateId: string }>>;
  signDigests(
    req: {
      certificateId: string;
      hashAlgorithm?: HashAlgorithm;
      signatureAlgorithm?: SignatureAlgorithm;
      items: Array<{ name: string; digest: Uint8Array | string }>;
    },
    opts?: CallOptions,
  ): Promise<{ certificate: Uint8Array; items: Array<{ name: string; signature: Uint8Array }> }>;
  signCms(
    files: Files,
    opts: SignOptions,
  ): Promise<Array<{ name: string; cms: Uint8Array; blob: Blob; level: Level; revocation?: RevocationInfo }>>;
  signPdf(files: Files, opts: PdfOptions): Promise<SignedPdf[]>;
  /** Trust chain and revocation status now (certificates.status). */
  certificateStatus(certificateId: string): Promise<CertificateStatus>;
  /** B-LT / B-LTA for signed PDFs without a token (pdf.extend; needs "extend"). */
  extendPdf(files: Files, opts?: CallOptions & { level?: "B-LT" | "B-LTA"; vri?: boolean }): Promise<SignedPdf[]>;
  /** Verifies PDFs and CMS signatures (document.verify; needs "verify"). */
  verify(
    files: Files,
    opts?: CallOptions & { contents?: Array<File | Blob | undefined>; online?: boolean; language?: "id" | "en" },
  ): Promise<{ valid: boolean; reports: VerifyReport[]; text: string }>;

  addEventListener(type: "tokenschanged", listener: (ev: TokensChangedEvent) => void, options?: boolean | AddEventListenerOptions): void;
  /** Fired each time a connection opens (also after one was lost). */
  addEventListener(type: "open", listener: (ev: CustomEvent) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: "close", listener: (ev: CustomEvent<{ code: number; reason: string }>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
}

/** Connects: `const agent = await connect()`. */
export declare function connect(opts?: ConnectOptions): Promise<TteAgent>;

export declare function toBase64(bytes: Uint8Array): string;
export declare function fromBase64(b64: string): Uint8Array;
export declare function binaryFrame(uploadId: number, bytes: Uint8Array): Uint8Array;
