/**
 * Fetching the media a request names (image / video / audio content items) without letting a
 * client reach what it should not:
 *
 * - `http(s)://` URLs are resolved once, every address is checked (no loopback, private,
 *   link-local — the cloud metadata address included —, unique-local, CGNAT, multicast,
 *   unspecified, broadcast, reserved, IPv4-mapped/-compatible/NAT64/6to4/Teredo forms of those)
 *   unless the host is allow-listed, and the connection goes to exactly the checked addresses
 *   (the socket's `lookup` answers with them: no second DNS lookup, so no DNS rebinding).
 *   Redirects are followed by hand and every hop is checked again; size and time are capped.
 * - `data:<mime>;base64,…` URIs (size-capped). Bare base64 is not accepted.
 * - `oss://<key>` only when the request sent `X-DashScope-OssResourceResolve: enable`
 *   (protocol.md §9), through the upload store.
 * - Anything else (`file://`, paths, other schemes) is refused: nothing a client sends may read
 *   the server's files.
 *
 * Whatever arrives must look like the kind asked for (magic bytes; the header content type is
 * only a hint). Every failure is a DashScope ApiError naming the URL, never a 500.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import type { LookupAddress } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { ApiError, errors, invalidParameter } from "../../core/index.ts";

export type MediaKind = "image" | "video" | "audio";

export interface FetchedMedia {
  bytes: Buffer;
  /** The MIME type the content was recognised as (from its magic bytes). */
  contentType: string;
}

export interface MediaFetcherOptions {
  /**
   * Hosts allowed to be private: host names (exact, case-insensitive), IP addresses or CIDRs, each
   * optionally with `:port` (`[v6]:port`) to open that port only. Default none.
   */
  allowHosts?: string[];
  /** Largest download (default 100 MiB). */
  maxBytes?: number;
  /** Time for a whole download, redirects included (default 30 s). */
  timeoutMs?: number;
  /** Redirects followed at most (default 5). */
  maxRedirects?: number;
  /** Host name resolution (default node:dns lookup, all addresses); tests give their own. */
  resolveHost?: (hostname: string) => Promise<LookupAddress[]>;
  /** `oss://<key>` resolution (the upload store); absent: `oss://` is refused. */
  resolveOss?: (key: string) => Promise<FetchedMedia | undefined>;
}

export interface FetchOptions {
  /** The request sent `X-DashScope-OssResourceResolve: enable`. */
  ossResolve?: boolean;
}

export const DEFAULT_MEDIA_MAX_BYTES = 100 * 1024 * 1024;
export const DEFAULT_MEDIA_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_REDIRECTS = 5;

/** How much of a URL an error message repeats. */
const URL_IN_MESSAGE_MAX = 200;

/** A URL fit for an error message: data: URIs and very long URLs shortened. */
export function describeUrl(source: string): string {
  const limit = source.startsWith("data:") ? 48 : URL_IN_MESSAGE_MAX;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this strips
  const clean = source.replace(/[\u0000-\u001f\u007f]/g, "");
  return clean.length > limit ? `${clean.slice(0, limit)}…` : clean;
}

export const mediaErrors = {
  invalidUrl: (source: string, reason: string) => errors.invalidUrl(describeUrl(source), reason),
  downloadFailed: (kind: MediaKind, source: string, reason: string) =>
    invalidParameter(`Failed to download the ${kind} from ${describeUrl(source)}: ${reason}`),
  unsupportedFormat: (kind: MediaKind, source: string) => invalidParameter(`The ${kind} at ${describeUrl(source)} is not a supported format.`),
};

// ---------------------------------------------------------------------------------------------
// Addresses

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Whether an address is ordinary public unicast (what a client may make the server fetch from). */
export function isPublicAddress(address: string | Address): boolean {
  let parsed: Address;
  try {
    parsed = typeof address === "string" ? ipaddr.process(address) : address;
  } catch {
    return false;
  }
  if (parsed.kind() === "ipv6") {
    const v6 = parsed as ipaddr.IPv6;
    // IPv4-mapped forms are unwrapped by process(); check again in case a caller passed a parsed one.
    if (v6.isIPv4MappedAddress()) return isPublicAddress(v6.toIPv4Address());
    const parts = v6.parts;
    // Only global unicast (2000::/3) is public at all; ::/96 (IPv4-compatible) etc. fall outside.
    if (((parts[0] ?? 0) & 0xe000) !== 0x2000) return false;
    return v6.range() === "unicast";
  }
  return parsed.range() === "unicast";
}

