import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { getLlama, JinjaTemplateChatWrapper, LlamaLogLevel, resolveChatWrapper, type Llama, type Token } from "node-llama-cpp";
import { encodeKv, fromF16Bits, getKv, parseGguf, readGguf, toF16Bits } from "./gguf.js";
import { ensureTestModel, llamaCppSourceFile, writeTestModel, type TestModelKind } from "./index.js";

const sha256 = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "openscope-testmodels-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("gguf", () => {
  test("f16 conversion round-trips and rounds to nearest even", () => {
    for (const v of [0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24]) assert.equal(fromF16Bits(toF16Bits(v)), v);
    assert.equal(toF16Bits(1 + 2 ** -11), 0x3c00); // tie -> even
    assert.equal(toF16Bits(1 + 3 * 2 ** -11), 0x3c02);
    assert.equal(toF16Bits(1e6), 0x7c00);
    assert.equal(toF16Bits(-0), 0x8000);
  });

  test("re-encoding the vocab GGUF's KVs reproduces its header bytes", async () => {
    const path = await llamaCppSourceFile("models/ggml-vocab-qwen2.gguf");
    const buf = await readFile(path);
    const file = parseGguf(buf);
    assert.equal(file.tensors.length, 0);
    const tokens = getKv(file, "tokenizer.ggml.tokens");
    assert.ok(tokens?.type === "array" && tokens.itemType === "string" && tokens.value.length === 151936);
    const header = Buffer.concat(file.kvs.map(encodeKv));
    assert.ok(buf.subarray(24, 24 + header.length).equals(header));
  });
});

describe("test models", () => {
  const kinds: TestModelKind[] = ["qwen3-tiny", "llama-tiny"];

  for (const kind of kinds) {
    test(`${kind}: deterministic bytes`, async () => {
      const a = join(dir, `${kind}-a.gguf`);
      const b = join(dir, `${kind}-b.gguf`);
      await writeTestModel(kind, a);
      await writeTestModel(kind, b);
      assert.equal(await sha256(a), await sha256(b));
      assert.ok((await stat(a)).size < 25 * 2 ** 20);
      await rm(b);
    });
  }

  test("ensureTestModel generates once and reuses the file", async () => {
    const sub = join(dir, "ensure");
    const [p1, p2] = await Promise.all([ensureTestModel("qwen3-tiny", sub), ensureTestModel("qwen3-tiny", sub)]);
    assert.equal(p1, p2);
    const { mtimeMs } = await stat(p1);
    assert.equal(await ensureTestModel("qwen3-tiny", sub), p1);
    assert.equal((await stat(p1)).mtimeMs, mtimeMs);
    assert.equal(await sha256(p1), await sha256(join(dir, "qwen3-tiny-a.gguf")));
  });

  test("qwen3-tiny metadata", async () => {
    const file = await readGguf(join(dir, "qwen3-tiny-a.gguf"));
    const kv = (k: string) => getKv(file, k)?.value;
    assert.equal(kv("general.architecture"), "qwen3");
    assert.equal(kv("general.name"), "openscope-qwen3-tiny-random");
    assert.equal(kv("qwen3.block_count"), 2);
    assert.equal(kv("tokenizer.ggml.eos_token_id"), 151645);
    assert.match(String(kv("tokenizer.chat_template")), /enable_thinking/);
    const names = file.tensors.map((t) => t.name);
    assert.ok(names.includes("blk.1.attn_q_norm.weight") && names.includes("blk.1.attn_k_norm.weight"));
    assert.ok(!names.includes("output.weight"));
  });
});

describe("node-llama-cpp", () => {
  let llama: Llama;
  before(async () => {
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  });
  after(async () => {
    await llama?.dispose();
  });

  for (const kind of ["qwen3-tiny", "llama-tiny"] as const) {
    test(`${kind}: loads, round-trips text, generates`, async () => {
      const modelPath = join(dir, `${kind}-a.gguf`);
      const model = await llama.loadModel({ modelPath });
      try {
        assert.equal(model.fileInfo.metadata.general.architecture, kind === "qwen3-tiny" ? "qwen3" : "llama");
        const text = "你好, world";
        const tokens = model.tokenize(text);
        assert.equal(model.detokenize(tokens), text);
        if (kind === "qwen3-tiny") {
          assert.deepEqual(tokens, [108386, 11, 1879]); // real Qwen BPE ids
          assert.deepEqual(model.tokenize("<|im_start|><think>", true), [151644, 151667]);
          assert.equal(model.tokens.eos, 151645);
          assert.match(String(model.fileInfo.metadata.tokenizer.chat_template), /<\|im_start\|>/);
        } else {
          assert.equal(model.tokens.bos, 1);
          assert.equal(model.fileInfo.metadata.tokenizer.chat_template, undefined);
        }

        const context = await model.createContext({ contextSize: 512, threads: 1 });
        try {
          const sequence = context.getSequence();
          const generated: Token[] = [];
          for await (const token of sequence.evaluate(tokens, { temperature: 0 })) {
            generated.push(token);
            if (generated.length === 8) break;
          }
          assert.equal(generated.length, 8);
          const nVocab = kind === "qwen3-tiny" ? 151936 : 32000;
          assert.ok(generated.every((t) => Number.isInteger(t) && t >= 0 && t < nVocab));
        } finally {
          await context.dispose();
        }
      } finally {
        await model.dispose();
      }
    });
  }

  test("qwen3-tiny chat template renders", async () => {
    const model = await llama.loadModel({ modelPath: join(dir, "qwen3-tiny-a.gguf") });
    try {
      const template = model.fileInfo.metadata.tokenizer.chat_template;
      assert.ok(typeof template === "string");
      const wrapper = new JinjaTemplateChatWrapper({ template, tokenizer: model.tokenizer });
      const { contextText } = wrapper.generateContextState({
        chatHistory: [
          { type: "system", text: "Be brief." },
          { type: "user", text: "hi" },
          { type: "model", response: [] },
        ],
      });
      const rendered = contextText.toString();
      assert.ok(rendered.includes("<|im_start|>user\nhi<|im_end|>"), rendered);
      assert.ok(rendered.includes("<|im_start|>system\nBe brief.<|im_end|>"), rendered);
      assert.ok(rendered.includes("<|im_start|>assistant"), rendered);

      // without forcing a type, node-llama-cpp picks its specialized Qwen wrapper for this template
      const resolved = resolveChatWrapper(model);
      assert.equal(resolved.wrapperName, "Qwen");
    } finally {
      await model.dispose();
    }
  });
});
