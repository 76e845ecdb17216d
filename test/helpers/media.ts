/** Test helpers: generate media with ffmpeg (lavfi sources) — no binary fixtures. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { hasFfmpeg, runProcess, withTempDir } from "../../src/features/media/process.ts";

export const FFMPEG_SKIP = "ffmpeg/ffprobe not installed — SKIPPING media tests; .ci/run installs it (apt-get install -y --no-install-recommends ffmpeg)";

/** `skip` option for node:test: false when ffmpeg is present, else a loud reason. */
export async function ffmpegSkip(): Promise<false | string> {
  if (await hasFfmpeg()) return false;
  console.warn(`\n!!! ${FFMPEG_SKIP}\n`);
  return FFMPEG_SKIP;
}

/** Run ffmpeg with the given input/codec args writing `out.<ext>`; returns the file bytes. */
export function ffmpegMake(args: string[], ext: string): Promise<Buffer> {
  return withTempDir(async (dir) => {
    const out = join(dir, `out.${ext}`);
    await runProcess("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", "-y", ...args, out], { timeoutMs: 60_000 });
    return readFile(out);
  });
}

export function testVideo(opts: { seconds: number; width: number; height: number; rate: number; ext?: string }): Promise<Buffer> {
  const ext = opts.ext ?? "mp4";
  const codec = ext === "webm" ? ["-c:v", "libvpx-vp9", "-deadline", "realtime"] : ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];
  return ffmpegMake(["-f", "lavfi", "-i", `testsrc=duration=${opts.seconds}:size=${opts.width}x${opts.height}:rate=${opts.rate}`, ...codec], ext);
}

export function testAudio(opts: { seconds: number; rate?: number; channels?: number; ext?: string }): Promise<Buffer> {
  const ext = opts.ext ?? "wav";
  return ffmpegMake(
    ["-f", "lavfi", "-i", `sine=frequency=440:duration=${opts.seconds}:sample_rate=${opts.rate ?? 44100}`, "-ac", String(opts.channels ?? 2)],
    ext,
  );
}
