/**
 * The local-file upload flow of the SDKs (protocol.md §9), played by this server: `getPolicy`
 * hands out an OSS-style POST policy signed with our own HMAC key and pointing `upload_host` at
 * this server; the SDK posts the file there with the signed fields; later requests name it as
 * `oss://<key>` (with `X-DashScope-OssResourceResolve: enable`) and `resolve` gives its bytes.
 *
 * Files live in `dir` under names derived from the key's hash (never the key as a path), each
 * one file: a 4-byte header length, a JSON header (key, content type, expiry), then the bytes.
 * They are written to a temporary name and hard-linked into place, so an existing object is
 * never overwritten (x-oss-forbid-overwrite). Expired files are removed when met and by sweep().
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { link, mkdir, open, readdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { errors, invalidParameter } from "../../core/index.ts";

export interface UploadStoreOptions {
  /** Where uploaded files are kept. */
  dir: string;
  /** HMAC key the policies are signed with (random per server when not configured). */
  secret?: Buffer;
  /** How long an uploaded file is kept (default 48 h). */
  ttlMs?: number;
  /** Largest upload (default 1024 MiB). */
  maxBytes?: number;
  now?: () => number;
}

/** The `data` object of the getPolicy answer, keys in the captured order. */
export interface UploadPolicy {
  policy: string;
  signature: string;
  upload_dir: string;
  upload_host: string;
  expire_in_seconds: number;
  max_file_size_mb: number;
  capacity_limit_mb: number;
  oss_access_key_id: string;
  x_oss_object_acl: string;
  x_oss_forbid_overwrite: string;
}

/** The form fields of the upload POST (the SDK's names). */
export interface UploadFields {
  OSSAccessKeyId?: string | undefined;
  Signature?: string | undefined;
  policy?: string | undefined;
  key?: string | undefined;
  "x-oss-object-acl"?: string | undefined;
  "x-oss-forbid-overwrite"?: string | undefined;
  success_action_status?: string | undefined;
  "x-oss-content-type"?: string | undefined;
  [field: string]: string | undefined;
}

export interface UploadedFile {
  bytes: Buffer;
  filename: string;
  contentType?: string | undefined;
}

export const DEFAULT_UPLOAD_TTL_MS = 48 * 60 * 60 * 1000;
export const DEFAULT_UPLOAD_MAX_BYTES = 1024 * 1024 * 1024;
export const POLICY_EXPIRE_SECONDS = 300;
export const OSS_ACCESS_KEY_ID = "openscope";
const CAPACITY_LIMIT_MB = 999_999_999;
const BUCKET = "openscope-uploads";
const MAX_KEY_LENGTH = 1023;
const MiB = 1024 * 1024;
const SUFFIX = ".upload";

export const uploadErrors = {
  badSignature: () => errors.accessDenied("The request signature we calculated does not match the signature you provided."),
  expired: () => errors.accessDenied("Invalid according to Policy: Policy expired."),
  badKey: () => invalidParameter("The key must name a file inside the upload_dir of the policy."),
  tooLarge: (maxBytes: number) => invalidParameter(`Your proposed upload exceeds the maximum allowed size of ${maxBytes} bytes.`),
  exists: () => invalidParameter("The object you specified already exists and can not be overwritten."),
  missing: (field: string) => invalidParameter(`Required field '${field}' missing from the upload.`),
};

interface StoredHeader {
  key: string;
  contentType: string;
  filename: string;
  expiresAt: number;
}

interface PolicyDocument {
  expiration: string;
  conditions: unknown[];
}

export class UploadStore {
  readonly dir: string;
  readonly ttlMs: number;
  readonly maxBytes: number;
  readonly #secret: Buffer;
  readonly #now: () => number;
  #ready: Promise<void> | undefined;

  constructor(options: UploadStoreOptions) {
    this.dir = options.dir;
    this.#secret = options.secret ?? randomBytes(32);
    this.ttlMs = options.ttlMs ?? DEFAULT_UPLOAD_TTL_MS;
    this.maxBytes = options.maxBytes ?? DEFAULT_UPLOAD_MAX_BYTES;
    this.#now = options.now ?? Date.now;
  }

