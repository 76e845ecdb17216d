/**
 * Qwen-VL / QVQ image and video sizing rules, as documented by the DashScope API
 * reference (min_pixels / max_pixels / total_pixels / fps / vl_high_resolution_images)
 * and as implemented by Qwen's own `smart_resize` / `smart_nframes` (qwen-vl-utils
 * `vision_process.py`). Pure functions, no I/O.
 *
 * Token counting: one visual token per `patch × patch` pixels after resize, where
 * `patch` = ViT patch size × spatial merge size (14×2 = 28 for Qwen2/2.5-VL, QVQ and
 * the older qwen-vl-*; 16×2 = 32 for Qwen3-VL and the current qwen-vl-max/plus).
 * Video frames are additionally merged in time by 2 (temporal patch size).
 *
 * Whether the `<|vision_start|>`/`<|vision_end|>` pair is included in the reported
 * count differs between generations in the captures (see `specialTokens`):
 *  - 28-px family, no +2: qwen-vl-plus (old capture) 3577 = 49×73 and 1247 = 29×43,
 *    exactly the grid of the 2048×1365 Qwen demo image at 28 px (hi-res and default
 *    1003520 max_pixels); qwen-vl-ocr 1219 = 23×53 (1217 is prime); image-list video
 *    1440 = 2 × 20×36 (1438 = 2×719 cannot be a grid).
 *  - 32-px family, +2: qwen3.6-plus 2503 (prime) = 41×61 + 2, exactly the 2048×1365 demo
 *    image at 32 px with the Qwen3-VL default max_pixels 2621440; qwen-vl-ocr-latest
 *    947 (prime) = 945 + 2; qwen-vl-max video file 3586 = 3584 (= 2^9·7) + 2.
 */
import { type ApiError, invalidParameter, RegisteredError } from "../../core/index.ts";

export type Patch = 28 | 32;

export interface VisionDefaults {
  /** Image min_pixels default (also the smallest accepted value). */
  imageMinPixels: number;
  /** Image max_pixels default. */
  imageMaxPixels: number;
  /** Largest accepted image max_pixels; also the fixed cap with vl_high_resolution_images. */
  imageMaxPixelsLimit: number;
  /** Video (file or image list) per-frame min_pixels default. */
  videoMinPixels: number;
  /** Smallest accepted video min_pixels. */
  videoMinPixelsLimit: number;
  /** Video per-frame max_pixels default. */
  videoMaxPixels: number;
  /** Largest accepted video per-frame max_pixels. */
  videoMaxPixelsLimit: number;
  /** Video total_pixels default (also the smallest accepted value per the reference). */
  totalPixels: number;
}

export interface VisionFamily {
  /** Which row of the reference's tables the model falls in. */
  name: "qwen3-vl-large" | "qwen3-vl" | "qwen-vl-current" | "qwen2.5-vl";
  patch: Patch;
  /** Tokens added per image / per video for <|vision_start|> and <|vision_end|>. */
  specialTokens: 0 | 2;
  defaults: VisionDefaults;
}

/** qwen-vl-utils MAX_RATIO: larger aspect ratios are rejected. */
export const MAX_ASPECT_RATIO = 200;
/** High-resolution mode: 16384 tokens of patch² pixels. */
export const HIGH_RESOLUTION_TOKENS = 16384;
export const FPS_DEFAULT = 2.0;
export const FPS_MIN = 0.1;
export const FPS_MAX = 10;
/** Temporal patch size: two consecutive frames make one temporal token group. */
export const FRAME_FACTOR = 2;
/** qwen-vl-utils FPS_MIN_FRAMES / FPS_MAX_FRAMES. */
export const MIN_FRAMES = 4;
export const MAX_FRAMES = 768;

/** The client's media breaks a sizing rule: a 400 InvalidParameter with this message. */
export class VisionInputError extends RegisteredError {
  override name = "VisionInputError";
  clientError(): ApiError {
    return invalidParameter(this.message);
  }
}

const FAMILY_28: VisionDefaults = {
  imageMinPixels: 3136, // 4 × 28²
  imageMaxPixels: 1003520, // 1280 × 28²
  imageMaxPixelsLimit: 12845056, // 16384 × 28²
  videoMinPixels: 50176, // 64 × 28²
  videoMinPixelsLimit: 3136,
  videoMaxPixels: 501760, // 640 × 28²
  videoMaxPixelsLimit: 602112, // 768 × 28²
  totalPixels: 51380224, // 65536 × 28²
};

