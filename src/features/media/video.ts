/**
 * Video probing and frame sampling with ffprobe / ffmpeg, following the Qwen-VL video
 * rules from vision.ts (frames at `fps`, even count, per-frame pixels bounded by
 * total_pixels / frames and [min_pixels, max_pixels]).
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { imageSize, MediaDecodeError, resizeTo } from "./image.ts";
import { MediaProcessError, runProcess, stderrSummary, withTempDir } from "./process.ts";
import { FRAME_FACTOR, imageListFrameCount, planVideoFile, videoTokens, type VideoPlan, type VideoRules, VisionInputError } from "./vision.ts";

export interface VideoInfo {
  /** Seconds (container duration, else stream duration, else frames / fps). */
  duration: number;
  /** Average frame rate of the first video stream. */
  fps: number;
  /** Display size (rotation metadata applied, as ffmpeg's autorotate outputs it). */
  width: number;
  height: number;
  /** Frame count: nb_frames when the container knows it, else round(duration × fps). */
  totalFrames: number;
  codec: string;
}

export interface VideoProcessOptions {
  /** Time limit per ffmpeg/ffprobe run (default 120 s for sampling, 30 s for probing). */
  timeoutMs?: number | undefined;
  /** Frame output format (default jpeg). */
  format?: "jpeg" | "png" | undefined;
}

export interface SampledVideo {
  frames: Buffer[];
  mimeType: "image/jpeg" | "image/png";
  width: number;
  height: number;
  tokens: number;
  /** Source facts. */
  info: VideoInfo;
}

function parseRate(s: unknown): number {
  if (typeof s !== "string") return NaN;
  const [a, b] = s.split("/");
  const n = Number(a);
  const d = b === undefined ? 1 : Number(b);
  return d > 0 ? n / d : NaN;
}

interface ProbeStream {
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  tags?: { rotate?: string };
  side_data_list?: { rotation?: number }[];
}

async function probeFile(path: string, timeoutMs: number): Promise<VideoInfo> {
  let stdout: Buffer;
  try {
    ({ stdout } = await runProcess(
      "ffprobe",
      [
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=codec_name,width,height,avg_frame_rate,r_frame_rate,nb_frames,duration:stream_tags=rotate:stream_side_data=rotation:format=duration",
        "-of",
        "json",
        path,
      ],
      { timeoutMs, maxStdoutBytes: 1024 * 1024 },
    ));
  } catch (err) {
    if (err instanceof MediaProcessError && !err.missingBinary && !err.timedOut) {
      throw new MediaDecodeError(`The video could not be decoded: ${stderrSummary(err.stderr) || err.message}`);
    }
    throw err;
  }
  const j = JSON.parse(stdout.toString("utf8")) as { streams?: ProbeStream[]; format?: { duration?: string } };
  const s = j.streams?.[0];
  if (!s || !s.width || !s.height) throw new MediaDecodeError("The video could not be decoded: no video stream.");
  let fps = parseRate(s.avg_frame_rate);
  if (!(fps > 0)) fps = parseRate(s.r_frame_rate);
  if (!(fps > 0)) throw new MediaDecodeError("The video could not be decoded: unknown frame rate.");
  const nb = Number(s.nb_frames);
  let duration = Number(j.format?.duration);
  if (!(duration > 0)) duration = Number(s.duration);
  if (!(duration > 0) && nb > 0) duration = nb / fps;
  if (!(duration > 0)) throw new MediaDecodeError("The video could not be decoded: unknown duration.");
  const totalFrames = nb > 0 ? nb : Math.max(1, Math.round(duration * fps));
  const rotation = Number(s.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? s.tags?.rotate ?? 0);
  const swap = Math.abs(rotation) % 180 === 90;
  return {
    duration,
    fps,
    width: swap ? s.height : s.width,
    height: swap ? s.width : s.height,
    totalFrames,
    codec: s.codec_name ?? "unknown",
  };
}

/** Duration, frame rate, size and frame count of the first video stream. */
export async function probeVideo(bytes: Buffer, opts: { timeoutMs?: number | undefined } = {}): Promise<VideoInfo> {
  if (bytes.length === 0) throw new MediaDecodeError("The video is empty.");
  return withTempDir(async (dir) => {
    const path = join(dir, "input");
    await writeFile(path, bytes);
    return probeFile(path, opts.timeoutMs ?? 30_000);
  });
}