  #sign(policy: string): string {
    return createHmac("sha256", this.#secret).update(policy).digest("base64");
  }

  /** A fresh policy for one upload directory (the `data` of the getPolicy answer). */
  policy(model: string, uploadHost: string): UploadPolicy {
    const now = this.#now();
    const hash = createHmac("sha256", this.#secret).update(`dir:${model}`).digest("hex").slice(0, 32);
    const uploadDir = `dashscope-instant/${hash}/${new Date(now).toISOString().slice(0, 10)}/${randomUUID()}`;
    const document: PolicyDocument = {
      expiration: new Date(now + POLICY_EXPIRE_SECONDS * 1000).toISOString(),
      conditions: [
        ["content-length-range", 0, this.maxBytes],
        ["starts-with", "$key", uploadDir],
        { bucket: BUCKET },
        { "x-oss-object-acl": "private" },
        { "x-oss-forbid-overwrite": "true" },
      ],
    };
    const policy = Buffer.from(JSON.stringify(document)).toString("base64");
    return {
      policy,
      signature: this.#sign(policy),
      upload_dir: uploadDir,
      upload_host: uploadHost,
      expire_in_seconds: POLICY_EXPIRE_SECONDS,
      max_file_size_mb: Math.floor(this.maxBytes / MiB),
      capacity_limit_mb: CAPACITY_LIMIT_MB,
      oss_access_key_id: OSS_ACCESS_KEY_ID,
      x_oss_object_acl: "private",
      x_oss_forbid_overwrite: "true",
    };
  }

  /**
   * Checks the signed form fields (signature, expiry, key inside the policy's upload_dir) before
   * any file bytes are read; returns the key. 403 for a bad signature or an expired policy.
   */
  check(fields: UploadFields): string {
    for (const name of ["OSSAccessKeyId", "Signature", "policy", "key"] as const) {
      if (typeof fields[name] !== "string" || fields[name] === "") throw uploadErrors.missing(name);
    }
    const policy = fields.policy!;
    const expected = Buffer.from(this.#sign(policy));
    const given = Buffer.from(fields.Signature!);
    const signatureOk = given.length === expected.length && timingSafeEqual(given, expected);
    if (!signatureOk || fields.OSSAccessKeyId !== OSS_ACCESS_KEY_ID) throw uploadErrors.badSignature();
    // Signed by us, so well formed; checked anyway.
    let document: PolicyDocument;
    try {
      document = JSON.parse(Buffer.from(policy, "base64").toString("utf8")) as PolicyDocument;
    } catch {
      throw uploadErrors.badSignature();
    }
    const expiration = Date.parse(document.expiration);
    if (!Number.isFinite(expiration) || expiration <= this.#now()) throw uploadErrors.expired();
    const startsWith = document.conditions.find((c): c is [string, string, string] => Array.isArray(c) && c[0] === "starts-with" && c[1] === "$key");
    if (startsWith === undefined) throw uploadErrors.badSignature();
    const key = fields.key!;
    if (!keyInside(key, startsWith[2])) throw uploadErrors.badKey();
    if (fields["x-oss-forbid-overwrite"] !== undefined && fields["x-oss-forbid-overwrite"] !== "true") {
      throw invalidParameter('x-oss-forbid-overwrite must be "true": objects can not be overwritten.');
    }
    return key;
  }

  /** Checks the signed fields and stores the file under `key`; returns the key. */
  async accept(fields: UploadFields, file: UploadedFile): Promise<{ key: string }> {
    const key = this.check(fields);
    if (file.bytes.length > this.maxBytes) throw uploadErrors.tooLarge(this.maxBytes);
    const contentType = fields["x-oss-content-type"] || file.contentType || "application/octet-stream";
    const header: StoredHeader = { key, contentType, filename: file.filename, expiresAt: this.#now() + this.ttlMs };
    await this.#write(key, header, file.bytes);
    return { key };
  }

  /** The bytes of an uploaded file, or undefined when it is missing or expired. */
  async resolve(key: string): Promise<{ bytes: Buffer; contentType: string } | undefined> {
    const path = this.#path(key);
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch {
      return undefined;
    }
    const parsed = parseStored(data);
    if (parsed === undefined || parsed.header.key !== key) return undefined;
    if (parsed.header.expiresAt <= this.#now()) {
      await unlink(path).catch(() => undefined);
      return undefined;
    }
    return { bytes: parsed.bytes, contentType: parsed.header.contentType };
  }

  /** Removes expired files (and temporary files left by interrupted uploads); returns how many. */
  async sweep(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    let removed = 0;
    const now = this.#now();
    for (const name of names) {
      const path = join(this.dir, name);
      try {
        if (name.endsWith(SUFFIX)) {
          const header = await readHeader(path);
          if (header !== undefined && header.expiresAt > now) continue;
        } else if (name.endsWith(".tmp")) {
          if ((await stat(path)).mtimeMs > Date.now() - 60 * 60 * 1000) continue;
        } else continue;
        await unlink(path);
        removed += 1;
      } catch {
        // Gone already, or unreadable: the next sweep tries again.
      }
    }
    return removed;
  }

  #path(key: string): string {
    return join(this.dir, `${createHash("sha256").update(key).digest("hex")}${SUFFIX}`);
  }

  async #write(key: string, header: StoredHeader, bytes: Buffer): Promise<void> {
    this.#ready ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    await this.#ready;
    const path = this.#path(key);
    const headerBytes = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(headerBytes.length);
    const temp = join(this.dir, `${randomUUID()}.tmp`);
    await writeFile(temp, Buffer.concat([length, headerBytes, bytes]), { mode: 0o600 });
    try {
      for (let attempt = 0; ; attempt += 1) {
        try {
          await link(temp, path);
          return;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) {
            if ((error as NodeJS.ErrnoException).code === "EEXIST") throw uploadErrors.exists();
            throw error;
          }
          // An expired file of the same key may go; a live one may not be overwritten.
          const existing = await readHeader(path).catch(() => undefined);
          if (existing !== undefined && existing.expiresAt > this.#now()) throw uploadErrors.exists();
          await unlink(path).catch(() => undefined);
        }
      }
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }
}

/** Whether `key` names a file inside `dir`: below it, no empty/`.`/`..` segments, no odd characters. */
export function keyInside(key: string, dir: string): boolean {
  if (key.length > MAX_KEY_LENGTH || !key.startsWith(`${dir}/`)) return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\u0000-\u001f\u007f\\]/.test(key)) return false;
  const rest = key.slice(dir.length + 1).split("/");
  return rest.every((segment) => segment !== "" && segment !== "." && segment !== "..");
}

function parseStored(data: Buffer): { header: StoredHeader; bytes: Buffer } | undefined {
  if (data.length < 4) return undefined;
  const length = data.readUInt32BE(0);
  if (data.length < 4 + length) return undefined;
  try {
    const header = JSON.parse(data.subarray(4, 4 + length).toString("utf8")) as StoredHeader;
    return { header, bytes: data.subarray(4 + length) };
  } catch {
    return undefined;
  }
}

async function readHeader(path: string): Promise<StoredHeader | undefined> {
  const handle = await open(path, "r");
  try {
    const lengthBytes = Buffer.alloc(4);
    if ((await handle.read(lengthBytes, 0, 4, 0)).bytesRead < 4) return undefined;
    const length = lengthBytes.readUInt32BE(0);
    if (length > 64 * 1024) return undefined;
    const headerBytes = Buffer.alloc(length);
    if ((await handle.read(headerBytes, 0, length, 4)).bytesRead < length) return undefined;
    return JSON.parse(headerBytes.toString("utf8")) as StoredHeader;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}