const FAMILY_VL_CURRENT: VisionDefaults = {
  imageMinPixels: 4096, // 4 × 32²
  imageMaxPixels: 1310720, // 1280 × 32²
  imageMaxPixelsLimit: 16777216, // 16384 × 32²
  videoMinPixels: 65536, // 64 × 32²
  videoMinPixelsLimit: 4096,
  videoMaxPixels: 655360, // 640 × 32²
  videoMaxPixelsLimit: 786432, // 768 × 32²
  totalPixels: 67108864, // 65536 × 32²
};

const FAMILY_QWEN3_VL: VisionDefaults = {
  imageMinPixels: 65536, // 64 × 32²
  imageMaxPixels: 2621440, // 2560 × 32²
  imageMaxPixelsLimit: 16777216,
  videoMinPixels: 65536,
  videoMinPixelsLimit: 4096,
  videoMaxPixels: 655360,
  videoMaxPixelsLimit: 786432,
  totalPixels: 67108864,
};

const FAMILY_QWEN3_VL_LARGE: VisionDefaults = {
  ...FAMILY_QWEN3_VL,
  videoMaxPixelsLimit: 2048000, // 2000 × 32²
  totalPixels: 134217728, // 131072 × 32²
};

/**
 * Which sizing family a model belongs to, from the reference's model lists:
 *  - qwen3-vl-plus*, qwen3-vl-flash*, qwen3-vl-235b-a22b-{thinking,instruct}: Qwen3-VL with
 *    the larger video limits;
 *  - other Qwen3-VL (and, by inference, newer natively multimodal qwen3.x / qwen3-omni
 *    models, which use the Qwen3-VL vision tower);
 *  - qwen-vl-max, -latest, -0813, qwen-vl-plus, -latest, -0815, -0710 (the current
 *    Qwen3-VL-based commercial models; dated spellings 2025-08-13 etc. accepted) and, by
 *    capture evidence, qwen-vl-ocr-latest / 2025-11 OCR snapshots;
 *  - everything else (other qwen-vl-max/plus snapshots, qwen-vl-ocr, Qwen2/2.5-VL, QVQ,
 *    and unknown models): 28 px.
 */
export function visionFamily(model: string): VisionFamily {
  const m = model.trim().toLowerCase();
  if (/^qwen3-vl-(plus|flash)/.test(m) || /^qwen3-vl-235b-a22b-(thinking|instruct)/.test(m)) {
    return { name: "qwen3-vl-large", patch: 32, specialTokens: 2, defaults: FAMILY_QWEN3_VL_LARGE };
  }
  if (/^qwen3-vl/.test(m) || /^qwen3-omni/.test(m) || /^qwen3\.[5-9]/.test(m)) {
    return { name: "qwen3-vl", patch: 32, specialTokens: 2, defaults: FAMILY_QWEN3_VL };
  }
  if (
    /^qwen-vl-max(-latest|-0813|-2025-08-13)?$/.test(m) ||
    /^qwen-vl-plus(-latest|-0815|-0710|-2025-08-15|-2025-07-10)?$/.test(m) ||
    /^qwen-vl-ocr(-latest|-2025-1[0-2]-\d\d)$/.test(m)
  ) {
    return { name: "qwen-vl-current", patch: 32, specialTokens: 2, defaults: FAMILY_VL_CURRENT };
  }
  return { name: "qwen2.5-vl", patch: 28, specialTokens: 0, defaults: FAMILY_28 };
}

// ---- Python-exact rounding helpers (qwen-vl-utils) ----

/** Python 3 `round()`: round half to even. */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
export const roundByFactor = (n: number, factor: number): number => pyRound(n / factor) * factor;
export const ceilByFactor = (n: number, factor: number): number => Math.ceil(n / factor) * factor;
export const floorByFactor = (n: number, factor: number): number => Math.floor(n / factor) * factor;

export interface ResizeRules {
  patch: Patch;
  minPixels: number;
  maxPixels: number;
}

function checkDims(height: number, width: number): void {
  if (!Number.isFinite(height) || !Number.isFinite(width) || height < 1 || width < 1) {
    throw new VisionInputError(`Invalid image size ${width}x${height}.`);
  }
  const ratio = Math.max(height, width) / Math.min(height, width);
  if (ratio > MAX_ASPECT_RATIO) {
    throw new VisionInputError(`The image aspect ratio must be smaller than ${MAX_ASPECT_RATIO}, got ${Math.round(ratio * 100) / 100} (${width}x${height}).`);
  }
}

