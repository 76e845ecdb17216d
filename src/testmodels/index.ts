/**
 * Deterministic generator of tiny GGUF models: random weights, but the real tokenizer and
 * chat template, taken from the llama.cpp source that node-llama-cpp ships as a git bundle.
 * node-llama-cpp loads and generates from them like any other model.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { bundleHead, readBundleFiles } from "./gitBundle.ts";
import { type GgufKV, type GgufTensorSpec, type GgmlTypeName, Q8_0_BLOCK, Q8_0_BLOCK_BYTES, getKv, readGguf, toF16Bits, writeGguf } from "./gguf.js";

export type TestModelKind = "qwen3-tiny" | "llama-tiny" | "qwen3-0.6b-shaped";

/** File name used by ensureTestModel for each kind. */
export function testModelFileName(kind: TestModelKind): string {
  return `${kind}.gguf`;
}

// ---------------------------------------------------------------------------------------------
// llama.cpp source files (vocab GGUFs, chat templates) from node-llama-cpp's git bundle

function nodeLlamaCppRoot(): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve("node-llama-cpp"));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "node-llama-cpp") return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("could not locate the node-llama-cpp package root");
    dir = parent;
  }
}

let bundleInfo: Promise<{ bundle: string; commit: string }> | undefined;
function llamaCppBundle() {
  bundleInfo ??= (async () => {
    const bundle = join(nodeLlamaCppRoot(), "llama", "gitRelease.bundle");
    if (!existsSync(bundle)) throw new Error(`llama.cpp source bundle not found: ${bundle}`);
    return { bundle, commit: await bundleHead(bundle) };
  })();
  return bundleInfo;
}

/** Where extracted llama.cpp files are cached (per bundle commit). */
function llamaCppCacheRoot(): string {
  return process.env.OPENSCOPE_TESTMODELS_CACHE ?? join(tmpdir(), "openscope-llama-cpp-src");
}

/** Every llama.cpp file the model specs use; extracted together with one pass over the bundle. */
const SOURCE_FILES = ["models/ggml-vocab-qwen2.gguf", "models/ggml-vocab-llama-spm.gguf", "models/templates/Qwen-Qwen3-0.6B.jinja"];

let extraction: Promise<void> | undefined;

/**
 * Path of a file from the llama.cpp source bundled with node-llama-cpp (e.g.
 * "models/ggml-vocab-qwen2.gguf"), extracted from the bundle (without git) into a cache on first use.
 */
export async function llamaCppSourceFile(relPath: string): Promise<string> {
  const { commit } = await llamaCppBundle();
  const cacheDir = join(llamaCppCacheRoot(), commit.slice(0, 12));
  const out = join(cacheDir, relPath);
  if (existsSync(out)) return out;
  if (SOURCE_FILES.includes(relPath)) {
    extraction ??= extractSourceFiles(SOURCE_FILES, cacheDir).finally(() => {
      extraction = undefined;
    });
    await extraction;
  } else {
    await extractSourceFiles([relPath], cacheDir);
  }
  return out;
}

async function extractSourceFiles(relPaths: string[], cacheDir: string): Promise<void> {
  const missing = relPaths.filter((p) => !existsSync(join(cacheDir, p)));
  if (missing.length === 0) return;
  const { bundle } = await llamaCppBundle();
  for (const [relPath, data] of await readBundleFiles(bundle, missing)) {
    const out = join(cacheDir, relPath);
    await mkdir(dirname(out), { recursive: true });
    await atomicWrite(out, data);
  }
}

/** Writes through a temporary file and a rename, so a crash never leaves a half-written file at `path`. */
async function writeAtomically(path: string, write: (tmpPath: string) => Promise<void>): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await write(tmp);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

function atomicWrite(path: string, data: Uint8Array | string): Promise<void> {
  return writeAtomically(path, (tmp) => writeFile(tmp, data));
}

// ---------------------------------------------------------------------------------------------
// Deterministic random data

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: 32-bit state, returns uint32. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const U32 = 2 ** 32;
/** approx normal(0, sigma): Irwin-Hall of 4 uniforms (only + and *, so bit-exact everywhere) */
function normalish(rng: () => number, sigma: number): number {
  const s = rng() + rng() + rng() + rng(); // mean 2 * 2^32, variance 4/12 * 2^64
  return (s / U32 - 2) * 1.7320508075688772 * sigma;
}

type Init = { kind: "const"; value: number } | { kind: "normal"; sigma: number };

const CHUNK_ELEMS = 1 << 16;

