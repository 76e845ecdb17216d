import { access, constants, open, stat } from "node:fs/promises";
import { resolve as resolvePath } from "node:path";
import { EXIT_CONFIG, EXIT_RUNTIME, OperatorError } from "../../core/index.ts";
import * as nodeLlamaCpp from "node-llama-cpp";
import { GgufInsights, readGgufFileInfo, resolveModelFile, type GgufFileInfo, type Llama } from "node-llama-cpp";

/** `hf:owner/repo/file.gguf` (optionally `hf:owner/repo:quant`) or an http(s) URL: fetched into the cache. */
export function isRemoteSource(source: string): boolean {
  return /^(hf:|huggingface:|https?:\/\/)/i.test(source);
}

export interface HfUri {
  owner: string;
  repo: string;
  /** File path inside the repo, or a quantization tag after `:`. */
  file?: string;
  tag?: string;
}

/** Parses `hf:owner/repo/path/file.gguf` or `hf:owner/repo:Q8_0`; undefined when malformed. */
export function parseHfUri(source: string): HfUri | undefined {
  const match = /^(?:hf|huggingface):([\w.-]+)\/([\w.-]+?)(?::([\w.-]+))?(?:\/(.+))?$/i.exec(source);
  if (!match) return undefined;
  const [, owner, repo, tag, file] = match;
  if (tag && file) return undefined;
  const uri: HfUri = { owner: owner!, repo: repo! };
  if (file) uri.file = file;
  if (tag) uri.tag = tag;
  return uri;
}

export class ModelSourceError extends OperatorError {
  constructor(
    message: string,
    readonly offline = false,
    /** The configured source itself is wrong (no such file, malformed URI), not the network. */
    readonly badSetting = false,
  ) {
    super(message, badSetting ? EXIT_CONFIG : EXIT_RUNTIME);
    this.name = "ModelSourceError";
  }
}

/** A model file llama.cpp cannot load; `reason` says why in plain words. */
export class ModelLoadError extends OperatorError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`cannot load ${path}: ${reason}`, EXIT_RUNTIME);
    this.name = "ModelLoadError";
  }

  override operatorLine(): string {
    return `model file ${this.path} cannot be loaded: ${this.reason}`;
  }
}

/** Why a path cannot be read, in plain words. */
function pathProblem(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case "ENOENT":
      return "the file does not exist";
    case "EACCES":
    case "EPERM":
      return "permission denied: the server's user cannot read it";
    case "ENOTDIR":
      return "a part of its path is a file, not a directory";
    default:
      return (error as Error).message;
  }
}

const GGUF_MAGIC = "GGUF";
/** magic, version, tensor count, metadata count. */
const GGUF_HEADER_BYTES = 24;

/**
 * Cheap checks before llama.cpp sees a model file — a directory, an empty file, a file that is not a
 * GGUF (an HTML error page or a Git LFS pointer saved in its place), a header cut short — each a
 * ModelLoadError saying so, instead of llama.cpp's "Failed to load model" or a reader's RangeError.
 */
export async function checkModelFile(path: string): Promise<void> {
  let size: number;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new ModelLoadError(path, "it is a directory, not a GGUF file: name the .gguf file itself");
    if (!info.isFile()) throw new ModelLoadError(path, "it is not a regular file");
    size = info.size;
  } catch (error) {
    if (error instanceof ModelLoadError) throw error;
    throw new ModelLoadError(path, pathProblem(error));
  }
  if (size === 0) throw new ModelLoadError(path, "the file is empty (0 bytes): an unfinished download? Download it again");
  const head = Buffer.alloc(Math.min(size, 64));
  try {
    const handle = await open(path, "r");
    try {
      await handle.read(head, 0, head.length, 0);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new ModelLoadError(path, pathProblem(error));
  }
  const start = head.toString("latin1");
  if (!start.startsWith(GGUF_MAGIC)) {
    if (start.startsWith("version https://git-lfs"))
      throw new ModelLoadError(path, "it is a Git LFS pointer, not the model: fetch the file itself (git lfs pull, or openscope pull hf:…)");
    if (/^\s*<(!doctype|html|\?xml)/i.test(start))
      throw new ModelLoadError(path, "it is an HTML page, not a GGUF model (a download that saved an error page?)");
    const shown = JSON.stringify(head.subarray(0, 4).toString("latin1")).replace(/[^\x20-\x7e]/g, "?");
    throw new ModelLoadError(path, `it is not a GGUF model file (it starts with ${shown}; a GGUF file starts with "GGUF")`);
  }
  if (size < GGUF_HEADER_BYTES) throw new ModelLoadError(path, `the file is truncated: ${size} bytes is shorter than a GGUF header. Download it again`);
}

/** The most of a file's start read for its metadata (vocabularies of ~250k tokens take ~10 MiB). */
const METADATA_READ_LIMIT = 64 * 2 ** 20;

