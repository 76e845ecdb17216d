/** The schema's building blocks: strict sections whose unknown keys name the nearest valid one, and values with their ranges in words. */
import { isIP } from "node:net";
import { z } from "zod";
import { unknownKeyProblem } from "./nearest.ts";

/** The longest delay a Node timer takes (2^31-1 ms, ~24.8 days); a longer one fires at once. */
export const TIMER_MAX_MS = 2 ** 31 - 1;

/**
 * A section that refuses keys it does not know (a typo would otherwise be ignored in silence). The
 * issue's message holds one line per unknown key, in order, naming the nearest valid key, or where a
 * `misplaced` key belongs instead.
 */
export function strictObject<T extends z.ZodRawShape>(shape: T, misplaced: Readonly<Record<string, string>> = {}) {
  const valid = Object.keys(shape);
  const problem = (key: string) => (Object.hasOwn(misplaced, key) ? `unknown key — ${misplaced[key]}` : unknownKeyProblem(key, valid));
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? issue.keys.map(problem).join("\n") : undefined),
  });
}

export interface NumberRule {
  min?: number;
  max?: number;
  /** The bounds themselves are outside the range. */
  minExclusive?: boolean;
  maxExclusive?: boolean;
  integer?: boolean;
  /** What the range means, after it in parentheses. */
  hint?: string;
}

function describeRange({ min = -Infinity, max = Infinity, minExclusive = false, maxExclusive = false, integer = false }: NumberRule): string {
  const kind = integer ? "an integer" : "a number";
  if (min > -Infinity && max < Infinity) {
    if (!minExclusive && !maxExclusive) return `${kind} from ${min} to ${max}`;
    return `${kind} in ${minExclusive ? "(" : "["}${min}, ${max}${maxExclusive ? ")" : "]"}`;
  }
  if (min > -Infinity) return `${kind} ${minExclusive ? ">" : ">="} ${min}`;
  if (max < Infinity) return `${kind} ${maxExclusive ? "<" : "<="} ${max}`;
  return kind;
}

/** A number in a range; every way of missing it (not a number included) is the same message naming the range. */
export function number(rule: NumberRule = {}) {
  const error = `must be ${describeRange(rule)}${rule.hint ? ` (${rule.hint})` : ""}`;
  let schema = z.number({ error });
  if (rule.integer) schema = schema.int({ error });
  if (rule.min !== undefined) schema = rule.minExclusive ? schema.gt(rule.min, { error }) : schema.gte(rule.min, { error });
  if (rule.max !== undefined) schema = rule.maxExclusive ? schema.lt(rule.max, { error }) : schema.lte(rule.max, { error });
  return schema;
}

/** Seconds that become a timer's delay: at most TIMER_MAX_MS. */
export function seconds(min = 0) {
  return number({ min, max: Math.floor(TIMER_MAX_MS / 1000), hint: "the longest timer is ~24 days" });
}

/** A non-empty string; `required` says what it should hold when it is missing. */
export function text(required?: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? `is required${required ? ` (${required})` : ""}` : "must be a string") })
    .min(1, { error: "must not be empty" });
}

export const flag = () => z.boolean({ error: "must be true or false" });

/** A list of non-empty strings. */
export const names = () => z.array(text(), { error: "must be a list of strings" });

/** An http(s) base URL, such as `example`. */
export function httpUrl(example: string) {
  return text().refine((url) => /^https?:\/\/[^/]/.test(url) && URL.canParse(url), { error: `must be an http(s) base URL such as ${example}` });
}

/** A URL with its password hidden, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, "$1***@");
}

/** A service URL of one of the given schemes that parses and names a host (`postgres://…`, `redis://…`); never repeats its password. */
export function serviceUrl(schemes: RegExp, example: string) {
  return text().superRefine((url, ctx) => {
    const shown = JSON.stringify(redactUrl(url));
    if (!schemes.test(url)) return ctx.addIssue({ code: "custom", message: `must be a URL such as ${example}, got ${shown}` });
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return ctx.addIssue({ code: "custom", message: `${shown} is not a valid URL: expected e.g. ${example}` });
    }
    if (parsed.hostname === "" && !parsed.searchParams.has("host"))
      ctx.addIssue({ code: "custom", message: `${shown} names no host: expected e.g. ${example}` });
  });
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

/** An address to listen on: an IP address (IPv6 with or without brackets) or a host name. */
export function listenHost() {
  const example = "127.0.0.1 (this machine only) or 0.0.0.0 (every interface)";
  return text().superRefine((host, ctx) => {
    if (isIP(host.replace(/^\[(.*)\]$/, "$1")) !== 0) return;
    const shown = JSON.stringify(host);
    if (/^[\d.]+$/.test(host)) ctx.addIssue({ code: "custom", message: `${shown} is not a valid IPv4 address: use e.g. ${example}` });
    else if (!HOST_NAME.test(host)) ctx.addIssue({ code: "custom", message: `${shown} is not an IP address or host name: use e.g. ${example}` });
  });
}

/** A regular expression (compiled as the moderator will: case-insensitive, Unicode). */
export function regex() {
  return z.string({ error: "must be a string" }).superRefine((pattern, ctx) => {
    try {
      new RegExp(pattern, "iu");
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(pattern)} is not a valid regular expression: ${(error as Error).message}` });
    }
  });
}