function* floatData(type: "F32" | "F16", n: number, init: Init, rng: () => number): Generator<Uint8Array> {
  const width = type === "F32" ? 4 : 2;
  const buf = Buffer.alloc(Math.min(n, CHUNK_ELEMS) * width);
  for (let done = 0; done < n; ) {
    const m = Math.min(CHUNK_ELEMS, n - done);
    for (let i = 0; i < m; i++) {
      const v = init.kind === "const" ? init.value : normalish(rng, init.sigma);
      if (type === "F32") buf.writeFloatLE(v, i * 4);
      else buf.writeUInt16LE(toF16Bits(v), i * 2);
    }
    yield buf.subarray(0, m * width);
    done += m;
  }
}

/**
 * Random Q8_0 blocks: int8 quants uniform in [-127, 127] with a per-block f16 scale,
 * giving weights with standard deviation ~sigma (uniform int8 has std ~73.6).
 */
function* q8_0Data(n: number, sigma: number, rng: () => number): Generator<Uint8Array> {
  const blocksPerChunk = 4096;
  const totalBlocks = n / Q8_0_BLOCK;
  const buf = Buffer.alloc(Math.min(totalBlocks, blocksPerChunk) * Q8_0_BLOCK_BYTES);
  const base = sigma / 73.6;
  for (let done = 0; done < totalBlocks; ) {
    const m = Math.min(blocksPerChunk, totalBlocks - done);
    let o = 0;
    for (let b = 0; b < m; b++) {
      const d = base * (0.5 + rng() / U32); // scale in [0.5, 1.5) * base
      buf.writeUInt16LE(toF16Bits(d), o);
      o += 2;
      for (let j = 0; j < Q8_0_BLOCK; j += 4) {
        const r = rng();
        for (let k = 0; k < 4; k++) {
          const q = ((r >>> (k * 8)) & 0xff) - 128;
          buf[o++] = (q === -128 ? -127 : q) & 0xff;
        }
      }
    }
    yield buf.subarray(0, o);
    done += m;
  }
}

