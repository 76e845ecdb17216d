/**
 * Audio normalisation with ffmpeg (→ 16 kHz mono 16-bit PCM WAV) and Qwen-Audio token
 * counting.
 *
 * Token rule (Qwen2-Audio / Qwen-Audio, Whisper-style encoder): the audio is truncated to
 * 30 s (WhisperFeatureExtractor n_samples = 480000), mel frames L = ceil(samples / 160)
 * (hop 160 at 16 kHz = 100 frames/s), after the stride-2 conv (L-1)//2+1, after the
 * stride-2 pooling (x-2)//2+1 → 25 tokens per second, plus 2 for <|audio_bos|> /
 * <|audio_eos|>. Evidence: qwen-audio-turbo captures report audio_tokens = 752 =
 * 750 (30 s) + 2 for a 2-channel 16 kHz WAV.
 *
 * Qwen3-Omni (AuT encoder, 12.5 Hz) is offered as `qwen3OmniAudioTokens` — from the
 * transformers `_get_feat_extract_output_lengths`; not verifiable against the captioner
 * capture (152 audio tokens) because that file's duration is unknown.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MediaDecodeError } from "./image.ts";
import { MediaProcessError, runProcess, stderrSummary, withTempDir } from "./process.ts";

export const AUDIO_SAMPLE_RATE = 16_000;
/** Qwen2-Audio / Whisper window. */
export const QWEN_AUDIO_MAX_SECONDS = 30;

export interface PreparedAudio {
  wav16kMono: Buffer;
  durationSeconds: number;
  tokens: number;
  /** Raw PCM sample count (after resampling, before any 30 s truncation). */
  samples: number;
}

export interface PrepareAudioOptions {
  timeoutMs?: number | undefined;
  /** Which counting rule (default 'qwen2-audio'). */
  tokenRule?: "qwen2-audio" | "qwen3-omni" | undefined;
  /** Refuse audio longer than this (seconds); default: no limit. */
  maxDurationSeconds?: number | undefined;
}

/** Qwen2-Audio tokens for `samples` 16 kHz samples (30 s cap, +2 boundary tokens). */
export function qwen2AudioTokens(samples: number): number {
  const s = Math.min(Math.max(0, Math.floor(samples)), QWEN_AUDIO_MAX_SECONDS * AUDIO_SAMPLE_RATE);
  if (s === 0) return 0;
  const mel = Math.ceil(s / 160);
  const afterCnn = Math.floor((mel - 1) / 2) + 1;
  const afterPool = Math.floor((afterCnn - 2) / 2) + 1;
  return Math.max(0, afterPool) + 2;
}

/** Qwen3-Omni AuT tokens (13 per 100 mel frames, +2 boundary tokens). */
export function qwen3OmniAudioTokens(samples: number): number {
  const s = Math.max(0, Math.floor(samples));
  if (s === 0) return 0;
  const mel = Math.ceil(s / 160);
  const leave = mel % 100;
  const feat = Math.floor((leave - 1) / 2) + 1;
  const out = Math.floor((Math.floor((feat - 1) / 2) + 1 - 1) / 2) + 1 + Math.floor(mel / 100) * 13;
  return out + 2;
}

/** Locate the PCM `data` chunk of a RIFF/WAVE buffer. */
export function wavDataSize(wav: Buffer): number {
  if (wav.length < 12 || wav.toString("ascii", 0, 4) !== "RIFF" || wav.toString("ascii", 8, 12) !== "WAVE") {
    throw new MediaDecodeError("The audio could not be converted: ffmpeg produced no WAV output.");
  }
  let off = 12;
  while (off + 8 <= wav.length) {
    const id = wav.toString("ascii", off, off + 4);
    const size = wav.readUInt32LE(off + 4);
    if (id === "data") return Math.min(size, wav.length - off - 8);
    off += 8 + size + (size % 2);
  }
  throw new MediaDecodeError("The audio could not be converted: no data chunk in WAV output.");
}

/** Decode any ffmpeg-readable audio (or the audio track of a video) to 16 kHz mono WAV. */
export async function prepareAudio(bytes: Buffer, opts: PrepareAudioOptions = {}): Promise<PreparedAudio> {
  if (bytes.length === 0) throw new MediaDecodeError("The audio is empty.");
  return withTempDir(async (dir) => {
    const input = join(dir, "input");
    const output = join(dir, "out.wav");
    await writeFile(input, bytes);
    try {
      await runProcess(
        "ffmpeg",
        [
          "-hide_banner",
          "-nostdin",
          "-v",
          "error",
          "-i",
          input,
          "-map",
          "0:a:0",
          "-vn",
          "-sn",
          "-dn",
          "-ac",
          "1",
          "-ar",
          String(AUDIO_SAMPLE_RATE),
          "-c:a",
          "pcm_s16le",
          "-map_metadata",
          "-1",
          "-fflags",
          "+bitexact",
          "-f",
          "wav",
          output,
        ],
        { timeoutMs: opts.timeoutMs ?? 60_000, maxStdoutBytes: 1024 * 1024 },
      );
    } catch (err) {
      if (err instanceof MediaProcessError && !err.missingBinary && !err.timedOut) {
        throw new MediaDecodeError(`The audio could not be decoded: ${stderrSummary(err.stderr) || err.message}`);
      }
      throw err;
    }
    const wav = await readFile(output);
    const samples = Math.floor(wavDataSize(wav) / 2);
    if (samples === 0) throw new MediaDecodeError("The audio could not be decoded: it contains no samples.");
    const durationSeconds = samples / AUDIO_SAMPLE_RATE;
    if (opts.maxDurationSeconds !== undefined && durationSeconds > opts.maxDurationSeconds) {
      throw new MediaDecodeError(`The audio is ${durationSeconds.toFixed(1)} s long; at most ${opts.maxDurationSeconds} s are allowed.`);
    }
    const tokens = opts.tokenRule === "qwen3-omni" ? qwen3OmniAudioTokens(samples) : qwen2AudioTokens(samples);
    return { wav16kMono: wav, durationSeconds, tokens, samples };
  });
}
