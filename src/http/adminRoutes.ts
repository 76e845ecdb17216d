import type { FastifyInstance, FastifyRequest } from "fastify";
import { errors, invalidParameter } from "../core/index.ts";
import { parseKeySpec, parsePastTime, publicKeyView, type Gateway, type KeyService } from "../gateway/index.ts";
import { queryOf } from "./requestValues.ts";

export const ADMIN_PATHS = {
  keys: "/admin/v1/keys",
  key: "/admin/v1/keys/:id",
  usage: "/admin/v1/usage",
} as const;

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
    const created = await keys().create(parseKeySpec(asObject(request.body)));
    return reply.code(201).send({ key: publicKeyView(created.record), secret: created.secret, request_id: request.id });
  });

  app.get(ADMIN_PATHS.keys, { onRequest: admin }, async (request) => {
    const list = await keys().list();
    return { keys: list.map(publicKeyView), request_id: request.id };
  });

  app.delete(ADMIN_PATHS.key, { onRequest: admin }, async (request) => {
    const { id } = request.params as { id: string };
    const revoked = await keys().revoke(id);
    if (!revoked) throw errors.apiKeyNotFound(id);
    return { key: publicKeyView(revoked), request_id: request.id };
  });

  app.get(ADMIN_PATHS.usage, { onRequest: admin }, async (request) => {
    const ledger = gateway.ledger;
    if (!ledger) throw errors.serviceUnavailable("The usage ledger is off on this server.");
    const query = queryOf(request);
    await ledger.flush();
    const totals = await ledger.store.usageTotals({
      ...(query.since ? { since: parsePastTime(query.since, Date.now(), "since") } : {}),
      ...(query.until ? { until: parsePastTime(query.until, Date.now(), "until") } : {}),
      ...(query.key ? { keyId: query.key } : {}),
      ...(query.model ? { model: query.model } : {}),
    });
    return { totals, request_id: request.id };
  });
}
