/**
 * Decode and resize real images (sharp / libvips) following the Qwen-VL sizing rules
 * from vision.ts.
 */
import sharp from "sharp";
import { imageTokens, type ImageRules, VisionInputError } from "./vision.ts";

/** Refuse images whose decoded size would exceed this many pixels (decompression bombs). */
export const MAX_INPUT_PIXELS = 268_402_689; // sharp's default limit (0x3FFF × 0x3FFF)

export class MediaDecodeError extends VisionInputError {
  override name = "MediaDecodeError";
}

export interface PreparedImage {
  /** Resized image (PNG when the source has alpha or is lossless, JPEG otherwise). */
  bytes: Buffer;
  mimeType: "image/png" | "image/jpeg";
  width: number;
  height: number;
  originalWidth: number;
  originalHeight: number;
  tokens: number;
}

export interface PrepareImageOptions {
  /** Force an output format; default: PNG for png/gif/webp-with-alpha/tiff sources, JPEG otherwise. */
  format?: "png" | "jpeg" | undefined;
  /** JPEG quality (default 90). */
  jpegQuality?: number | undefined;
}

/** Read width/height (EXIF orientation applied) or throw MediaDecodeError. */
export async function imageSize(bytes: Buffer): Promise<{ width: number; height: number; format: string; hasAlpha: boolean }> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: "error" }).metadata();
  } catch (err) {
    throw new MediaDecodeError(`The image could not be decoded: ${(err as Error).message}`);
  }
  if (!meta.width || !meta.height || !meta.format) {
    throw new MediaDecodeError("The image could not be decoded: unknown format or size.");
  }
  // Orientations 5-8 swap width and height.
  const swap = (meta.orientation ?? 1) >= 5;
  return {
    width: swap ? meta.height : meta.width,
    height: swap ? meta.width : meta.height,
    format: meta.format,
    hasAlpha: meta.hasAlpha ?? false,
  };
}

/**
 * Decode `bytes`, smart-resize to the rules' patch grid and pixel bounds, and re-encode.
 * Throws MediaDecodeError (a VisionInputError, code InvalidParameter) for corrupt or
 * unsupported input, and VisionInputError for an aspect ratio over 200.
 */
export async function prepareImage(bytes: Buffer, rules: ImageRules, opts: PrepareImageOptions = {}): Promise<PreparedImage> {
  if (bytes.length === 0) throw new MediaDecodeError("The image is empty.");
  const info = await imageSize(bytes);
  const plan = imageTokens(info.height, info.width, rules);
  const lossless = ["png", "gif", "tiff", "svg"].includes(info.format) || info.hasAlpha;
  const format = opts.format ?? (lossless ? "png" : "jpeg");
  let out: Buffer;
  try {
    let img = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: "error", pages: 1 })
      .rotate() // apply EXIF orientation
      .resize(plan.width, plan.height, { fit: "fill", kernel: "lanczos3" });
    if (format === "png") {
      out = await img.png().toBuffer();
    } else {
      img = img.flatten({ background: "#ffffff" });
      out = await img.jpeg({ quality: opts.jpegQuality ?? 90 }).toBuffer();
    }
  } catch (err) {
    throw new MediaDecodeError(`The image could not be decoded: ${(err as Error).message}`);
  }
  return {
    bytes: out,
    mimeType: format === "png" ? "image/png" : "image/jpeg",
    width: plan.width,
    height: plan.height,
    originalWidth: info.width,
    originalHeight: info.height,
    tokens: plan.tokens,
  };
}

/** Resize an already decoded-size-known image to exact dimensions (used for video frames). */
export async function resizeTo(bytes: Buffer, width: number, height: number, format: "png" | "jpeg" = "jpeg"): Promise<Buffer> {
  try {
    const img = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: "error", pages: 1 })
      .rotate()
      .resize(width, height, { fit: "fill", kernel: "lanczos3" });
    return format === "png" ? await img.png().toBuffer() : await img.flatten({ background: "#ffffff" }).jpeg({ quality: 90 }).toBuffer();
  } catch (err) {
    throw new MediaDecodeError(`The image could not be decoded: ${(err as Error).message}`);
  }
}