/**
 * One `media.allow_hosts` entry: a host name, an IP address or a CIDR range, optionally limited to
 * one port (`host:port`, `10.0.0.5:9000`, `10.0.0.0/8:9000`, `[fd00::1]:9000`, `[fd00::/8]:9000`).
 * Without a port the entry opens every port of the host, as before.
 */
export interface AllowEntry {
  /** Host name (lower case, no trailing dot); absent for address entries. */
  host?: string;
  /** Address range (a single address is a /32 or /128). */
  range?: [Address, number];
  /** The only port the entry opens; absent: every port. */
  port?: number;
}

export interface AllowList {
  entries: AllowEntry[];
}

/** An `allow_hosts` entry that is not a host, address, CIDR or one of those with `:port`. */
export class AllowHostError extends Error {}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

function parsePort(text: string, entry: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new AllowHostError(`"${entry}": the port must be a number from 1 to 65535, got "${text}"`);
  return port;
}

function parseRange(text: string, entry: string): [Address, number] {
  if (text.includes("/")) {
    let address: Address;
    let bits: number;
    try {
      [address, bits] = ipaddr.parseCIDR(text);
    } catch {
      throw new AllowHostError(`"${entry}" is not a valid CIDR range (such as 10.0.0.0/8 or fd00::/8)`);
    }
    return [normalize(address), address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress() ? bits - 96 : bits];
  }
  const address = ipaddr.process(text);
  return [address, address.kind() === "ipv4" ? 32 : 128];
}

/**
 * Parses one allow-list entry; throws AllowHostError naming the entry and what is wrong with it.
 * `host`, `host:port`, `1.2.3.4`, `1.2.3.4:port`, `cidr`, `cidr:port`, `fd00::1`, `[fd00::1]`,
 * `[fd00::1]:port`, `fd00::/8`, `[fd00::/8]:port`.
 */
export function parseAllowEntry(raw: string): AllowEntry {
  const entry = raw.trim().toLowerCase();
  if (entry === "") throw new AllowHostError("an entry is empty");
  const notUrl = () =>
    new AllowHostError(`"${raw}" is a URL or path; give a host name, an IP address or a CIDR range, optionally with :port (such as minio.internal:9000)`);
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(entry)) throw notUrl();
  let hostPart = entry;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(entry);
  if (bracketed) {
    hostPart = bracketed[1]!;
    if (bracketed[2] !== undefined) port = parsePort(bracketed[2], raw);
    if (!hostPart.includes(":")) throw new AllowHostError(`"${raw}": brackets are for IPv6 addresses only`);
  } else if (entry.split(":").length === 2) {
    const colon = entry.lastIndexOf(":");
    hostPart = entry.slice(0, colon);
    port = parsePort(entry.slice(colon + 1), raw);
  }
  // Bare IPv6 (several colons, no brackets) takes no port: `[addr]:port` does.
  const address = hostPart.split("/")[0]!;
  if (hostPart.includes("/") && isIP(address) === 0)
    throw /^[\d.]+$/.test(address) ? new AllowHostError(`"${raw}" is not a valid CIDR range (such as 10.0.0.0/8 or fd00::/8)`) : notUrl();
  if (isIP(address) !== 0) {
    return { range: parseRange(hostPart, raw), ...(port !== undefined ? { port } : {}) };
  }
  const host = hostPart.replace(/\.$/, "");
  if (/^[\d.]+$/.test(host)) throw new AllowHostError(`"${raw}" is not a valid IPv4 address`);
  if (!HOST_NAME.test(host)) throw new AllowHostError(`"${raw}" is not a host name, IP address or CIDR range`);
  return { host, ...(port !== undefined ? { port } : {}) };
}

/** The allow list from its entries; throws AllowHostError on the first bad entry. */
export function parseAllowList(entries: readonly string[]): AllowList {
  return { entries: entries.filter((entry) => entry.trim() !== "").map(parseAllowEntry) };
}

function normalize(address: Address): Address {
  return address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
}

const portAllowed = (entry: AllowEntry, port: number): boolean => entry.port === undefined || entry.port === port;

/** Whether the host name (as in the URL) is allow-listed for this port. */
function hostInAllowList(list: AllowList, host: string, port: number): boolean {
  const name = host.replace(/\.$/, "");
  return list.entries.some((entry) => entry.host === name && portAllowed(entry, port));
}