/**
 * qwen-vl-utils `smart_resize`: both sides become multiples of `patch`, the pixel count
 * lands in [minPixels, maxPixels], and the aspect ratio is kept as closely as possible.
 */
export function smartResize(height: number, width: number, rules: ResizeRules): { height: number; width: number } {
  checkDims(height, width);
  const { patch: factor, minPixels, maxPixels } = rules;
  let hBar = Math.max(factor, roundByFactor(height, factor));
  let wBar = Math.max(factor, roundByFactor(width, factor));
  if (hBar * wBar > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    hBar = Math.max(factor, floorByFactor(height / beta, factor));
    wBar = Math.max(factor, floorByFactor(width / beta, factor));
  } else if (hBar * wBar < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    hBar = ceilByFactor(height * beta, factor);
    wBar = ceilByFactor(width * beta, factor);
  }
  return { height: hBar, width: wBar };
}

export interface ImageOptions {
  /** Per-item `min_pixels`. */
  minPixels?: number | undefined;
  /** Per-item `max_pixels` (ignored with highResolution). */
  maxPixels?: number | undefined;
  /** `parameters.vl_high_resolution_images`. */
  highResolution?: boolean | undefined;
}

export interface ImageRules extends ResizeRules {
  specialTokens: 0 | 2;
}

function checkPixelsOption(name: string, v: number | undefined): void {
  if (v === undefined) return;
  if (!Number.isFinite(v) || !Number.isInteger(v) || v <= 0) {
    throw new VisionInputError(`${name} must be a positive integer, got ${String(v)}.`);
  }
}

/**
 * Effective image rules for a model: defaults from the reference, user values clamped to
 * the documented minimum / maximum, and vl_high_resolution_images fixing max_pixels at
 * 16384 × patch² regardless of max_pixels.
 */
export function imageRules(model: string | VisionFamily, opts: ImageOptions = {}): ImageRules {
  const fam = typeof model === "string" ? visionFamily(model) : model;
  const d = fam.defaults;
  checkPixelsOption("min_pixels", opts.minPixels);
  checkPixelsOption("max_pixels", opts.maxPixels);
  const minPixels = Math.max(opts.minPixels ?? d.imageMinPixels, d.imageMinPixels);
  let maxPixels: number;
  if (opts.highResolution) {
    maxPixels = HIGH_RESOLUTION_TOKENS * fam.patch * fam.patch;
  } else {
    maxPixels = Math.min(opts.maxPixels ?? d.imageMaxPixels, d.imageMaxPixelsLimit);
  }
  if (minPixels > maxPixels) {
    throw new VisionInputError(`min_pixels (${minPixels}) must not exceed max_pixels (${maxPixels}).`);
  }
  return { patch: fam.patch, minPixels, maxPixels, specialTokens: fam.specialTokens };
}

/** Grid tokens for an already resized image (dimensions must be multiples of patch). */
export function gridTokens(height: number, width: number, patch: Patch): number {
  return (height / patch) * (width / patch);
}

export interface ImagePlan {
  width: number;
  height: number;
  tokens: number;
}

/** Resized size and token count (grid + special tokens) for an image of the given size. */
export function imageTokens(height: number, width: number, rules: ImageRules): ImagePlan {
  const r = smartResize(height, width, rules);
  return { ...r, tokens: gridTokens(r.height, r.width, rules.patch) + rules.specialTokens };
}

// ---- video ----

export interface VideoOptions {
  fps?: number | undefined;
  minPixels?: number | undefined;
  maxPixels?: number | undefined;
  totalPixels?: number | undefined;
  /** Extra cap on the number of frames (server safety); default MAX_FRAMES. */
  maxFrames?: number | undefined;
}

export interface VideoRules {
  patch: Patch;
  fps: number;
  minPixels: number;
  maxPixels: number;
  totalPixels: number;
  maxFrames: number;
  specialTokens: 0 | 2;
}

export function validateFps(fps: number | undefined): number {
  if (fps === undefined) return FPS_DEFAULT;
  if (typeof fps !== "number" || !Number.isFinite(fps) || fps < FPS_MIN || fps > FPS_MAX) {
    throw new VisionInputError(`fps must be in [${FPS_MIN}, ${FPS_MAX}], got ${String(fps)}.`);
  }
  return fps;
}

