import { ConfigError, type GatewayConfig } from "../config/index.ts";
import { ApiError, RegisteredError, toApiError } from "../core/index.ts";
import { KeyService, parseKeySpec, parsePastTime } from "../gateway/index.ts";
import type { ApiKeyRecord, UsageTotals } from "../store/index.ts";
import { openConfiguredStore } from "./gatewaySetup.ts";

export interface KeyFlags {
  name?: string | undefined;
  models?: string | undefined;
  rpm?: string | undefined;
  tpm?: string | undefined;
  concurrency?: string | undefined;
  expires?: string | undefined;
  workspace?: string | undefined;
}

export interface UsageFlags {
  since?: string | undefined;
  until?: string | undefined;
  key?: string | undefined;
  model?: string | undefined;
}

const date = (ms: number | null): string => (ms === null ? "-" : new Date(ms).toISOString().replace(/\.\d+Z$/, "Z"));
const limit = (n: number | null): string => (n === null ? "-" : String(n));

function keyStatus(key: ApiKeyRecord, now: number): string {
  if (key.revokedAt !== null) return "revoked";
  if (key.expiresAt !== null && key.expiresAt <= now) return "expired";
  return "active";
}

/** Left-aligned columns, two spaces apart. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Input errors of these commands (a limit or time no store can hold included) read as configuration errors — one line, exit 2 — not stack traces. */
async function asCliErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiError || error instanceof RegisteredError) throw new ConfigError(toApiError(error).message);
    throw error;
  }
}

/** `openscope keys create|list|revoke`: works on the store directly (a running server sees the change within seconds). */
export async function keysCommand(config: GatewayConfig, action: string | undefined, args: string[], flags: KeyFlags): Promise<string> {
  const store = await openConfiguredStore(config);
  const keys = new KeyService(store);
  try {
    return await asCliErrors(async () => {
      switch (action) {
        case "create": {
          const created = await keys.create(parseKeySpec({ ...flags }));
          const r = created.record;
          return [
            `created key ${r.id} "${r.name}"`,
            `  models: ${r.models?.join(", ") ?? "all"}; rpm ${limit(r.rpm)}, tpm ${limit(r.tpm)}, concurrency ${limit(r.concurrency)}; workspace ${r.workspace ?? "-"}; expires ${date(r.expiresAt)}`,
            `secret (shown once, store it now):`,
            created.secret,
          ].join("\n");
        }
        case "list": {
          const now = Date.now();
          const rows = (await keys.list()).map((k) => [
            k.id,
            k.name,
            `${k.prefix}…`,
            keyStatus(k, now),
            k.models?.join(",") ?? "all",
            limit(k.rpm),
            limit(k.tpm),
            limit(k.concurrency),
            k.workspace ?? "-",
            date(k.createdAt),
            date(k.expiresAt),
          ]);
          if (rows.length === 0) return "no keys";
          return table([["ID", "NAME", "PREFIX", "STATUS", "MODELS", "RPM", "TPM", "CONC", "WORKSPACE", "CREATED", "EXPIRES"], ...rows]);
        }
        case "revoke": {
          const target = args[0];
          if (!target) throw new ConfigError("keys revoke needs a key id or prefix (see openscope keys list)");
          const revoked = await keys.revoke(target);
          if (!revoked) throw new ConfigError(`no key with id or prefix "${target}"`);
          return `revoked ${revoked.id} "${revoked.name}" at ${date(revoked.revokedAt)}`;
        }
        default:
          throw new ConfigError(`keys needs create, list or revoke, got ${JSON.stringify(action ?? "")}`);
      }
    });
  } finally {
    await store.close();
  }
}

function totalsRows(totals: UsageTotals[]): string[][] {
  return totals.map((t) => [
    t.keyId ?? "(no key)",
    t.model || "(none)",
    String(t.requests),
    String(t.errors),
    String(t.inputTokens),
    String(t.outputTokens),
    String(t.reasoningTokens),
    String(t.cachedTokens),
  ]);
}

/** `openscope usage --since --until --key --model`: totals per key and model from the ledger. */
export async function usageCommand(config: GatewayConfig, flags: UsageFlags): Promise<string> {
  const store = await openConfiguredStore(config);
  try {
    return await asCliErrors(async () => {
      const filter = {
        ...(flags.since ? { since: parsePastTime(flags.since, Date.now(), "--since") } : {}),
        ...(flags.until ? { until: parsePastTime(flags.until, Date.now(), "--until") } : {}),
        ...(flags.key ? { keyId: flags.key } : {}),
        ...(flags.model ? { model: flags.model } : {}),
      };
      const totals = await store.usageTotals(filter);
      if (totals.length === 0) return "no usage recorded for that selection";
      const sum = (pick: (t: UsageTotals) => number) => String(totals.reduce((s, t) => s + pick(t), 0));
      const all = [
        "TOTAL",
        "",
        sum((t) => t.requests),
        sum((t) => t.errors),
        sum((t) => t.inputTokens),
        sum((t) => t.outputTokens),
        sum((t) => t.reasoningTokens),
        sum((t) => t.cachedTokens),
      ];
      return table([["KEY", "MODEL", "REQUESTS", "ERRORS", "INPUT", "OUTPUT", "REASONING", "CACHED"], ...totalsRows(totals), all]);
    });
  } finally {
    await store.close();
  }
}
