import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toApiError } from "../../core/errors.ts";
import { MediaProcessError } from "./process.ts";

describe("MediaProcessError", () => {
  it("reaches the client as 503 ServiceUnavailable without ffmpeg's output, which stays the cause", () => {
    const failure = new MediaProcessError("ffmpeg exited with code 1", "secret stderr", 1, false);
    const error = toApiError(failure);
    assert.equal(error.status, 503);
    assert.equal(error.code, "ServiceUnavailable");
    assert.equal(error.message, "Media processing failed on this server; please try again later.");
    assert.equal(error.cause, failure);
    assert.match(toApiError(new MediaProcessError("ffmpeg timed out", "", null, true)).message, /\(timed out\)/);
  });
});
