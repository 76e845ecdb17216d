import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../../core/errors.ts";
import type { ChatMessage, GenerationRequest } from "../../core/types.ts";
import { expandFileReferences, fileReferenceIds } from "./fileReferences.ts";

/** A text part's text ("" for media parts). */
const partText = (part: { type: string; text?: string }): string => (part.type === "text" ? (part.text ?? "") : "");

const docs: Record<string, { filename: string; text: string }> = {
  "file-fe-a": { filename: "a.txt", text: "alpha text" },
  "file-fe-b": { filename: "b.pdf", text: "beta text" },
};
const reads: string[] = [];
const reader = async (id: string) => {
  reads.push(id);
  return docs[id];
};

function request(messages: ChatMessage[]): GenerationRequest {
  return { requestId: "r", model: "qwen-long", messages, sampling: {} as GenerationRequest["sampling"], features: {} as GenerationRequest["features"] };
}
const text = (role: ChatMessage["role"], ...parts: string[]): ChatMessage => ({ role, content: parts.map((t) => ({ type: "text" as const, text: t })) });

describe("fileReferenceIds", () => {
  it("one or several comma-separated references, whitespace tolerated", () => {
    assert.deepEqual(fileReferenceIds("fileid://file-fe-a"), ["file-fe-a"]);
    assert.deepEqual(fileReferenceIds(" fileid://file-fe-a , fileid://file-fe-b\n"), ["file-fe-a", "file-fe-b"]);
    assert.deepEqual(fileReferenceIds("fileid://file-fe-WTTG89tIUTd4ByqP3K48R3bn,fileid://file-fe-l92iyRvJm9vHCCfonLckf1o2"), [
      "file-fe-WTTG89tIUTd4ByqP3K48R3bn",
      "file-fe-l92iyRvJm9vHCCfonLckf1o2",
    ]);
  });

  it("anything else is not a reference list", () => {
    for (const other of ["You are helpful.", "Read fileid://file-fe-a please", "fileid://", "fileid://a,", "fileid://a b", "fileid://a,,fileid://b"]) {
      assert.equal(fileReferenceIds(other), undefined, other);
    }
  });
});

describe("expandFileReferences", () => {
  it("replaces reference parts of system messages with the documents, in order, one block each", async () => {
    reads.length = 0;
    const original = request([
      text("system", "You are a helpful assistant."),
      text("system", "fileid://file-fe-b,fileid://file-fe-a"),
      text("user", "fileid://file-fe-a"),
      text("assistant", "ok"),
    ]);
    const expanded = await expandFileReferences(original, reader);
    assert.notEqual(expanded, original);
    assert.deepEqual(expanded.messages[0], original.messages[0]);
    assert.equal(expanded.messages[1]!.content.length, 1);
    assert.equal(partText(expanded.messages[1]!.content[0]!), "[Document: b.pdf]\nbeta text\n\n[Document: a.txt]\nalpha text");
    // User and assistant messages are never touched.
    assert.deepEqual(expanded.messages.slice(2), original.messages.slice(2));
    assert.deepEqual(reads, ["file-fe-b", "file-fe-a"]);
    // The input is not mutated.
    assert.equal(partText(original.messages[1]!.content[0]!), "fileid://file-fe-b,fileid://file-fe-a");
  });

  it("keeps other parts of the same message and their cache control", async () => {
    const message: ChatMessage = {
      role: "system",
      content: [
        { type: "text", text: "Intro." },
        { type: "text", text: "fileid://file-fe-a", cacheControl: { type: "ephemeral" } },
      ],
    };
    const expanded = await expandFileReferences(request([message, text("user", "hi")]), reader);
    assert.deepEqual(expanded.messages[0]!.content, [
      { type: "text", text: "Intro." },
      { type: "text", text: "[Document: a.txt]\nalpha text", cacheControl: { type: "ephemeral" } },
    ]);
  });

  it("a request without references comes back as the same object", async () => {
    const original = request([text("system", "plain"), text("user", "fileid://file-fe-a")]);
    assert.equal(await expandFileReferences(original, reader), original);
  });

  it("an unknown id is a 400 InvalidParameter naming it", async () => {
    await assert.rejects(
      expandFileReferences(request([text("system", "fileid://file-fe-a, fileid://file-fe-missing"), text("user", "q")]), reader),
      (error: unknown) => error instanceof ApiError && error.status === 400 && error.code === "InvalidParameter" && error.message.includes("file-fe-missing"),
    );
  });
});
