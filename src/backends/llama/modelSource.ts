import { access, constants } from "node:fs/promises";
import { resolve as resolvePath } from "node:path";
import { resolveModelFile } from "node-llama-cpp";

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

export class ModelSourceError extends Error {
  constructor(
    message: string,
    readonly offline = false,
  ) {
    super(message);
    this.name = "ModelSourceError";
  }
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
      throw new ModelSourceError(`Model file not found or not readable: ${path}`);
    }
    return path;
  }
  if (/^(hf|huggingface):/i.test(source) && !parseHfUri(source)) {
    throw new ModelSourceError(`Malformed model URI "${source}": expected hf:<owner>/<repo>/<file.gguf> or hf:<owner>/<repo>:<quant>.`);
  }
  const cached = await resolveModelFile(source, { directory: options.cacheDir, download: false, cli: false }).catch(() => undefined);
  if (cached) {
    const exists = await access(cached, constants.R_OK).then(() => true, () => false);
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
