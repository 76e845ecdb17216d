/**
 * Reads files out of a git bundle without git. node-llama-cpp ships the llama.cpp source as a
 * bundle (one commit, one pack); the built-in models take their tokenizers and chat templates
 * from it, so a production install needs neither git nor a network to make them.
 *
 * Scope: bundle format v2/v3 with SHA-1 objects and a self-contained pack (no prerequisites,
 * no REF_DELTA objects), which is what `git bundle create` writes for a full history.
 * Formats: https://git-scm.com/docs/gitformat-bundle and https://git-scm.com/docs/gitformat-pack
 */
import { createHash } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import { inflateSync } from "node:zlib";

/** The commit a bundle's HEAD (or, without HEAD, its first ref) points at; reads only the header. */
export async function bundleHead(bundlePath: string): Promise<string> {
  const fh = await open(bundlePath, "r");
  try {
    const { buffer, bytesRead } = await fh.read({ buffer: Buffer.alloc(64 * 1024), position: 0 });
    return parseHeader(buffer.subarray(0, bytesRead), bundlePath).head;
  } finally {
    await fh.close();
  }
}

/** The contents of `paths` (slash-separated, from the repository root) at the bundle's head commit. */
export async function readBundleFiles(bundlePath: string, paths: readonly string[]): Promise<Map<string, Buffer>> {
  const bundle = await readFile(bundlePath);
  const { head, packStart } = parseHeader(bundle, bundlePath);
  const pack = new Pack(bundle, packStart, bundlePath);
  const commit = pack.object(head, "commit").toString("utf8");
  const rootTree = /^tree ([0-9a-f]{40})$/m.exec(commit)?.[1];
  if (!rootTree) throw new Error(`${bundlePath}: commit ${head} names no tree`);
  const files = new Map<string, Buffer>();
  for (const path of paths) {
    let sha = rootTree;
    const parts = path.split("/");
    for (const [i, name] of parts.entries()) {
      const entry = treeEntries(pack.object(sha, "tree")).get(name);
      if (!entry) throw new Error(`${bundlePath}: ${path} not found in commit ${head}`);
      sha = entry;
      if (i === parts.length - 1) files.set(path, pack.object(sha, "blob"));
    }
  }
  return files;
}

function parseHeader(bundle: Buffer, bundlePath: string): { head: string; packStart: number } {
  const end = bundle.indexOf("\n\n");
  if (end < 0) throw new Error(`${bundlePath}: not a git bundle (no header end)`);
  const [signature, ...lines] = bundle.subarray(0, end).toString("utf8").split("\n");
  if (signature !== "# v2 git bundle" && signature !== "# v3 git bundle") throw new Error(`${bundlePath}: not a v2/v3 git bundle`);
  if (lines.some((line) => line.startsWith("@object-format=") && line !== "@object-format=sha1"))
    throw new Error(`${bundlePath}: only SHA-1 bundles are supported`);
  if (lines.some((line) => line.startsWith("-"))) throw new Error(`${bundlePath}: bundles with prerequisites are not supported`);
  const refs = lines.map((line) => /^([0-9a-f]{40}) (\S+)$/.exec(line)).filter((m) => m !== null);
  const head = (refs.find((m) => m[2] === "HEAD") ?? refs[0])?.[1];
  if (!head) throw new Error(`${bundlePath}: the bundle lists no refs`);
  return { head, packStart: end + 2 };
}

/** Entries of a tree object: name -> object id. */
function treeEntries(tree: Buffer): Map<string, string> {
  const entries = new Map<string, string>();
  for (let p = 0; p < tree.length; ) {
    const nul = tree.indexOf(0, p);
    const name = tree.subarray(tree.indexOf(0x20, p) + 1, nul).toString("utf8");
    entries.set(name, tree.subarray(nul + 1, nul + 21).toString("hex"));
    p = nul + 21;
  }
  return entries;
}

const TYPE_NAMES: Record<number, string> = { 1: "commit", 2: "tree", 3: "blob", 4: "tag" };
const OFS_DELTA = 6;
const REF_DELTA = 7;

interface PackEntry {
  offset: number;
  type: number;
  /** compressed data: [start, end) in the bundle */
  start: number;
  end: number;
  /** for OFS_DELTA: offset of the base object */
  baseOffset?: number;
}

/** A pack indexed by object id. Walks every object once (a pack in a bundle has no index file). */
class Pack {
  private readonly entries = new Map<number, PackEntry>();
  private readonly byId = new Map<string, number>();
  /** resolved objects that deltas are built on, kept while indexing */
  private readonly bases = new Map<number, { type: string; data: Buffer }>();

