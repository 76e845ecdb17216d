import { resolveRequest, type ServerServices } from "./requestResolution.ts";
import { stageRunsFor, type Generate, type Stage, type StageContext } from "./stage.ts";
import type { EngineEvent, GenerationRequest, GenerationTrace, ModelRoute } from "./types.ts";

/** Charges the prepared request's tokens (TPM); throws when over the limit. */
export type TokenAdmission = (request: GenerationRequest) => Promise<void>;

/**
 * Per-key limits in two steps. Cheap admission counts the request (RPM) and holds its concurrency
 * lease before anything is downloaded or decoded; it returns the token admission, run once the
 * prepared request's input tokens are known. Both are settled with the real usage at the end.
 */
export interface Admission {
  admitRequest(route: ModelRoute): Promise<TokenAdmission>;
}

/**
 * Everything one generation goes through, handed to the pipeline by whoever assembles it (http/).
 * The caller is authenticated before this starts (before the body is even read).
 */
export interface GenerationFlow {
  /** The served model a request names, checked against the caller (unknown, not allowed, still loading). */
  route(model: string): ModelRoute;
  /** What the server adds to every backend (a web-search provider). */
  services: ServerServices;
  /** Feature and dialect stages, in order; those standing in for what the routed backend does natively are skipped. */
  stages: readonly Stage[];
  admission: Admission;
  /** Observes the events for the usage ledger and metrics. */
  account(events: AsyncIterable<EngineEvent>): AsyncIterable<EngineEvent>;
}

export interface StartedGeneration {
  route: ModelRoute;
  /** The request as the backend runs it (validated, defaults applied, prepared). */
  request: GenerationRequest;
  events: AsyncIterable<EngineEvent>;
}

/**
 * Runs a decoded request through the one flow: route → validate (capabilities, model defaults,
 * the stages' checks, the backend's own) → cheap admission (RPM, concurrency) → prepare →
 * token admission (TPM) → generate, wrapped by the transform stages → account. Every 400 that
 * needs no I/O is raised before anything is charged, and nothing is downloaded, decoded or asked
 * of a model before cheap admission. Encoding is left to the caller (the dialect).
 */
export async function runGeneration(
  decoded: GenerationRequest,
  flow: GenerationFlow,
  run: { signal: AbortSignal; trace: GenerationTrace },
): Promise<StartedGeneration> {
  const route = flow.route(decoded.model);
  const stages = flow.stages.filter((stage) => stageRunsFor(stage, route.backend.capabilities));

  let request = resolveRequest(decoded, route, flow.services);
  for (const stage of stages) if (stage.validate) request = stage.validate(request, route);
  route.backend.validate(request);

  const admitTokens = await flow.admission.admitRequest(route);

  const context: StageContext = { route, signal: run.signal, trace: run.trace };
  for (const stage of stages) if (stage.prepare) request = await stage.prepare(request, context);

  await admitTokens(request);

  let generate: Generate = (req, signal) => route.backend.generate(req, signal, run.trace);
  for (const stage of [...stages].reverse()) if (stage.transform) generate = stage.transform(generate, context);
  return { route, request, events: flow.account(generate(request, run.signal)) };
}
