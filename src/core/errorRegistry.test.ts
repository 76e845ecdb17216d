/**
 * The error registry is the only place a code is chosen: no source file outside it constructs an
 * ApiError, every factory answers with a registered code and that code's status, and the README's
 * error table lists exactly the registered codes.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { ApiError, ERROR_CODES, type ErrorCode, errors, RegisteredError, toApiError } from "./errors.ts";

const SRC = fileURLToPath(new URL("../", import.meta.url));
const README = fileURLToPath(new URL("../../README.md", import.meta.url));
const REGISTRY = "core/errors.ts";

/** Every TypeScript source under src/ (tests excluded), as paths relative to src/. */
function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true, encoding: "utf8" })
    .map((path) => path.split("\\").join("/"))
    .filter((path) => path.endsWith(".ts") && !path.endsWith(".test.ts"))
    .sort();
}

/** Arguments for each factory, so that each can be called (the registry's own test of its entries). */
const SAMPLE_ARGUMENTS: { [K in Exclude<keyof typeof errors, "relayed">]: Parameters<(typeof errors)[K]> } = {
  invalidParameter: ["x"],
  emptyModel: [],
  emptyInput: [],
  modelNotFound: [],
  invalidUrl: ["http://x", "why"],
  dataInspectionFailed: ["input"],
  invalidApiKey: [],
  accessDenied: [],
  notFound: ["GET", "/x"],
  fileNotFound: ["file-fe-x"],
  apiKeyNotFound: ["key"],
  methodNotAllowed: ["PUT", "/x", ["GET"]],
  requestTimeout: [],
  payloadTooLarge: [1],
  fileTooLarge: [1],
  uriTooLong: ["x"],
  expectationFailed: [],
  headersTooLarge: [1],
  malformedRequest: ["x"],
  unsupportedMediaType: ["text/plain"],
  rateQuota: [],
  allocationQuota: [],
  internal: [],
  modelUnavailable: [],
  serviceShuttingDown: [],
  serviceUnavailable: ["x"],
  noUpstreamReplica: ["m", "r"],
  webSearchFailed: [],
  mediaProcessingFailed: [false],
  clientClosed: [],
};

describe("error registry", () => {
  it("no source file outside the registry constructs or subclasses ApiError", () => {
    const files = sourceFiles();
    assert.ok(files.includes(REGISTRY), `${REGISTRY} not found under ${SRC}`);
    const offenders = files.filter((path) => {
      if (path === REGISTRY) return false;
      const text = readFileSync(`${SRC}${path}`, "utf8");
      return /new\s+ApiError\s*\(|extends\s+ApiError\b/.test(text);
    });
    assert.deepEqual(offenders, [], "pick an entry of the registry (src/core/errors.ts `errors`) instead of constructing an ApiError");
  });

  it("every factory answers with a registered code and that code's status", () => {
    const factories = Object.keys(errors).filter((name) => name !== "relayed");
    assert.deepEqual(factories.sort(), Object.keys(SAMPLE_ARGUMENTS).sort(), "give each factory sample arguments here");
    for (const [name, args] of Object.entries(SAMPLE_ARGUMENTS)) {
      const error = (errors[name as keyof typeof SAMPLE_ARGUMENTS] as (...a: unknown[]) => ApiError)(...args);
      assert.ok(error instanceof ApiError, name);
      assert.ok(Object.hasOwn(ERROR_CODES, error.code), `${name}: ${error.code} is not registered`);
      assert.equal(error.status, ERROR_CODES[error.code as ErrorCode], name);
    }
  });

  it("the README's error table lists exactly the registered codes with their statuses", () => {
    const readme = readFileSync(README, "utf8");
    const header = readme.indexOf("| HTTP | code | when |");
    assert.ok(header >= 0, "the README has an error table headed | HTTP | code | when |");
    const rows = readme.slice(header).split("\n").slice(2);
    const listed: string[] = [];
    for (const row of rows) {
      const cells = /^\| (\d{3}) \| `([^`]+)` \|/.exec(row);
      if (!cells) break;
      listed.push(`${cells[1]} ${cells[2]}`);
    }
    const registered = Object.entries(ERROR_CODES).map(([code, status]) => `${status} ${code}`);
    assert.deepEqual(listed.sort(), registered.sort());
  });
});

describe("toApiError", () => {
  class Refused extends RegisteredError {
    clientError(): ApiError {
      return errors.invalidParameter(`refused: ${this.message}`);
    }
  }

  it("passes an ApiError through", () => {
    const error = errors.emptyModel();
    assert.equal(toApiError(error), error);
  });

  it("makes a RegisteredError its registered error, keeping it as the cause", () => {
    const original = new Refused("no");
    const error = toApiError(original);
    assert.equal(error.code, "InvalidParameter");
    assert.equal(error.message, "refused: no");
    assert.equal(error.cause, original);
  });

  it("makes anything else an InternalError with the default message, keeping it as the cause", () => {
    const original = new TypeError("secret detail");
    const error = toApiError(original);
    assert.equal(error.status, 500);
    assert.equal(error.code, "InternalError");
    assert.doesNotMatch(error.message, /secret/);
    assert.equal(error.cause, original);
  });
});