  constructor(
    private readonly bundle: Buffer,
    packStart: number,
    private readonly where: string,
  ) {
    if (bundle.toString("latin1", packStart, packStart + 4) !== "PACK") throw new Error(`${where}: no pack after the bundle header`);
    const count = bundle.readUInt32BE(packStart + 8);
    let p = packStart + 12;
    const baseOffsets = new Set<number>();
    for (let i = 0; i < count; i++) {
      const entry = this.readEntry(p);
      this.entries.set(p, entry);
      if (entry.baseOffset !== undefined) baseOffsets.add(entry.baseOffset);
      p = entry.end;
    }
    for (const entry of this.entries.values()) {
      const { type, data } = this.resolve(entry, baseOffsets);
      const id = createHash("sha1").update(`${type} ${data.length}\0`).update(data).digest("hex");
      this.byId.set(id, entry.offset);
    }
    this.bases.clear();
  }

  /** The object `id`, checked to be of `type`. */
  object(id: string, type: string): Buffer {
    const offset = this.byId.get(id);
    const entry = offset === undefined ? undefined : this.entries.get(offset);
    if (!entry) throw new Error(`${this.where}: object ${id} is not in the pack`);
    const object = this.resolve(entry, new Set());
    if (object.type !== type) throw new Error(`${this.where}: object ${id} is a ${object.type}, expected a ${type}`);
    return object.data;
  }

  private readEntry(offset: number): PackEntry {
    const b = this.bundle;
    let p = offset;
    let c = b[p++]!;
    const type = (c >> 4) & 7;
    let size = c & 15;
    for (let shift = 4; c & 0x80; shift += 7) {
      c = b[p++]!;
      size += (c & 0x7f) * 2 ** shift;
    }
    let baseOffset: number | undefined;
    if (type === OFS_DELTA) {
      c = b[p++]!;
      let distance = c & 0x7f;
      while (c & 0x80) {
        c = b[p++]!;
        distance = (distance + 1) * 128 + (c & 0x7f);
      }
      baseOffset = offset - distance;
    } else if (type === REF_DELTA) {
      throw new Error(`${this.where}: REF_DELTA objects are not supported`);
    } else if (!TYPE_NAMES[type]) {
      throw new Error(`${this.where}: unknown object type ${type} at ${offset}`);
    }
    // The pack does not record compressed lengths: inflate to find where the object ends.
    const { buffer, engine } = inflateSync(b.subarray(p), { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    if (buffer.length !== size) throw new Error(`${this.where}: object at ${offset} inflates to ${buffer.length} bytes, expected ${size}`);
    return { offset, type, start: p, end: p + engine.bytesWritten, ...(baseOffset === undefined ? {} : { baseOffset }) };
  }

  private resolve(entry: PackEntry, keep: Set<number>): { type: string; data: Buffer } {
    const cached = this.bases.get(entry.offset);
    if (cached) return cached;
    const raw = inflateSync(this.bundle.subarray(entry.start, entry.end));
    let object: { type: string; data: Buffer };
    if (entry.baseOffset === undefined) {
      object = { type: TYPE_NAMES[entry.type]!, data: raw };
    } else {
      const baseEntry = this.entries.get(entry.baseOffset);
      if (!baseEntry) throw new Error(`${this.where}: delta at ${entry.offset} has no base at ${entry.baseOffset}`);
      const base = this.resolve(baseEntry, keep);
      object = { type: base.type, data: applyDelta(base.data, raw, this.where) };
    }
    if (keep.has(entry.offset)) this.bases.set(entry.offset, object);
    return object;
  }
}

/** Git's delta format: source and target sizes, then copy-from-source and insert instructions. */
function applyDelta(source: Buffer, delta: Buffer, where: string): Buffer {
  let p = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const c = delta[p++];
      if (c === undefined) throw new Error(`${where}: truncated delta`);
      value += (c & 0x7f) * 2 ** shift;
      if (!(c & 0x80)) return value;
    }
  };
  if (varint() !== source.length) throw new Error(`${where}: delta base size mismatch`);
  const out = Buffer.alloc(varint());
  let o = 0;
  while (p < delta.length) {
    const op = delta[p++]!;
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) offset += delta[p++]! * 2 ** (8 * i);
      for (let i = 0; i < 3; i++) if (op & (0x10 << i)) size += delta[p++]! * 2 ** (8 * i);
      if (size === 0) size = 0x10000;
      if (offset + size > source.length || o + size > out.length) throw new Error(`${where}: delta copy out of range`);
      o += source.copy(out, o, offset, offset + size);
    } else if (op !== 0) {
      if (p + op > delta.length || o + op > out.length) throw new Error(`${where}: delta insert out of range`);
      o += delta.copy(out, o, p, p + op);
      p += op;
    } else {
      throw new Error(`${where}: reserved delta instruction 0`);
    }
  }
  if (o !== out.length) throw new Error(`${where}: delta produced ${o} bytes, expected ${out.length}`);
  return out;
}
