import { invalidParameter } from "../../core/index.ts";

/** Small typed readers for untrusted JSON; each failure is an InvalidParameter naming the field. */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

export function wrongType(field: string, expected: string, value: unknown): never {
  throw invalidParameter(`Parameter ${field} must be ${expected}, got ${typeName(value)}.`);
}

export function optionalBoolean(obj: JsonObject, key: string, field: string): boolean | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") wrongType(field, "a boolean", value);
  return value;
}

export function optionalString(obj: JsonObject, key: string, field: string): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") wrongType(field, "a string", value);
  return value;
}

export interface NumberRange {
  min?: number;
  max?: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
  integer?: boolean;
  /** The real server's wording for an out-of-range value, where known. */
  rangeMessage?: string;
  /** The real server's wording for a value of the wrong type, where known. */
  typeMessage?: string;
}

function describeRange(range: NumberRange): string {
  const lo = range.min === undefined ? "(-inf" : `${range.minExclusive ? "(" : "["}${range.min}`;
  const hi = range.max === undefined ? "+inf)" : `${range.max}${range.maxExclusive ? ")" : "]"}`;
  return `${lo}, ${hi}`;
}

export function inRange(value: number, range: NumberRange): boolean {
  if (range.min !== undefined && (range.minExclusive ? value <= range.min : value < range.min)) return false;
  if (range.max !== undefined && (range.maxExclusive ? value >= range.max : value > range.max)) return false;
  return true;
}

export function optionalNumber(obj: JsonObject, key: string, field: string, range: NumberRange): number | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  const isNumber = typeof value === "number" && Number.isFinite(value);
  if (!isNumber || (range.integer && !Number.isInteger(value))) {
    if (range.typeMessage) throw invalidParameter(range.typeMessage);
    wrongType(field, range.integer ? "an integer" : "a number", value);
  }
  if (!inRange(value, range)) throw invalidParameter(range.rangeMessage ?? `Range of ${field} should be ${describeRange(range)}`);
  return value;
}