/** Effective video rules for a model (defaults and clamps from the reference). */
export function videoRules(model: string | VisionFamily, opts: VideoOptions = {}): VideoRules {
  const fam = typeof model === "string" ? visionFamily(model) : model;
  const d = fam.defaults;
  checkPixelsOption("min_pixels", opts.minPixels);
  checkPixelsOption("max_pixels", opts.maxPixels);
  checkPixelsOption("total_pixels", opts.totalPixels);
  const minPixels = Math.max(opts.minPixels ?? d.videoMinPixels, d.videoMinPixelsLimit);
  const maxPixels = Math.min(opts.maxPixels ?? d.videoMaxPixels, d.videoMaxPixelsLimit);
  if (minPixels > maxPixels) {
    throw new VisionInputError(`min_pixels (${minPixels}) must not exceed max_pixels (${maxPixels}).`);
  }
  const totalPixels = Math.max(opts.totalPixels ?? d.totalPixels, d.totalPixels);
  const maxFrames = Math.max(FRAME_FACTOR, floorByFactor(Math.min(opts.maxFrames ?? MAX_FRAMES, MAX_FRAMES), FRAME_FACTOR));
  return {
    patch: fam.patch,
    fps: validateFps(opts.fps),
    minPixels,
    maxPixels,
    totalPixels,
    maxFrames,
    specialTokens: fam.specialTokens,
  };
}

/**
 * qwen-vl-utils `smart_nframes` for a video file: `total_frames / video_fps * fps`,
 * clamped to [4, min(768, total_frames)] (even-rounded: ceil for the minimum, floor for
 * the maximum), never more than total_frames, then floored to an even number.
 */
export function videoFrameCount(totalFrames: number, videoFps: number, fps: number, maxFrames = MAX_FRAMES): number {
  if (!(totalFrames >= 1) || !(videoFps > 0)) {
    throw new VisionInputError("The video has no decodable frames.");
  }
  const minFrames = ceilByFactor(MIN_FRAMES, FRAME_FACTOR);
  const maxF = floorByFactor(Math.min(maxFrames, MAX_FRAMES, totalFrames), FRAME_FACTOR);
  let n = (totalFrames / videoFps) * fps;
  n = Math.min(Math.min(Math.max(n, minFrames), maxF), totalFrames);
  n = floorByFactor(n, FRAME_FACTOR);
  if (n < FRAME_FACTOR) {
    throw new VisionInputError(`The video is too short: ${totalFrames} frame(s), at least ${FRAME_FACTOR} are needed.`);
  }
  return n;
}

/**
 * Per-frame pixel bounds for `frames` frames (qwen-vl-utils fetch_video):
 * max = max(min(max_pixels, total_pixels / frames × 2), min_pixels × 1.05).
 */
export function framePixelBounds(
  frames: number,
  rules: Pick<VideoRules, "minPixels" | "maxPixels" | "totalPixels">,
): {
  minPixels: number;
  maxPixels: number;
} {
  const maxPixels = Math.max(Math.min(rules.maxPixels, (rules.totalPixels / frames) * FRAME_FACTOR), Math.trunc(rules.minPixels * 1.05));
  return { minPixels: rules.minPixels, maxPixels };
}

export interface VideoPlan {
  /** Frames fed to the model (even; image lists are padded by repeating the last). */
  frames: number;
  width: number;
  height: number;
  /** frames/2 × (h/patch)(w/patch) + special tokens. */
  tokens: number;
}

/** Frame count after padding an image list to an even length. */
export function imageListFrameCount(images: number): number {
  if (images < 1) throw new VisionInputError("The video image list is empty.");
  return ceilByFactor(images, FRAME_FACTOR);
}

/** Size and tokens for `frames` frames of `height × width` under the video rules. */
export function videoTokens(frames: number, height: number, width: number, rules: VideoRules): VideoPlan {
  if (frames % FRAME_FACTOR !== 0 || frames < FRAME_FACTOR) {
    throw new VisionInputError(`Frame count must be a positive even number, got ${frames}.`);
  }
  const b = framePixelBounds(frames, rules);
  const r = smartResize(height, width, { patch: rules.patch, ...b });
  const tokens = (frames / FRAME_FACTOR) * gridTokens(r.height, r.width, rules.patch) + rules.specialTokens;
  return { frames, ...r, tokens };
}

/** Plan for a video file with the given stream facts. */
export function planVideoFile(info: { totalFrames: number; fps: number; width: number; height: number }, rules: VideoRules): VideoPlan {
  const n = videoFrameCount(info.totalFrames, info.fps, rules.fps, rules.maxFrames);
  return videoTokens(n, info.height, info.width, rules);
}
