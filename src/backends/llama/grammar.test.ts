import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gbnfLiteral, prefixJsonRules } from "./grammar.ts";

/** node-llama-cpp 3.21's converter output for a get_weather call schema. */
const CONVERTED = String.raw`root ::= "{" whitespace-b-1-4-rule "\"name\"" ":" [ ]? val0 comma-whitespace-b-1-4-rule "\"arguments\"" ":" [ ]? rule1 whitespace-b-0-4-rule "}" "\n\n\n\n" [\n]*
val0 ::= "\"get_weather\""
comma-whitespace-b-1-4-rule ::= "," ([\n] ("    " | "\t") | [ ]?)
string-char-rule ::= [^"\\\x7F\x00-\x1F] | "\\" ["\\/bfnrt] | "\\u" [0-9a-fA-F]{4}
string-rule ::= "\"" string-char-rule* "\""
val1 ::= "\"c\""
rule0 ::= ( val1 | string-rule )
whitespace-b-2-4-rule ::= [\n] (" "{8} | "\t\t") | [ ]?
whitespace-b-1-4-rule ::= [\n] ("    " | "\t") | [ ]?
rule1 ::= "{" whitespace-b-2-4-rule "\"location\"" ":" [ ]? rule0 whitespace-b-1-4-rule "}"
whitespace-b-0-4-rule ::= [\n] | [ ]?
`;

const EXPECTED = String.raw`call-root ::= "{" call-whitespace-b-1-4-rule "\"name\"" ":" [ ]? call-val0 call-comma-whitespace-b-1-4-rule "\"arguments\"" ":" [ ]? call-rule1 call-whitespace-b-0-4-rule "}"
call-val0 ::= "\"get_weather\""
call-comma-whitespace-b-1-4-rule ::= "," [ ]?
call-string-char-rule ::= [^"\\\x7F\x00-\x1F] | "\\" ["\\/bfnrt] | "\\u" [0-9a-fA-F]{4}
call-string-rule ::= "\"" call-string-char-rule* "\""
call-val1 ::= "\"c\""
call-rule0 ::= ( call-val1 | call-string-rule )
call-whitespace-b-2-4-rule ::= [ ]?
call-whitespace-b-1-4-rule ::= [ ]?
call-rule1 ::= "{" call-whitespace-b-2-4-rule "\"location\"" ":" [ ]? call-rule0 call-whitespace-b-1-4-rule "}"
call-whitespace-b-0-4-rule ::= [ ]?`;

describe("prefixJsonRules", () => {
  it("renames, compacts and trims the converter's grammar", () => {
    assert.equal(prefixJsonRules(CONVERTED, "call-"), EXPECTED);
  });

  it("renames every definition and every reference", () => {
    const lines = prefixJsonRules(CONVERTED, "p-").split("\n");
    const defined = lines.map((line) => line.slice(0, line.indexOf(" ::= ")));
    assert.ok(defined.every((name) => name.startsWith("p-")), defined.join(", "));
    assert.ok(defined.includes("p-root"));
    // Outside literals and classes, every bare word is a prefixed rule name.
    for (const line of lines) {
      const body = line.slice(line.indexOf(" ::= ") + 5).replace(/"(?:[^"\\]|\\.)*"|\[(?:[^\]\\]|\\.)*\]|\{[^}]*\}/g, " ");
      for (const word of body.match(/[A-Za-z0-9-]+/g) ?? []) assert.ok(defined.includes(word), `${word} in ${line}`);
    }
  });

  it("removes the trailing newlines of root", () => {
    const out = prefixJsonRules(CONVERTED, "call-");
    assert.ok(!out.includes(String.raw`"\n\n\n\n"`));
    assert.match(out.split("\n")[0]!, /call-whitespace-b-0-4-rule "\}"$/);
  });

  it("makes whitespace one optional space and the comma rule a comma and one optional space", () => {
    const out = prefixJsonRules(
      String.raw`root ::= "[" whitespace-no-new-lines-rule "]"
comma-whitespace-no-new-lines-rule ::= "," [ ]?
whitespace-no-new-lines-rule ::= [ ]?
comma-whitespace-b-2-4-rule ::= "," ([\n] (" "{8} | "\t\t") | [ ]?)`,
      "a-",
    );
    assert.deepEqual(out.split("\n").slice(1), [
      'a-comma-whitespace-no-new-lines-rule ::= "," [ ]?',
      "a-whitespace-no-new-lines-rule ::= [ ]?",
      'a-comma-whitespace-b-2-4-rule ::= "," [ ]?',
    ]);
  });

  it("never renames inside literals, character classes or counts", () => {
    const out = prefixJsonRules(
      String.raw`root ::= "rule0 val0" rule0 "\"root\" val0" val0
rule0 ::= [^"\\rule0\]val0] [0-9]{0,15} "-"? ("0" | [1-9] [0-9]{0,15}) rule0{1,2}
val0 ::= "\\" ["\\/bfnrt] "\\u" [0-9a-fA-F]{4} "val0\\"`,
      "x-",
    );
    assert.deepEqual(out.split("\n"), [
      String.raw`x-root ::= "rule0 val0" x-rule0 "\"root\" val0" x-val0`,
      String.raw`x-rule0 ::= [^"\\rule0\]val0] [0-9]{0,15} "-"? ("0" | [1-9] [0-9]{0,15}) x-rule0{1,2}`,
      String.raw`x-val0 ::= "\\" ["\\/bfnrt] "\\u" [0-9a-fA-F]{4} "val0\\"`,
    ]);
  });

  it("leaves words that name no rule alone and skips blank lines", () => {
    assert.equal(prefixJsonRules("\nroot ::= other-rule\n\n", "q-"), "q-root ::= other-rule");
  });

  it("throws on a line that is not a rule", () => {
    assert.throws(() => prefixJsonRules('root ::= "a"\n  | "b"', "q-"), /unexpected GBNF line/);
    assert.throws(() => prefixJsonRules("# comment", "q-"), /unexpected GBNF line/);
  });
});

describe("gbnfLiteral", () => {
  it("quotes text, escaping newlines, quotes and backslashes", () => {
    assert.equal(gbnfLiteral("<tool_call>\n"), String.raw`"<tool_call>\n"`);
    assert.equal(gbnfLiteral('say "hi"'), String.raw`"say \"hi\""`);
    assert.equal(gbnfLiteral("a\\b\tc"), String.raw`"a\\b\tc"`);
  });

  it("keeps non-ASCII text as is", () => {
    assert.equal(gbnfLiteral("杭州 ✓ 😀"), '"杭州 ✓ 😀"');
  });

  it("writes control characters with escapes GBNF knows (llama.cpp has no \\b or \\f)", () => {
    assert.equal(gbnfLiteral("\b\f"), String.raw`"\x08\x0C"`);
    assert.equal(gbnfLiteral("\\b"), String.raw`"\\b"`, "an escaped backslash before b stays");
  });

  it("is left alone when the rules around it are prefixed", () => {
    const literal = gbnfLiteral('root "val0"\n');
    assert.equal(prefixJsonRules(`root ::= ${literal} val0\nval0 ::= "x"`, "z-"), `z-root ::= ${literal} z-val0\nz-val0 ::= "x"`);
  });
});