function tensor(seedPrefix: string, name: string, shape: number[], type: GgmlTypeName, init: Init): GgufTensorSpec {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    name,
    shape,
    type,
    data: () => {
      const rng = mulberry32(fnv1a(`${seedPrefix}/${name}`));
      if (type === "Q8_0") {
        if (init.kind !== "normal") throw new Error("Q8_0 tensors are random only");
        return q8_0Data(n, init.sigma, rng);
      }
      return floatData(type, n, init, rng);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Model definitions

interface ModelSpec {
  arch: "qwen3" | "llama";
  name: string;
  vocabFile: string;
  templateFile?: string;
  layers: number;
  embd: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffn: number;
  context: number;
  ropeBase: number;
  rmsEps: number;
  fileType: number; // llama_ftype: 0 = ALL_F32, 1 = MOSTLY_F16, 7 = MOSTLY_Q8_0
  embdType: GgmlTypeName;
  matType: GgmlTypeName;
  tiedOutput: boolean;
  qkNorm: boolean;
}

const specs: Record<TestModelKind, ModelSpec> = {
  "qwen3-tiny": {
    arch: "qwen3",
    name: "openscope-qwen3-tiny-random",
    vocabFile: "models/ggml-vocab-qwen2.gguf",
    templateFile: "models/templates/Qwen-Qwen3-0.6B.jinja",
    layers: 2,
    embd: 64,
    heads: 4,
    kvHeads: 2,
    headDim: 16,
    ffn: 128,
    context: 4096,
    ropeBase: 1e6,
    rmsEps: 1e-6,
    fileType: 7,
    embdType: "Q8_0", // 151936 x 64: Q8_0 keeps the file ~16 MB (F16 would be ~26 MB)
    matType: "F16",
    tiedOutput: true,
    qkNorm: true,
  },
  "llama-tiny": {
    arch: "llama",
    name: "openscope-llama-tiny-random",
    vocabFile: "models/ggml-vocab-llama-spm.gguf",
    layers: 2,
    embd: 64,
    heads: 4,
    kvHeads: 2,
    headDim: 16,
    ffn: 128,
    context: 4096,
    ropeBase: 10000,
    rmsEps: 1e-5,
    fileType: 1,
    embdType: "F16",
    matType: "F32",
    tiedOutput: false,
    qkNorm: false,
  },
  "qwen3-0.6b-shaped": {
    arch: "qwen3",
    name: "openscope-qwen3-0.6b-shaped-random",
    vocabFile: "models/ggml-vocab-qwen2.gguf",
    templateFile: "models/templates/Qwen-Qwen3-0.6B.jinja",
    layers: 28,
    embd: 1024,
    heads: 16,
    kvHeads: 8,
    headDim: 128,
    ffn: 3072,
    context: 40960,
    ropeBase: 1e6,
    rmsEps: 1e-6,
    fileType: 7,
    embdType: "Q8_0",
    matType: "Q8_0",
    tiedOutput: true,
    qkNorm: true,
  },
};

/**
 * Qwen3's added tokens (tokenizer.json of Qwen/Qwen3-0.6B) occupying ids that are still
 * [PADnnn] in llama.cpp's ggml-vocab-qwen2.gguf. Types as convert_hf_to_gguf assigns them:
 * 3 = CONTROL (special, or looks like <|...|>), 4 = USER_DEFINED. Remaining pads become 5 = UNUSED.
 */
const QWEN3_ADDED_TOKENS: [number, string, number][] = [
  [151646, "<|object_ref_start|>", 3],
  [151647, "<|object_ref_end|>", 3],
  [151648, "<|box_start|>", 3],
  [151649, "<|box_end|>", 3],
  [151650, "<|quad_start|>", 3],
  [151651, "<|quad_end|>", 3],
  [151652, "<|vision_start|>", 3],
  [151653, "<|vision_end|>", 3],
  [151654, "<|vision_pad|>", 3],
  [151655, "<|image_pad|>", 3],
  [151656, "<|video_pad|>", 3],
  [151657, "<tool_call>", 4],
  [151658, "</tool_call>", 4],
  [151659, "<|fim_prefix|>", 3],
  [151660, "<|fim_middle|>", 3],
  [151661, "<|fim_suffix|>", 3],
  [151662, "<|fim_pad|>", 3],
  [151663, "<|repo_name|>", 3],
  [151664, "<|file_sep|>", 3],
  [151665, "<tool_response>", 4],
  [151666, "</tool_response>", 4],
  [151667, "<think>", 4],
  [151668, "</think>", 4],
];

function setKv(kvs: GgufKV[], kv: GgufKV) {
  const i = kvs.findIndex((k) => k.key === kv.key);
  if (i >= 0) kvs[i] = kv;
  else kvs.push(kv);
}

async function tokenizerKvs(spec: ModelSpec): Promise<GgufKV[]> {
  const vocab = await readGguf(await llamaCppSourceFile(spec.vocabFile));
  const kvs = vocab.kvs.filter((kv) => kv.key.startsWith("tokenizer."));
  if (spec.arch === "qwen3") {
    const tokens = getKv(vocab, "tokenizer.ggml.tokens");
    const types = getKv(vocab, "tokenizer.ggml.token_type");
    if (tokens?.type !== "array" || tokens.itemType !== "string" || types?.type !== "array" || types.itemType !== "int32")
      throw new Error(`${spec.vocabFile}: unexpected tokenizer arrays`);
    const newTokens = tokens.value.slice();
    const newTypes = types.value.slice();
    for (let i = 0; i < newTokens.length; i++) if (/^\[PAD\d+\]$/.test(newTokens[i]!)) newTypes[i] = 5;
    for (const [id, text, type] of QWEN3_ADDED_TOKENS) {
      if (newTokens[id] !== `[PAD${id}]`) throw new Error(`${spec.vocabFile}: token ${id} is ${newTokens[id]}, expected a pad`);
      newTokens[id] = text;
      newTypes[id] = type;
    }
    setKv(kvs, { key: "tokenizer.ggml.tokens", type: "array", itemType: "string", value: newTokens });
    setKv(kvs, { key: "tokenizer.ggml.token_type", type: "array", itemType: "int32", value: newTypes });
    // as in Qwen's own Qwen3 GGUFs
    setKv(kvs, { key: "tokenizer.ggml.eos_token_id", type: "uint32", value: 151645 }); // <|im_end|>
    setKv(kvs, { key: "tokenizer.ggml.padding_token_id", type: "uint32", value: 151643 }); // <|endoftext|>
    setKv(kvs, { key: "tokenizer.ggml.bos_token_id", type: "uint32", value: 151643 });
    setKv(kvs, { key: "tokenizer.ggml.add_bos_token", type: "bool", value: false });
  }
  if (spec.templateFile) {
    const template = await readFile(await llamaCppSourceFile(spec.templateFile), "utf8");
    setKv(kvs, { key: "tokenizer.chat_template", type: "string", value: template });
  } else {
    // the vocab-only files may carry a template of their own; keep the model template-less
    const i = kvs.findIndex((k) => k.key === "tokenizer.chat_template");
    if (i >= 0) kvs.splice(i, 1);
  }
  return kvs;
}

function vocabSize(kvs: GgufKV[]): number {
  const tokens = kvs.find((kv) => kv.key === "tokenizer.ggml.tokens");
  if (tokens?.type !== "array") throw new Error("vocab has no tokenizer.ggml.tokens");
  return tokens.value.length;
}

function buildTensors(kind: TestModelKind, s: ModelSpec, nVocab: number): GgufTensorSpec[] {
  const sigma = 0.02;
  const norm: Init = { kind: "const", value: 1 };
  const rand: Init = { kind: "normal", sigma };
  const t = (name: string, shape: number[], type: GgmlTypeName, init: Init) => tensor(kind, name, shape, type, init);
  const qDim = s.heads * s.headDim;
  const kvDim = s.kvHeads * s.headDim;

  const out: GgufTensorSpec[] = [t("token_embd.weight", [s.embd, nVocab], s.embdType, rand)];
  for (let i = 0; i < s.layers; i++) {
    const p = `blk.${i}.`;
    out.push(t(`${p}attn_norm.weight`, [s.embd], "F32", norm));
    out.push(t(`${p}attn_q.weight`, [s.embd, qDim], s.matType, rand));
    out.push(t(`${p}attn_k.weight`, [s.embd, kvDim], s.matType, rand));
    out.push(t(`${p}attn_v.weight`, [s.embd, kvDim], s.matType, rand));
    out.push(t(`${p}attn_output.weight`, [qDim, s.embd], s.matType, rand));
    if (s.qkNorm) {
      out.push(t(`${p}attn_q_norm.weight`, [s.headDim], "F32", norm));
      out.push(t(`${p}attn_k_norm.weight`, [s.headDim], "F32", norm));
    }
    out.push(t(`${p}ffn_norm.weight`, [s.embd], "F32", norm));
    out.push(t(`${p}ffn_gate.weight`, [s.embd, s.ffn], s.matType, rand));
    out.push(t(`${p}ffn_up.weight`, [s.embd, s.ffn], s.matType, rand));
    out.push(t(`${p}ffn_down.weight`, [s.ffn, s.embd], s.matType, rand));
  }
  out.push(t("output_norm.weight", [s.embd], "F32", norm));
  if (!s.tiedOutput) out.push(t("output.weight", [s.embd, nVocab], s.embdType, rand));
  return out;
}

/** Write the test model `kind` to `outPath` (overwrites). Same bytes on every run. */
export async function writeTestModel(kind: TestModelKind, outPath: string): Promise<void> {
  const s = specs[kind];
  if (!s) throw new Error(`unknown test model kind: ${kind}`);
  const tok = await tokenizerKvs(s);
  const nVocab = vocabSize(tok);
  const a = s.arch;
  const quantized = s.embdType === "Q8_0" || s.matType === "Q8_0";
  const kvs: GgufKV[] = [
    { key: "general.architecture", type: "string", value: a },
    { key: "general.type", type: "string", value: "model" },
    { key: "general.name", type: "string", value: s.name },
    { key: "general.description", type: "string", value: "random weights for tests and benchmarks; real tokenizer" },
    { key: "general.file_type", type: "uint32", value: s.fileType },
    ...(quantized ? [{ key: "general.quantization_version", type: "uint32", value: 2 } as GgufKV] : []),
    { key: `${a}.block_count`, type: "uint32", value: s.layers },
    { key: `${a}.context_length`, type: "uint32", value: s.context },
    { key: `${a}.embedding_length`, type: "uint32", value: s.embd },
    { key: `${a}.feed_forward_length`, type: "uint32", value: s.ffn },
    { key: `${a}.attention.head_count`, type: "uint32", value: s.heads },
    { key: `${a}.attention.head_count_kv`, type: "uint32", value: s.kvHeads },
    { key: `${a}.attention.key_length`, type: "uint32", value: s.headDim },
    { key: `${a}.attention.value_length`, type: "uint32", value: s.headDim },
    { key: `${a}.rope.dimension_count`, type: "uint32", value: s.headDim },
    { key: `${a}.rope.freq_base`, type: "float32", value: s.ropeBase },
    { key: `${a}.attention.layer_norm_rms_epsilon`, type: "float32", value: s.rmsEps },
    ...(a === "llama" ? [{ key: "llama.vocab_size", type: "uint32", value: nVocab } as GgufKV] : []),
    ...tok,
  ];
  await writeGguf(outPath, { kvs, tensors: buildTensors(kind, s, nVocab), alignment: 32 });
}

const ensuring = new Map<string, Promise<string>>();

/**
 * Path of the test model `kind` in `dir` (as `<kind>.gguf`), generating it only when absent.
 * Generation goes to a temp file that is renamed into place, so a crash leaves no partial file.
 */
export function ensureTestModel(kind: TestModelKind, dir: string): Promise<string> {
  const path = join(dir, testModelFileName(kind));
  let p = ensuring.get(path);
  if (!p) {
    p = (async () => {
      if (existsSync(path) && (await stat(path)).size > 0) return path;
      await mkdir(dir, { recursive: true });
      await writeAtomically(path, (tmp) => writeTestModel(kind, tmp));
      return path;
    })();
    ensuring.set(path, p);
    const forget = () => void ensuring.delete(path);
    p.then(forget, forget);
  }
  return p;
}
