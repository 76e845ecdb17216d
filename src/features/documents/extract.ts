/**
 * Plain text from an uploaded document (qwen-long's `fileid://` references): txt, md, html, json,
 * csv, pdf and docx. The type comes from the file's magic bytes when it has any (`%PDF`, a zip's
 * `PK` for docx), else from its extension. Parsing is left to maintained libraries (unpdf for PDF,
 * mammoth for DOCX, html-to-text for HTML), loaded on first use so servers that never see a
 * document never load them.
 */
import { extname } from "node:path";

export type ExtractResult = { ok: true; text: string } | { ok: false; reason: string };

/** The document kinds this module reads. */
export type DocumentKind = "text" | "markdown" | "html" | "json" | "csv" | "pdf" | "docx";

const BY_EXTENSION: Readonly<Record<string, DocumentKind>> = {
  ".txt": "text",
  ".text": "text",
  ".log": "text",
  ".md": "markdown",
  ".markdown": "markdown",
  ".html": "html",
  ".htm": "html",
  ".json": "json",
  ".csv": "csv",
  ".pdf": "pdf",
  ".docx": "docx",
};

/** Extensions listed in the error for an unsupported file. */
const SUPPORTED = "txt, md, html, htm, json, csv, pdf, docx";

const PDF_MAGIC = Buffer.from("%PDF-", "latin1");
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** What kind of document these bytes are: magic bytes first, then the extension; undefined when unsupported. */
export function documentKind(filename: string, bytes: Buffer): DocumentKind | undefined {
  if (bytes.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC)) return "pdf";
  if (bytes.subarray(0, 4).equals(ZIP_MAGIC)) return "docx";
  return BY_EXTENSION[extname(filename).toLowerCase()];
}

/** The document's text, or why it could not be read (unsupported type, corrupt file, binary data). */
export async function extractText(filename: string, bytes: Buffer): Promise<ExtractResult> {
  const kind = documentKind(filename, bytes);
  if (kind === undefined) return { ok: false, reason: `unsupported file type "${filename}": supported types are ${SUPPORTED}` };
  try {
    const text = await extractKind(kind, bytes);
    return { ok: true, text: normalize(text) };
  } catch (error) {
    return {
      ok: false,
      reason: `could not read ${kind === "text" || kind === "markdown" ? "the text" : `the ${kind.toUpperCase()} document`}: ${messageOf(error)}`,
    };
  }
}

async function extractKind(kind: DocumentKind, bytes: Buffer): Promise<string> {
  switch (kind) {
    case "text":
    case "markdown":
    case "csv":
      return decodeText(bytes);
    case "json":
      return JSON.stringify(JSON.parse(decodeText(bytes)), null, 2);
    case "html":
      return htmlText(decodeText(bytes));
    case "pdf":
      return pdfText(bytes);
    case "docx":
      return docxText(bytes);
  }
}

/** UTF-8 text (a BOM dropped); refuses bytes that are not UTF-8 or hold NULs (binary data under a text name). */
function decodeText(bytes: Buffer): string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error("not valid UTF-8 text");
  }
  if (text.includes("\u0000")) throw new Error("binary data, not text");
  return text.replace(/^\uFEFF/, "");
}

async function htmlText(html: string): Promise<string> {
  const { convert } = await import("html-to-text");
  return convert(html, {
    wordwrap: false,
    selectors: [
      { selector: "script", format: "skip" },
      { selector: "style", format: "skip" },
      { selector: "noscript", format: "skip" },
      { selector: "template", format: "skip" },
      { selector: "head", format: "skip" },
      { selector: "a", options: { ignoreHref: true } },
      { selector: "img", format: "skip" },
    ],
  });
}

async function pdfText(bytes: Buffer): Promise<string> {
  const { extractText: pdfExtract, getDocumentProxy } = await import("unpdf");
  // pdf.js takes ownership of (and may detach) the buffer it is given: hand it a copy.
  const document = await getDocumentProxy(new Uint8Array(bytes), { isEvalSupported: false, verbosity: 0 } as never);
  try {
    const { text } = await pdfExtract(document, { mergePages: false });
    return text.join("\n\n");
  } finally {
    await document.destroy();
  }
}

async function docxText(bytes: Buffer): Promise<string> {
  const mammoth = await import("mammoth");
  const extract = mammoth.extractRawText ?? (mammoth as unknown as { default: typeof mammoth }).default.extractRawText;
  const result = await extract({ buffer: bytes });
  return result.value;
}

/** Unix newlines, no trailing spaces, at most one blank line in a row, no blank lines at the ends. */
function normalize(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .replace(/[ \t]+$/gm, "")
    .replace(/\n{3,}/g, "\n\n")
    .replace(/^\n+|\n+$/g, "");
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
