import { errors, invalidParameter } from "../../core/index.ts";

/** Which sides of a conversation a request asks to have inspected (`X-DashScope-DataInspection`). */
export interface InspectionRequest {
  input: boolean;
  output: boolean;
}

export const INSPECTION_HEADER = "x-dashscope-datainspection";

const HEADER_MESSAGE = 'X-DashScope-DataInspection must be "enable", "disable" or JSON like {"input":"cip","output":"cip"}.';

/**
 * Reads the header: `enable` (what the Python SDK sends) inspects both sides; the documented JSON
 * form names each side (`"cip"` on, anything else or absent off); `disable` or no header, none.
 */
export function parseInspectionHeader(value: string | undefined): InspectionRequest {
  const text = value?.trim() ?? "";
  if (text === "" || text.toLowerCase() === "disable" || text.toLowerCase() === "false") return { input: false, output: false };
  if (text.toLowerCase() === "enable" || text.toLowerCase() === "true") return { input: true, output: true };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidParameter(HEADER_MESSAGE);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw invalidParameter(HEADER_MESSAGE);
  const sides = parsed as Record<string, unknown>;
  return { input: sides.input === "cip", output: sides.output === "cip" };
}

/** The real server's refusals (status-code reference). */
export const inspectionFailed = {
  input: () => errors.dataInspectionFailed("input"),
  output: () => errors.dataInspectionFailed("output"),
} as const;
