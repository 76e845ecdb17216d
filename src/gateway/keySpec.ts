import { invalidParameter, jsonPreview } from "../core/index.ts";
import type { NewKey } from "./keys.ts";

const DURATION = /^(\d+)\s*(m|h|d|w)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** The largest time a JS Date holds (epoch ms, either side of 1970). */
const MAX_TIME_MS = 8.64e15;
/** The largest rpm and concurrency: INTEGER columns of the PostgreSQL store. */
const MAX_INT4 = 2 ** 31 - 1;
/** The largest tpm: a BIGINT column, as far as a JS number is exact. */
const MAX_TPM = Number.MAX_SAFE_INTEGER;

/** A time the stores and a Date can hold: a safe integer within ±8.64e15 ms (an epoch of 400 digits, 10^17 days are not). */
const representable = (time: number): boolean => Number.isSafeInteger(time) && Math.abs(time) <= MAX_TIME_MS;

/** An expiry as given: a duration from now ("30d", "12h", "90m", "2w"), an ISO date/time, or epoch milliseconds. */
export function parseExpiry(value: unknown, now = Date.now()): number | null {
  if (value === undefined || value === null || value === "" || value === "never") return null;
  let time: number | undefined;
  if (typeof value === "number" && Number.isInteger(value) && value > 0) time = value;
  else if (typeof value === "string") {
    const duration = DURATION.exec(value.trim());
    if (duration) time = now + Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
    else if (!Number.isNaN(Date.parse(value))) time = Date.parse(value);
  }
  if (time === undefined)
    throw invalidParameter(`expires must be a duration (30d, 12h, 90m, 2w), an ISO date or epoch milliseconds, got ${jsonPreview(value)}`);
  // 1e21 or 10^17 days: stored, it was a REAL SQLite refused, or a date nothing could print.
  if (!representable(time)) throw invalidParameter(`expires is not a time this server can represent: ${jsonPreview(value)} (at most year 275760)`);
  return time;
}

const PAST_TIME_FORMS = "use a duration back from now like 24h or 7d, an ISO date, or epoch milliseconds";

/**
 * A time in the past: a duration back from now ("24h", "7d"), an ISO date/time, or epoch
 * milliseconds. `name` (the usage query's `since`/`until`) heads the message; a value read as no
 * representable time (an epoch of 400 digits, a duration of 10^17 days) is refused here, before a
 * store fails on it.
 */
export function parsePastTime(given: string, now = Date.now(), name = "time"): number {
  const trimmed = given.trim();
  const duration = DURATION.exec(trimmed);
  let time: number;
  if (duration) time = now - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
  else if (/^\d+$/.test(trimmed)) time = Number(trimmed);
  else {
    time = Date.parse(trimmed);
    if (Number.isNaN(time)) throw invalidParameter(`${name} is not a time: ${jsonPreview(given)} (${PAST_TIME_FORMS})`);
  }
  if (!representable(time)) throw invalidParameter(`${name} is not a time this server can represent: ${jsonPreview(given)} (${PAST_TIME_FORMS})`);
  return time;
}

/** rpm, tpm or concurrency: a positive integer the stores hold exactly (1e21 is an integer to JS, and reached SQLite as a REAL). */
function limit(value: unknown, name: string, max: number): number | null {
  if (value === undefined || value === null || value === "") return null;
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1 || n > max)
    throw invalidParameter(`${name} must be a positive integer of at most ${max}, got ${jsonPreview(value)}`);
  return n;
}

function text(value: unknown, name: string): string | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string" || value.length > 200) throw invalidParameter(`${name} must be a string of at most 200 characters`);
  return value;
}

function modelList(value: unknown): string[] | null {
  if (value === undefined || value === null || value === "" || value === "*") return null;
  const list = typeof value === "string" ? value.split(",") : value;
  if (!Array.isArray(list) || !list.every((m) => typeof m === "string"))
    throw invalidParameter("models must be a list of model names (or a comma-separated string)");
  const names = list.map((m: string) => m.trim()).filter(Boolean);
  return names.length > 0 ? names : null;
}

/** A key to create, from the admin API's JSON body or the CLI's flags (same names, same checks). */
export function parseKeySpec(spec: Record<string, unknown>, now = Date.now()): NewKey {
  const name = text(spec.name, "name");
  if (name === null) throw invalidParameter("name is required: a label for the key (team, app, person)");
  const expiresAt = parseExpiry(spec.expires ?? spec.expires_at, now);
  if (expiresAt !== null && expiresAt <= now) throw invalidParameter("expires is in the past");
  return {
    name,
    models: modelList(spec.models),
    rpm: limit(spec.rpm, "rpm", MAX_INT4),
    tpm: limit(spec.tpm, "tpm", MAX_TPM),
    concurrency: limit(spec.concurrency, "concurrency", MAX_INT4),
    workspace: text(spec.workspace, "workspace"),
    expiresAt,
  };
}