/** GGUF value types, as the format numbers them. */
const GGUF_SCALAR_BYTES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const GGUF_STRING = 8;
const GGUF_ARRAY = 9;

/**
 * The scalar and numeric-array metadata of a GGUF (v2/v3) file, nested by the dots of its keys as
 * node-llama-cpp nests them (`qwen3.attention.head_count_kv` -> metadata.qwen3.attention.head_count_kv),
 * read in milliseconds without loading the model: string arrays (the vocabulary) are skipped.
 * Undefined when the header cannot be read this way (llama.cpp's own reading then decides).
 */
export async function readGgufMetadata(path: string): Promise<Record<string, unknown> | undefined> {
  let buffer: Buffer;
  try {
    const handle = await open(path, "r");
    try {
      const size = (await handle.stat()).size;
      // Most metadata fits the first MiBs; a larger vocabulary reads more, up to the limit.
      for (let want = Math.min(size, 16 * 2 ** 20); ; want = Math.min(size, want * 4, METADATA_READ_LIMIT)) {
        buffer = Buffer.allocUnsafe(want);
        const { bytesRead } = await handle.read(buffer, 0, want, 0);
        buffer = buffer.subarray(0, bytesRead);
        try {
          return parseGgufMetadata(buffer);
        } catch (error) {
          if (!(error instanceof RangeError) || want >= Math.min(size, METADATA_READ_LIMIT)) return undefined;
        }
      }
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
}

/** Parses the metadata section at the start of a GGUF file (throws a RangeError when the buffer ends first). */
export function parseGgufMetadata(buffer: Buffer): Record<string, unknown> | undefined {
  if (buffer.toString("latin1", 0, 4) !== GGUF_MAGIC) return undefined;
  const version = buffer.readUInt32LE(4);
  if (version < 2) return undefined;
  let at = 24;
  const count = buffer.readUInt32LE(16) + buffer.readUInt32LE(20) * 2 ** 32;
  const length = (): number => {
    // u64 as two u32 halves (BigInt reads are slow over a 150k-token vocabulary).
    const n = buffer.readUInt32LE(at) + buffer.readUInt32LE(at + 4) * 2 ** 32;
    at += 8;
    if (n > buffer.length) throw new RangeError("length past the end");
    return n;
  };
  const string = (): string => {
    const n = length();
    if (at + n > buffer.length) throw new RangeError("string past the end");
    const text = buffer.toString("utf8", at, at + n);
    at += n;
    return text;
  };
  const scalar = (type: number): unknown => {
    const bytes = GGUF_SCALAR_BYTES[type];
    if (bytes === undefined) throw new RangeError(`unknown GGUF value type ${type}`);
    let value: unknown;
    switch (type) {
      case 0:
        value = buffer.readUInt8(at);
        break;
      case 1:
        value = buffer.readInt8(at);
        break;
      case 2:
        value = buffer.readUInt16LE(at);
        break;
      case 3:
        value = buffer.readInt16LE(at);
        break;
      case 4:
        value = buffer.readUInt32LE(at);
        break;
      case 5:
        value = buffer.readInt32LE(at);
        break;
      case 6:
        value = buffer.readFloatLE(at);
        break;
      case 7:
        value = buffer.readUInt8(at) !== 0;
        break;
      case 10:
        value = Number(buffer.readBigUInt64LE(at));
        break;
      case 11:
        value = Number(buffer.readBigInt64LE(at));
        break;
      default:
        value = buffer.readDoubleLE(at);
    }
    at += bytes;
    return value;
  };
  const metadata: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const key = string();
    const type = buffer.readUInt32LE(at);
    at += 4;
    let value: unknown;
    if (type === GGUF_STRING) value = string();
    else if (type === GGUF_ARRAY) {
      const itemType = buffer.readUInt32LE(at);
      at += 4;
      const items = length();
      if (itemType === GGUF_STRING) {
        // Skipped: the vocabulary and merges. (`at += length()` would add to the old `at`.)
        for (let j = 0; j < items; j++) {
          const n = length();
          at += n;
        }
        if (at > buffer.length) throw new RangeError("array past the end");
      } else {
        const bytes = GGUF_SCALAR_BYTES[itemType];
        if (bytes === undefined) throw new RangeError(`unknown GGUF array type ${itemType}`);
        if (at + items * bytes > buffer.length) throw new RangeError("array past the end");
        // Per-layer lists are short; long numeric arrays (token types, scores) are skipped.
        if (items <= 4096) value = Array.from({ length: items }, () => scalar(itemType));
        else {
          at += items * bytes;
          value = undefined;
        }
      }
    } else value = scalar(type);
    if (value === undefined) continue;
    let node = metadata;
    const parts = key.split(".");
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (typeof next !== "object" || next === null || Array.isArray(next)) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts.at(-1)!] = value;
  }
  return metadata;
}

/** Architectures node-llama-cpp's llama.cpp knows (GgufArchitectureType is a const enum in its types, an object at run time). */
const KNOWN_ARCHITECTURES = new Set<string>(
  Object.values((nodeLlamaCpp as unknown as { GgufArchitectureType?: Record<string, string> }).GgufArchitectureType ?? {}),
);

