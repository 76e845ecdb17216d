import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { after, before, describe, it } from "node:test";
import { ConfigError } from "../config/index.ts";
import { InsufficientMemoryError, ModelLoadError, ModelSourceError } from "../backends/llama/index.ts";
import { describeFailure, prepareDirectory, StartupError } from "./errors.ts";

describe("describeFailure: one line and an exit code for whatever ends the process", () => {
  it("settings exit 2, run-time failures 1; always a single line", () => {
    assert.deepEqual(describeFailure(new ConfigError("--port must be …\nsecond line")), { lines: ["--port must be …"], exitCode: 2 });
    assert.deepEqual(describeFailure(new ConfigError(["prot: unknown key — did you mean port?", "--parallel: must be …"])), {
      lines: ["prot: unknown key — did you mean port?", "--parallel: must be …"],
      exitCode: 2,
    });
    assert.deepEqual(describeFailure(new InsufficientMemoryError("not enough memory")), { lines: ["not enough memory"], exitCode: 2 });
    assert.deepEqual(describeFailure(new StartupError("port 8000 is already in use")), { lines: ["port 8000 is already in use"], exitCode: 1 });
    assert.deepEqual(describeFailure(new ModelLoadError("/m.gguf", "the file is empty")), {
      lines: ["model file /m.gguf cannot be loaded: the file is empty"],
      exitCode: 1,
    });
    assert.equal(describeFailure(new ModelSourceError("Model file not found", false, true)).exitCode, 2);
    assert.equal(describeFailure(new ModelSourceError("Cannot download", true)).exitCode, 1);
    const unknown = describeFailure(Object.assign(new Error("boom\n    at x (y.ts:1:1)"), { code: "EWHATEVER" }));
    assert.deepEqual(unknown, { lines: ["startup failed: boom (EWHATEVER)"], exitCode: 1 });
  });

  it("command-line parse errors name the option and point at --help", () => {
    const parse = (args: string[]) => {
      try {
        parseArgs({ args, options: { port: { type: "string" } }, strict: true });
      } catch (error) {
        return describeFailure(error);
      }
      assert.fail("parsed");
    };
    assert.deepEqual(parse(["--port", "-1"]), {
      lines: ['--port needs a value; one starting with "-" is written --port=-… (openscope --help lists the options)'],
      exitCode: 2,
    });
    assert.deepEqual(parse(["--nope"]), { lines: ["Unknown option '--nope' (openscope --help lists the options)"], exitCode: 2 });
  });
});

describe("prepareDirectory", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "openscope-dirs-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("creates it; under a regular file it is a ConfigError naming the setting and the file in the way", async () => {
    await prepareDirectory(join(dir, "a", "b"), "data_dir", "the server's data");
    await writeFile(join(dir, "file"), "");
    await assert.rejects(prepareDirectory(join(dir, "file", "data"), "--data-dir", "the server's data"), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(
        error.message,
        `--data-dir ${join(dir, "file", "data")} cannot hold the server's data: ${join(dir, "file")} is a file, not a directory. Set --data-dir to a directory this user can write`,
      );
      return true;
    });
    await assert.rejects(
      prepareDirectory(join(dir, "file"), "cache_dir", "downloaded models"),
      /cache_dir .* cannot hold downloaded models: it is a file, not a directory/,
    );
  });
});
