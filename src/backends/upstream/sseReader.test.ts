import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mulberry32 } from "../../../test/helpers/chunkings.ts";
import { type SseEvent, sseEvents } from "./sseReader.ts";

const LINE_ENDINGS = { LF: "\n", CR: "\r", CRLF: "\r\n" } as const;

/** A DashScope frame, an OpenAI chunk with multi-byte text, a two-line data field, a bare `[DONE]`. */
function body(eol: string): string {
  return [
    `id:1${eol}event:result${eol}:HTTP_STATUS/200${eol}data:{"output":{"text":"你好 👋"}}${eol}${eol}`,
    `: keep-alive comment${eol}${eol}`,
    `data: {"choices":[{"delta":{"content":"é"}}]}${eol}${eol}`,
    `retry: 1000${eol}data: first line${eol}data: second line${eol}${eol}`,
    `id:9${eol}event:error${eol}:HTTP_STATUS/429${eol}data:{"code":"Throttling"}${eol}${eol}`,
    `data: [DONE]${eol}${eol}`,
  ].join("");
}

const EXPECTED: SseEvent[] = [
  { event: "result", data: '{"output":{"text":"你好 👋"}}', status: 200 },
  { event: "message", data: '{"choices":[{"delta":{"content":"é"}}]}' },
  { event: "message", data: "first line\nsecond line" },
  { event: "error", data: '{"code":"Throttling"}', status: 429 },
  { event: "message", data: "[DONE]" },
];

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function read(chunks: Uint8Array[]): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const event of sseEvents(streamOf(chunks))) out.push(event);
  return out;
}

/** The bytes whole, one byte at a time, cut once at every offset, and in seeded random pieces (multi-byte characters and CRLF pairs split too). */
function byteChunkings(bytes: Uint8Array): Array<{ label: string; chunks: Uint8Array[] }> {
  const result = [
    { label: "whole", chunks: [bytes] },
    { label: "one byte at a time", chunks: Array.from(bytes, (b) => Uint8Array.of(b)) },
  ];
  for (let at = 1; at < bytes.length; at++) result.push({ label: `cut at byte ${at}`, chunks: [bytes.subarray(0, at), bytes.subarray(at)] });
  for (const seed of [1, 2, 3, 4, 5]) {
    const random = mulberry32(seed);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; ) {
      const length = 1 + Math.floor(random() * 9);
      chunks.push(bytes.subarray(at, at + length));
      at += length;
    }
    result.push({ label: `random pieces, seed ${seed}`, chunks });
  }
  return result;
}

describe("sseEvents", () => {
  for (const [name, eol] of Object.entries(LINE_ENDINGS)) {
    it(`reads the same events over every chunking with ${name} line endings`, async () => {
      const bytes = new TextEncoder().encode(body(eol));
      for (const { label, chunks } of byteChunkings(bytes)) {
        assert.deepEqual(await read(chunks), EXPECTED, label);
      }
    });

    it(`delivers a last event that lacks its blank line (${name})`, async () => {
      for (const ending of ["", eol]) {
        const bytes = new TextEncoder().encode(`data: a${eol}${eol}data: b${ending}`);
        for (const { label, chunks } of byteChunkings(bytes)) {
          assert.deepEqual(
            await read(chunks),
            [
              { event: "message", data: "a" },
              { event: "message", data: "b" },
            ],
            label,
          );
        }
      }
    });
  }

  it("tells CR CR (a blank line) from CR LF (one line end) across a chunk boundary", async () => {
    const encode = (text: string) => new TextEncoder().encode(text);
    assert.deepEqual(await read([encode("data: a\r"), encode("\rdata: b\r\r")]), [
      { event: "message", data: "a" },
      { event: "message", data: "b" },
    ]);
    assert.deepEqual(await read([encode("data: a\r"), encode("\ndata: b\r\n\r\n")]), [{ event: "message", data: "a\nb" }]);
  });

  it("drops a byte-order mark and reads nothing from an empty stream", async () => {
    assert.deepEqual(await read([Uint8Array.of(0xef, 0xbb, 0xbf), new TextEncoder().encode("data: x\n\n")]), [{ event: "message", data: "x" }]);
    assert.deepEqual(await read([]), []);
  });

  it("yields each event as soon as its blank line arrives", async () => {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
    });
    const events = sseEvents(stream);
    controller.enqueue(new TextEncoder().encode("data: early\n\n"));
    assert.deepEqual((await events.next()).value, { event: "message", data: "early" });
    controller.close();
    assert.equal((await events.next()).done, true);
  });
});