/**
 * Why llama.cpp could not load a file that looks like a GGUF, in plain words: a header cut short or
 * corrupt, no architecture, an architecture this engine does not know, a projector instead of a
 * model, tensors cut short. Falls back to llama.cpp's own message.
 */
export async function explainModelLoadFailure(path: string, error: unknown, llama?: Llama, engineLog: readonly string[] = []): Promise<string> {
  const corrupt = "its GGUF header is truncated or corrupt: download the file again";
  // node-llama-cpp's reader reads past the end of a cut header without a word; this one does not.
  const size = await stat(path).then(
    (s) => s.size,
    () => 0,
  );
  if (size <= METADATA_READ_LIMIT && (await readGgufMetadata(path)) === undefined) return corrupt;
  let info: GgufFileInfo;
  try {
    info = await readGgufFileInfo(path, { readTensorInfo: true, logWarnings: false });
  } catch {
    return corrupt;
  }
  const architecture = (info.metadata as { general?: { architecture?: unknown } } | undefined)?.general?.architecture;
  if (typeof architecture !== "string" || architecture === "") {
    return "its metadata names no model architecture (general.architecture is missing): it is not a model file, or a broken conversion";
  }
  if (architecture === "clip") return "it is a multimodal projector (mmproj), not a language model: name the model's own .gguf";
  if (KNOWN_ARCHITECTURES.size > 0 && !KNOWN_ARCHITECTURES.has(architecture)) {
    return `its architecture "${architecture}" is not one this engine (node-llama-cpp's llama.cpp) supports`;
  }
  if (llama && info.splicedParts === 1 && info.infoEndOffset !== undefined) {
    try {
      const needed = info.infoEndOffset + (await GgufInsights.from(info, llama)).modelSize;
      if (size < needed)
        return `the file is truncated: ${size.toLocaleString("en-US")} bytes, its tensors need at least ${needed.toLocaleString("en-US")}. Download it again`;
    } catch {
      // Unknown tensor types and the like: llama.cpp's message below.
    }
  }
  // llama.cpp's own reason ("llama_model_load: error loading model: …") says more than node-llama-cpp's "Failed to load model".
  const engineReason = [...engineLog]
    .reverse()
    .find((line) => /error loading model: /.test(line))
    ?.replace(/^.*error loading model: /, "");
  const message = engineReason ?? (error instanceof Error ? error.message : String(error)).split("\n")[0];
  return `llama.cpp could not load it: ${message}`;
}

/** The host a remote source downloads from. */
export function sourceHost(source: string): string {
  if (/^https?:\/\//i.test(source)) return new URL(source).origin;
  return process.env.HF_ENDPOINT ?? "https://huggingface.co";
}

/**
 * Asks the download host whether it is reachable at all, quickly. node-llama-cpp's downloader
 * retries for minutes on a machine without network; this turns that into a fast, plain answer.
 */
export async function probeHost(url: string, timeoutMs = 5000): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(timeoutMs) });
    return { ok: true };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ok: false, reason: cause ?? (error as Error).name ?? String(error) };
  }
}

export interface ResolveOptions {
  cacheDir: string;
  /** Show a progress bar on the terminal while downloading. */
  progress: boolean;
  probeTimeoutMs?: number;
}

/** A local GGUF path, or a remote URI downloaded into the cache (resumable, with progress). */
export async function resolveModelSource(source: string, options: ResolveOptions): Promise<string> {
  if (!isRemoteSource(source)) {
    const path = resolvePath(source);
    try {
      await access(path, constants.R_OK);
    } catch {
      throw new ModelSourceError(
        `Model file not found or not readable: ${path} (check --model, OPENSCOPE_MODEL or the model's source in the config file)`,
        false,
        true,
      );
    }
    return path;
  }
  if (/^(hf|huggingface):/i.test(source) && !parseHfUri(source)) {
    throw new ModelSourceError(`Malformed model URI "${source}": expected hf:<owner>/<repo>/<file.gguf> or hf:<owner>/<repo>:<quant>.`, false, true);
  }
  const cached = await resolveModelFile(source, { directory: options.cacheDir, download: false, cli: false }).catch(() => undefined);
  if (cached) {
    const exists = await access(cached, constants.R_OK).then(
      () => true,
      () => false,
    );
    if (exists) return cached;
  }
  const host = sourceHost(source);
  const probe = await probeHost(host, options.probeTimeoutMs);
  if (!probe.ok) {
    throw new ModelSourceError(`Cannot download ${source}: ${host} is unreachable from this machine (${probe.reason}).`, true);
  }
  try {
    return await resolveModelFile(source, { directory: options.cacheDir, cli: options.progress });
  } catch (error) {
    throw new ModelSourceError(`Download of ${source} failed: ${(error as Error).message}`);
  }
}