function inAllowList(list: AllowList, address: Address, port: number): boolean {
  return list.entries.some(
    (entry) =>
      entry.range !== undefined && portAllowed(entry, port) && entry.range[0].kind() === address.kind() && address.match(entry.range[0], entry.range[1]),
  );
}

// ---------------------------------------------------------------------------------------------
// Content sniffing

const ascii = (bytes: Buffer, start: number, end: number): string => bytes.subarray(start, end).toString("latin1");

/** The MIME type of an ISO-BMFF (`ftyp`) file, or undefined when it is not one. */
function ftypType(bytes: Buffer): { type: "audio" | "video"; mime: string } | undefined {
  if (bytes.length < 12 || ascii(bytes, 4, 8) !== "ftyp") return undefined;
  const brand = ascii(bytes, 8, 12);
  if (brand === "M4A " || brand === "M4B " || brand === "M4P ") return { type: "audio", mime: "audio/mp4" };
  if (brand === "qt  ") return { type: "video", mime: "video/quicktime" };
  if (brand.startsWith("3g")) return { type: "video", mime: "video/3gpp" };
  return { type: "video", mime: "video/mp4" };
}

/** The MIME type the bytes are, if they are a supported file of that kind. */
export function sniffMedia(bytes: Buffer, kind: MediaKind): string | undefined {
  const has = (offset: number, signature: number[]): boolean =>
    bytes.length >= offset + signature.length && signature.every((byte, index) => bytes[offset + index] === byte);
  const riff = bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" ? ascii(bytes, 8, 12) : undefined;
  const ebml = has(0, [0x1a, 0x45, 0xdf, 0xa3]);
  switch (kind) {
    case "image":
      if (has(0, [0xff, 0xd8, 0xff])) return "image/jpeg";
      if (has(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
      if (bytes.length >= 6 && (ascii(bytes, 0, 6) === "GIF87a" || ascii(bytes, 0, 6) === "GIF89a")) return "image/gif";
      if (riff === "WEBP") return "image/webp";
      if (bytes.length >= 14 && ascii(bytes, 0, 2) === "BM") return "image/bmp";
      if (has(0, [0x49, 0x49, 0x2a, 0x00]) || has(0, [0x4d, 0x4d, 0x00, 0x2a])) return "image/tiff";
      return undefined;
    case "video": {
      const ftyp = ftypType(bytes);
      if (ftyp) return ftyp.type === "video" ? ftyp.mime : undefined;
      // QuickTime files without an ftyp box start with one of these atoms.
      if (bytes.length >= 8 && ["moov", "mdat", "wide", "free", "skip", "pnot"].includes(ascii(bytes, 4, 8))) return "video/quicktime";
      if (ebml) return bytes.subarray(0, 64).includes("webm", 0, "latin1") ? "video/webm" : "video/x-matroska";
      if (riff === "AVI ") return "video/x-msvideo";
      return undefined;
    }
    case "audio": {
      if (riff === "WAVE") return "audio/wav";
      if (bytes.length >= 4 && ascii(bytes, 0, 4) === "fLaC") return "audio/flac";
      if (bytes.length >= 4 && ascii(bytes, 0, 4) === "OggS") return "audio/ogg";
      if (bytes.length >= 9 && ascii(bytes, 0, 9) === "#!AMR-WB\n") return "audio/amr-wb";
      if (bytes.length >= 6 && ascii(bytes, 0, 6) === "#!AMR\n") return "audio/amr";
      if (bytes.length >= 3 && ascii(bytes, 0, 3) === "ID3") return "audio/mpeg";
      if (bytes.length >= 2 && bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0) {
        // Frame sync: layer bits 00 is ADTS AAC, anything else MPEG audio.
        return ((bytes[1] ?? 0) & 0x06) === 0 ? "audio/aac" : "audio/mpeg";
      }
      if (ftypType(bytes)) return "audio/mp4";
      if (ebml) return "audio/webm";
      return undefined;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The fetcher

interface Hop {
  status: number;
  location?: string | undefined;
  bytes?: Buffer;
}

/** A download failure (its message is the short reason shown to the client). */
class DownloadError extends Error {}

/** The promise's outcome, or a timeout failure as soon as the signal fires (DNS lookups can not be aborted). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, timeoutMs: number): Promise<T> {
  const timedOut = (): DownloadError => new DownloadError(`timed out after ${timeoutMs} ms`);
  if (signal.aborted) return Promise.reject(timedOut());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(timedOut());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

export class MediaFetcher {
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly maxRedirects: number;
  readonly #allow: AllowList;
  readonly #resolveOss: MediaFetcherOptions["resolveOss"];
  readonly #resolveHost: (hostname: string) => Promise<LookupAddress[]>;

  constructor(options: MediaFetcherOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MEDIA_MAX_BYTES;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_MEDIA_TIMEOUT_MS;
    this.maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    this.#allow = parseAllowList(options.allowHosts ?? []);
    this.#resolveOss = options.resolveOss;
    this.#resolveHost = options.resolveHost ?? ((hostname) => dnsLookup(hostname, { all: true, verbatim: true }));
  }

  async fetch(source: string, kind: MediaKind, options: FetchOptions = {}): Promise<FetchedMedia> {
    const trimmed = source.trim();
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(trimmed)?.[1]?.toLowerCase();
    let bytes: Buffer;
    switch (scheme) {
      case "http":
      case "https":
        bytes = await this.#fetchHttp(trimmed, kind);
        break;
      case "data":
        bytes = this.#decodeData(trimmed, kind);
        break;
      case "oss":
        bytes = (await this.#fetchOss(trimmed, kind, options)).bytes;
        break;
      case undefined:
        throw mediaErrors.invalidUrl(source, "only http, https and data URLs are supported");
      default:
        throw mediaErrors.invalidUrl(source, `the ${scheme} scheme is not supported`);
    }
    const contentType = sniffMedia(bytes, kind);
    if (contentType === undefined) throw mediaErrors.unsupportedFormat(kind, source);
    return { bytes, contentType };
  }

  #decodeData(source: string, kind: MediaKind): Buffer {
    const comma = source.indexOf(",");
    if (comma < 0) throw mediaErrors.invalidUrl(source, "malformed data URI");
    const meta = source
      .slice(5, comma)
      .split(";")
      .map((part) => part.trim().toLowerCase());
    if (meta.at(-1) !== "base64") throw mediaErrors.invalidUrl(source, "only base64 data URIs are supported");
    const payload = source.slice(comma + 1).replace(/\s+/g, "");
    // Decoded size, checked before decoding.
    const size = Math.floor((payload.length * 3) / 4) - (payload.endsWith("==") ? 2 : payload.endsWith("=") ? 1 : 0);
    if (size > this.maxBytes) throw mediaErrors.downloadFailed(kind, source, `the data is larger than ${this.maxBytes} bytes`);
    if (payload === "" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(payload)) throw mediaErrors.invalidUrl(source, "malformed base64 data");
    return Buffer.from(payload, "base64");
  }

  async #fetchOss(source: string, kind: MediaKind, options: FetchOptions): Promise<FetchedMedia> {
    if (!options.ossResolve || this.#resolveOss === undefined) {
      throw mediaErrors.invalidUrl(source, "oss:// URLs need the X-DashScope-OssResourceResolve: enable header");
    }
    const key = source.slice("oss://".length);
    if (key === "") throw mediaErrors.invalidUrl(source, "empty oss:// key");
    const found = await this.#resolveOss(key);
    if (found === undefined) throw mediaErrors.downloadFailed(kind, source, "the file does not exist or has expired");
    if (found.bytes.length > this.maxBytes) throw mediaErrors.downloadFailed(kind, source, `the file is larger than ${this.maxBytes} bytes`);
    return found;
  }

  /** Checks a URL's host and returns the addresses to connect to; InvalidURL when refused. */
  async #addresses(url: URL, source: string, hop: number): Promise<LookupAddress[]> {
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
    const refused = hop === 0 ? "the host is a private or reserved address" : "a redirect leads to a private or reserved address";
    const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    const hostAllowed = hostInAllowList(this.#allow, host, port);
    const check = (address: Address): boolean => hostAllowed || isPublicAddress(address) || inAllowList(this.#allow, normalize(address), port);
    if (ipaddr.isValid(host)) {
      const parsed = ipaddr.parse(host);
      if (!check(parsed)) throw mediaErrors.invalidUrl(source, refused);
      return [{ address: host, family: parsed.kind() === "ipv4" ? 4 : 6 }];
    }
    if (host === "") throw mediaErrors.invalidUrl(source, "missing host");
    let found: LookupAddress[];
    try {
      found = await this.#resolveHost(host);
    } catch {
      throw mediaErrors.invalidUrl(source, hop === 0 ? "the host name does not resolve" : "a redirect leads to a host name that does not resolve");
    }
    if (found.length === 0) throw mediaErrors.invalidUrl(source, "the host name does not resolve");
    for (const entry of found) {
      let parsed: Address;
      try {
        parsed = ipaddr.parse(entry.address);
      } catch {
        throw mediaErrors.invalidUrl(source, refused);
      }
      if (!check(parsed)) throw mediaErrors.invalidUrl(source, refused);
    }
    return found;
  }

  async #fetchHttp(source: string, kind: MediaKind): Promise<Buffer> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    timer.unref?.();
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      clearTimeout(timer);
      throw mediaErrors.invalidUrl(source, "malformed URL");
    }
    try {
      for (let hop = 0; ; hop += 1) {
        if (url.protocol !== "http:" && url.protocol !== "https:") {
          throw mediaErrors.invalidUrl(source, "a redirect leads to an unsupported scheme");
        }
        if (url.username !== "" || url.password !== "") throw mediaErrors.invalidUrl(source, "credentials in URLs are not supported");
        const addresses = await untilAborted(this.#addresses(url, source, hop), controller.signal, this.timeoutMs);
        const result = await this.#request(url, addresses, controller.signal);
        if (result.status >= 300 && result.status < 400 && result.location !== undefined) {
          if (hop >= this.maxRedirects) throw new DownloadError(`more than ${this.maxRedirects} redirects`);
          try {
            url = new URL(result.location, url);
          } catch {
            throw new DownloadError("the server sent a malformed redirect");
          }
          continue;
        }
        if (result.bytes === undefined) throw new DownloadError(`the server answered HTTP ${result.status}`);
        return result.bytes;
      }
    } catch (error) {
      if (error instanceof ApiError) throw error;
      if (error instanceof DownloadError) throw mediaErrors.downloadFailed(kind, source, error.message).withCause(error);
      if (controller.signal.aborted) throw mediaErrors.downloadFailed(kind, source, `timed out after ${this.timeoutMs} ms`).withCause(error);
      throw mediaErrors.downloadFailed(kind, source, "the connection failed").withCause(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One GET to the checked addresses: a redirect's Location, or a 2xx body read up to the cap. */
  #request(url: URL, addresses: LookupAddress[], signal: AbortSignal): Promise<Hop> {
    const maxBytes = this.maxBytes;
    const timeoutMs = this.timeoutMs;
    // The socket connects to exactly the addresses that were checked (no second DNS lookup).
    const lookup = ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
      if (options?.all)
        callback(
          null,
          addresses.map(({ address, family }) => ({ address, family })),
        );
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    }) as unknown as LookupFunction;
    const client = url.protocol === "https:" ? https : http;
    return new Promise<Hop>((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | undefined, hop?: Hop): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve(hop!);
      };
      const onAbort = (): void => {
        finish(new DownloadError(`timed out after ${timeoutMs} ms`));
        request.destroy();
      };
      const request = client.request(
        {
          protocol: url.protocol,
          hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"),
          port: url.port === "" ? undefined : Number(url.port),
          path: `${url.pathname}${url.search}`,
          method: "GET",
          headers: { "user-agent": "openscope-media-fetcher", accept: "*/*", "accept-encoding": "identity" },
          lookup,
          agent: false,
        },
        (response) => {
          const status = response.statusCode ?? 0;
          if (status >= 300 && status < 400) {
            response.destroy();
            const location = response.headers.location;
            finish(undefined, { status, location: typeof location === "string" && location !== "" ? location : undefined });
            return;
          }
          if (status < 200 || status >= 300) {
            response.destroy();
            finish(undefined, { status });
            return;
          }
          const declared = Number(response.headers["content-length"]);
          if (Number.isFinite(declared) && declared > maxBytes) {
            finish(new DownloadError(`the file is larger than ${maxBytes} bytes`));
            response.destroy();
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          response.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              finish(new DownloadError(`the file is larger than ${maxBytes} bytes`));
              response.destroy();
              request.destroy();
              return;
            }
            chunks.push(chunk);
          });
          response.on("end", () => finish(undefined, { status, bytes: Buffer.concat(chunks, size) }));
          response.on("error", () => finish(new DownloadError("the connection was interrupted")));
          response.on("aborted", () => finish(new DownloadError("the connection was interrupted")));
        },
      );
      request.on("error", (error: NodeJS.ErrnoException) => {
        const reason =
          error.code === "CERT_HAS_EXPIRED" || error.code?.startsWith("ERR_TLS") || error.code?.includes("CERT")
            ? "the TLS certificate was not accepted"
            : "the connection failed";
        finish(new DownloadError(reason));
      });
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
      request.end();
    });
  }
}
