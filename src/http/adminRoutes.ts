import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError, errors, invalidParameter, jsonPreview } from "../core/errors.ts";
import { parseKeySpec, parsePastTime, publicKeyView, type Gateway, type KeyService, type NewKey } from "../gateway/index.ts";
import { queryOf } from "./requestValues.ts";

export const ADMIN_PATHS = {
  keys: "/admin/v1/keys",
  key: "/admin/v1/keys/:id",
  usage: "/admin/v1/usage",
} as const;

/** The largest time a JS Date holds (epoch ms). */
const MAX_TIME_MS = 8.64e15;

/**
 * A `since`/`until` bound of the usage query as epoch ms. parsePastTime reads the forms; a value
 * it reads as no representable time (an epoch of 400 digits, a duration of 10^20 days) is the
 * client's mistake, refused here before it reaches the store (which would fail on it).
 */
function usageTime(name: string, value: string): number {
  const time = parsePastTime(value);
  if (!Number.isSafeInteger(time) || Math.abs(time) > MAX_TIME_MS) {
    throw invalidParameter(`${name} is not a time this server can represent: ${jsonPreview(value)} (use a duration back from now like 24h or 7d, an ISO date, or epoch milliseconds).`);
  }
  return time;
}

/** The largest rpm and concurrency (INTEGER columns of the PostgreSQL store) and tpm (BIGINT, as far as a JS number is exact). */
const INT4_MAX = 2 ** 31 - 1;

/**
 * A key spec as parseKeySpec reads it, checked against what the stores can hold: parseKeySpec
 * takes any integer, and 1e21 (an integer to JS) reached SQLite as a REAL it refused (a 500).
 */
function storableKeySpec(spec: Record<string, unknown>): NewKey {
  const key = parseKeySpec(spec);
  for (const [name, value, max] of [["rpm", key.rpm, INT4_MAX], ["concurrency", key.concurrency, INT4_MAX], ["tpm", key.tpm, Number.MAX_SAFE_INTEGER]] as const) {
    if (value !== null && value !== undefined && (!Number.isSafeInteger(value) || value > max)) {
      throw invalidParameter(`${name} must be a positive integer of at most ${max}, got ${jsonPreview(spec[name])}`);
    }
  }
  if (key.expiresAt !== null && key.expiresAt !== undefined && (!Number.isSafeInteger(key.expiresAt) || key.expiresAt > MAX_TIME_MS)) {
    throw invalidParameter(`expires is not a time this server can represent: ${jsonPreview(spec.expires ?? spec.expires_at)}`);
  }
  return key;
}

function asObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw invalidParameter("The request body must be a JSON object.");
  return body as Record<string, unknown>;
}

/**
 * The admin API (Bearer admin key): create, list and revoke managed keys, and read usage
 * totals — what `openscope keys …` and `openscope usage` do, over HTTP. Off (403) without an
 * admin key; answers DashScope-shaped errors like every other route.
 */
export function registerAdminRoutes(app: FastifyInstance, gateway: Gateway): void {
  const admin = async (request: FastifyRequest) => {
    if (!gateway.auth.hasAdminKey) throw errors.accessDenied("The admin API is off: set admin_key in the config or OPENSCOPE_ADMIN_KEY.");
    gateway.auth.authenticateAdmin(request.headers.authorization);
  };
  const keys = (): KeyService => {
    if (!gateway.keys) throw errors.serviceUnavailable("Managed keys need the store, which is not configured on this server.");
    return gateway.keys;
  };

  app.post(ADMIN_PATHS.keys, { onRequest: admin }, async (request, reply) => {
    const created = await keys().create(storableKeySpec(asObject(request.body)));
    return reply.code(201).send({ key: publicKeyView(created.record), secret: created.secret, request_id: request.id });
  });

  app.get(ADMIN_PATHS.keys, { onRequest: admin }, async (request) => {
    const list = await keys().list();
    return { keys: list.map(publicKeyView), request_id: request.id };
  });

  app.delete(ADMIN_PATHS.key, { onRequest: admin }, async (request) => {
    const { id } = request.params as { id: string };
    const revoked = await keys().revoke(id);
    if (!revoked) throw new ApiError(404, "NotFound", `No API key with id or prefix ${jsonPreview(id)}.`);
    return { key: publicKeyView(revoked), request_id: request.id };
  });

  app.get(ADMIN_PATHS.usage, { onRequest: admin }, async (request) => {
    const ledger = gateway.ledger;
    if (!ledger) throw errors.serviceUnavailable("The usage ledger is off on this server.");
    const query = queryOf(request);
    await ledger.flush();
    const totals = await ledger.store.usageTotals({
      ...(query.since ? { since: usageTime("since", query.since) } : {}),
      ...(query.until ? { until: usageTime("until", query.until) } : {}),
      ...(query.key ? { keyId: query.key } : {}),
      ...(query.model ? { model: query.model } : {}),
    });
    return { totals, request_id: request.id };
  });
}
