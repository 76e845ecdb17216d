import { invalidParameter } from "../core/errors.ts";
import type { NewKey } from "./keys.ts";

const DURATION = /^(\d+)\s*(m|h|d|w)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** An expiry as given: a duration from now ("30d", "12h", "90m", "2w"), an ISO date/time, or epoch milliseconds. */
export function parseExpiry(value: unknown, now = Date.now()): number | null {
  if (value === undefined || value === null || value === "" || value === "never") return null;
  if (typeof value === "number" && Number.isInteger(value) && value > 0) return value;
  if (typeof value === "string") {
    const duration = DURATION.exec(value.trim());
    if (duration) return now + Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return date;
  }
  throw invalidParameter(`expires must be a duration (30d, 12h, 90m, 2w), an ISO date or epoch milliseconds, got ${JSON.stringify(value)}`);
}

/** A time in the past: a duration back from now ("24h", "7d"), an ISO date/time, or epoch milliseconds. */
export function parsePastTime(given: string, now = Date.now()): number {
  const trimmed = given.trim();
  const duration = DURATION.exec(trimmed);
  if (duration) return now - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (!Number.isNaN(date)) return date;
  throw invalidParameter(`not a time: ${JSON.stringify(given)} (use a duration back from now like 24h or 7d, an ISO date, or epoch milliseconds)`);
}

function limit(value: unknown, name: string): number | null {
  if (value === undefined || value === null || value === "") return null;
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) throw invalidParameter(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
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
  if (!Array.isArray(list) || !list.every((m) => typeof m === "string")) throw invalidParameter("models must be a list of model names (or a comma-separated string)");
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
    rpm: limit(spec.rpm, "rpm"),
    tpm: limit(spec.tpm, "tpm"),
    concurrency: limit(spec.concurrency, "concurrency"),
    workspace: text(spec.workspace, "workspace"),
    expiresAt,
  };
}
