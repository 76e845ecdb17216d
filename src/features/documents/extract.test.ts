import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { documentKind, extractText } from "./extract.ts";
import { makeDocx, makePdf } from "../../../test/helpers/documents.ts";

async function text(filename: string, bytes: Buffer | string): Promise<string> {
  const result = await extractText(filename, Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  assert.ok(result.ok, `expected ${filename} to be read, got ${result.ok ? "" : result.reason}`);
  return result.text;
}

async function failure(filename: string, bytes: Buffer | string): Promise<string> {
  const result = await extractText(filename, Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  assert.equal(result.ok, false, `expected ${filename} to be refused`);
  return result.ok ? "" : result.reason;
}

describe("extractText", () => {
  it("plain text and markdown as they are (BOM dropped, CRLF normalised)", async () => {
    assert.equal(await text("a.txt", "\uFEFFhello\r\nworld\r\n"), "hello\nworld");
    assert.equal(await text("README.MD", "# Title\n\nSome *markdown*.\n"), "# Title\n\nSome *markdown*.");
  });

  it("csv as text", async () => {
    assert.equal(await text("t.csv", "name,age\nAda,36\n"), "name,age\nAda,36");
  });

  it("json pretty-printed; invalid json is refused", async () => {
    assert.equal(await text("d.json", '{"a":1,"b":[true,"x"]}'), '{\n  "a": 1,\n  "b": [\n    true,\n    "x"\n  ]\n}');
    assert.match(await failure("d.json", "{not json"), /could not read the JSON document/);
  });

  it("html: visible text only, no scripts, styles or head", async () => {
    const html =
      "<html><head><title>T</title><style>p{color:red}</style><script>var secret = 1;</script></head>" +
      '<body><h1>Heading</h1><p>First <b>para</b> with <a href="http://x.example">a link</a>.</p><script>alert("no")</script><p>Second</p></body></html>';
    const result = await text("page.htm", html);
    assert.match(result, /HEADING|Heading/);
    assert.match(result, /First para with a link\./);
    assert.match(result, /Second/);
    assert.doesNotMatch(result, /secret|alert|color|x\.example/);
  });

  it("pdf, by magic bytes and extension: the text of every page", async () => {
    const pdf = await makePdf(["Quarterly report", "Revenue grew 12 percent\nSecond line"]);
    const result = await text("report.pdf", pdf);
    assert.match(result, /Quarterly report/);
    assert.match(result, /Revenue grew 12 percent/);
    assert.match(result, /Second line/);
    // Sniffed even without the extension.
    assert.match(await text("upload-without-extension", pdf), /Quarterly report/);
  });

  it("docx: the paragraphs' text", async () => {
    const docx = await makeDocx(["Meeting notes", "Action items & owners"]);
    assert.equal(await text("notes.docx", docx), "Meeting notes\n\nAction items & owners");
    assert.equal(documentKind("blob", docx), "docx");
  });

  it("corrupt pdf and docx, binary under a text name, unsupported types: ok false with a reason", async () => {
    assert.match(await failure("broken.pdf", "%PDF-1.7\nthis is not a pdf at all"), /could not read the PDF document/);
    assert.match(await failure("broken.docx", Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4, 5])), /could not read the DOCX document/);
    assert.match(await failure("fake.txt", Buffer.from([0x68, 0x00, 0xff, 0xfe])), /could not read the text/);
    assert.match(await failure("image.png", Buffer.from([0x89, 0x50, 0x4e, 0x47])), /unsupported file type "image\.png"/);
    assert.match(await failure("noext", "plain words"), /unsupported file type/);
  });
});