/**
 * Sample a video file the way qwen-vl-utils does: frame count from `smart_nframes`
 * (fps-based, even, 4..768 and ≤ rules.maxFrames), frames at linspace(0, total-1, n)
 * indices, each scaled to the smart-resized size for that frame count.
 */
export async function sampleVideo(bytes: Buffer, rules: VideoRules, opts: VideoProcessOptions = {}): Promise<SampledVideo> {
  if (bytes.length === 0) throw new MediaDecodeError("The video is empty.");
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const format = opts.format ?? "jpeg";
  return withTempDir(async (dir) => {
    const input = join(dir, "input");
    await writeFile(input, bytes);
    const info = await probeFile(input, Math.min(timeoutMs, 30_000));
    const plan: VideoPlan = planVideoFile(info, rules);
    // Select frame n when it is the rounded linspace index of some k:
    // k = round(n·A), selected iff round(k·B) == n, with A = (n-1)/(T-1), B = 1/A.
    const a = info.totalFrames > 1 ? (plan.frames - 1) / (info.totalFrames - 1) : 0;
    const b = a > 0 ? 1 / a : 0;
    const select = a > 0 ? `eq(round(round(n*${a})*${b}),n)` : "eq(n,0)";
    const ext = format === "png" ? "png" : "jpg";
    const args = [
      "-hide_banner",
      "-nostdin",
      "-v",
      "error",
      "-i",
      input,
      "-map",
      "0:v:0",
      "-an",
      "-sn",
      "-dn",
      "-vf",
      `select='${select}',scale=${plan.width}:${plan.height}:flags=bicubic,setsar=1`,
      "-fps_mode",
      "passthrough",
      "-frames:v",
      String(plan.frames),
      ...(format === "png" ? ["-c:v", "png"] : ["-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj420p"]),
      join(dir, `frame_%05d.${ext}`),
    ];
    try {
      await runProcess("ffmpeg", args, { timeoutMs, maxStdoutBytes: 1024 * 1024 });
    } catch (err) {
      if (err instanceof MediaProcessError && !err.missingBinary && !err.timedOut) {
        throw new MediaDecodeError(`The video could not be decoded: ${stderrSummary(err.stderr) || err.message}`);
      }
      throw err;
    }
    const names = (await readdir(dir)).filter((n) => n.startsWith("frame_")).sort();
    if (names.length === 0) throw new MediaDecodeError("The video could not be decoded: no frames were extracted.");
    const frames: Buffer[] = [];
    for (const n of names.slice(0, plan.frames)) frames.push(await readFile(join(dir, n)));
    // The container's frame count can be off by a few; keep the planned count exactly.
    while (frames.length < plan.frames) frames.push(frames[frames.length - 1]!);
    return {
      frames,
      mimeType: format === "png" ? "image/png" : "image/jpeg",
      width: plan.width,
      height: plan.height,
      tokens: plan.tokens,
      info,
    };
  });
}

export interface PreparedFrames {
  frames: Buffer[];
  mimeType: "image/jpeg" | "image/png";
  width: number;
  height: number;
  tokens: number;
}

/**
 * A video given as an image list: padded to an even count by repeating the last image
 * (qwen-vl-utils), every frame resized to the size planned from the first image under
 * the same per-frame video rules as a video file.
 */
export async function prepareVideoFrames(images: Buffer[], rules: VideoRules, opts: { format?: "jpeg" | "png" | undefined } = {}): Promise<PreparedFrames> {
  if (images.length === 0) throw new VisionInputError("The video image list is empty.");
  if (images.length > rules.maxFrames) {
    throw new VisionInputError(`The video image list has ${images.length} images; at most ${rules.maxFrames} are allowed.`);
  }
  const count = imageListFrameCount(images.length);
  const first = await imageSize(images[0]!);
  const plan = videoTokens(count, first.height, first.width, rules);
  const format = opts.format ?? "jpeg";
  const frames: Buffer[] = [];
  for (const img of images) frames.push(await resizeTo(img, plan.width, plan.height, format));
  while (frames.length % FRAME_FACTOR !== 0) frames.push(frames[frames.length - 1]!);
  return {
    frames,
    mimeType: format === "png" ? "image/png" : "image/jpeg",
    width: plan.width,
    height: plan.height,
    tokens: plan.tokens,
  };
}
