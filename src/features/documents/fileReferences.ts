/**
 * qwen-long's document references (protocol.md §10): a system message whose text is
 * `fileid://<id>` or several such references separated by commas stands for the documents
 * themselves. The expansion swaps each such text part for the documents' text, in order, one
 * block per document headed by its file name. Nothing else in the request changes.
 */
import { invalidParameter, type ChatMessage, type ContentPart, type GenerationRequest } from "../../core/index.ts";

/** A document as the expansion needs it. */
export interface ReferencedDocument {
  filename: string;
  text: string;
}

/** Looks a file id up; undefined when it does not exist or the caller may not see it. */
export type DocumentReader = (id: string) => Promise<ReferencedDocument | undefined>;

const REFERENCE = /^fileid:\/\/(\S+)$/;

/** The ids a text consists of, or undefined when it is not exactly a comma-separated list of `fileid://` references. */
export function fileReferenceIds(text: string): string[] | undefined {
  if (!text.includes("fileid://")) return undefined;
  const ids: string[] = [];
  for (const piece of text.split(",")) {
    const match = REFERENCE.exec(piece.trim());
    if (match === null) return undefined;
    ids.push(match[1]!);
  }
  return ids;
}

/** The text a document contributes to the system message. */
export function documentBlock(document: ReferencedDocument): string {
  return `[Document: ${document.filename}]\n${document.text}`;
}

export function unknownFileError(id: string) {
  return invalidParameter(`File "${id}" referenced by fileid:// does not exist or is not accessible with this API key.`);
}

/**
 * The request with its system messages' `fileid://` parts replaced by the documents' text; the
 * same object when there are none. An id `readText` does not know is a 400 InvalidParameter
 * naming it (errors `readText` throws pass through).
 */
export async function expandFileReferences(request: GenerationRequest, readText: DocumentReader): Promise<GenerationRequest> {
  const cache = new Map<string, ReferencedDocument>();
  const read = async (id: string): Promise<ReferencedDocument> => {
    let document = cache.get(id);
    if (document === undefined) {
      document = await readText(id);
      if (document === undefined) throw unknownFileError(id);
      cache.set(id, document);
    }
    return document;
  };

  let changed = false;
  const messages: ChatMessage[] = [];
  for (const message of request.messages) {
    if (message.role !== "system" || !message.content.some((part) => part.type === "text" && fileReferenceIds(part.text) !== undefined)) {
      messages.push(message);
      continue;
    }
    const content: ContentPart[] = [];
    for (const part of message.content) {
      const ids = part.type === "text" ? fileReferenceIds(part.text) : undefined;
      if (part.type !== "text" || ids === undefined) {
        content.push(part);
        continue;
      }
      const blocks: string[] = [];
      for (const id of ids) blocks.push(documentBlock(await read(id)));
      content.push({ ...part, text: blocks.join("\n\n") });
    }
    messages.push({ ...message, content });
    changed = true;
  }
  return changed ? { ...request, messages } : request;
}
