import type { FastifyReply, FastifyRequest } from "fastify";
import { runGeneration, type GenerationFlow, type StartedGeneration, type Stage, type GenerationRequest } from "../core/index.ts";
import { INSPECTION_HEADER } from "../features/index.ts";
import type { GenerationDeps } from "./generationDeps.ts";
import { documentsStage, inspectionStage, mediaStage, searchStage } from "./generationStages.ts";
import { requestSignal } from "./requestSignal.ts";
import { headerValue } from "./requestValues.ts";

/**
 * The flow of one generation request: its model checked against the caller's key, the server's
 * stages (documents, media, DataInspection, web search), the features' and the dialect's, and the
 * caller's limits and account.
 */
function generationFlow(deps: GenerationDeps, request: FastifyRequest, dialect: Stage): GenerationFlow {
  const account = request.account!;
  const ossResolve = headerValue(request, "x-dashscope-ossresourceresolve")?.toLowerCase() === "enable";
  const stages: Stage[] = [
    ...(deps.files ? [documentsStage(deps.files, account.caller)] : []),
    mediaStage(deps.media, ossResolve),
    inspectionStage(deps.inspection, headerValue(request, INSPECTION_HEADER)),
    ...(deps.search ? [searchStage(deps.search)] : []),
    ...deps.stages,
    dialect,
  ];
  return {
    route: (model) => {
      const route = deps.registry.resolve(model);
      deps.gateway.authorizeModel(account, route, model);
      return route;
    },
    services: { search: deps.search !== undefined },
    stages,
    admission: { admitRequest: (route) => deps.gateway.admitRequest(account, route) },
    account: (events) => account.observe(events),
  };
}

/**
 * A dialect's part in validation: the form of its answer for the validated request (which the
 * dialect may refuse with a 400, before any charge, like the real server).
 */
export interface DialectAnswer<Answer> {
  name: string;
  answer(request: GenerationRequest): Answer;
}

/**
 * Runs a decoded request through the pipeline (core/pipeline.ts) under one cancellation signal
 * (client gone, timeout, shutdown). The caller encodes the events in its answer's form, then
 * disposes of the signal.
 */
export async function startGeneration<Answer>(
  deps: GenerationDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  decoded: GenerationRequest,
  dialect: DialectAnswer<Answer>,
): Promise<StartedGeneration & { answer: Answer; dispose: () => void }> {
  let answer: { form: Answer } | undefined;
  const dialectStage: Stage = {
    name: dialect.name,
    validate: (generation) => {
      answer = { form: dialect.answer(generation) };
      return generation;
    },
  };
  const { signal, dispose } = requestSignal(request, reply, deps.requestTimeoutMs, deps.shutdownSignal);
  try {
    const started = await runGeneration(decoded, generationFlow(deps, request, dialectStage), { signal, trace: request.account!.trace });
    // The pipeline validated the request, so the dialect stage has run.
    return { ...started, answer: answer!.form, dispose };
  } catch (error) {
    dispose();
    throw error;
  }
}
