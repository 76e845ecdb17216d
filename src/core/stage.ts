import type { Capabilities, EngineEvent, GenerationRequest, GenerationTrace, ModelRoute } from "./types.ts";

/** Runs one generation: the backend's `generate`, or that wrapped by the transform stages after it. */
export type Generate = (request: GenerationRequest, signal: AbortSignal) => AsyncIterable<EngineEvent>;

/** Capabilities a stage can stand in for (`Capabilities` fields that are a Provision). */
export type StandInCapability = "tools" | "structuredOutput";

/** What prepare and transform steps know about the generation they work on. */
export interface StageContext {
  route: ModelRoute;
  /** The request's cancellation (client gone, timeout, shutdown). */
  signal: AbortSignal;
  /** What the backend tells the gateway while it runs (the replica that answered). */
  trace: GenerationTrace;
}

/**
 * One feature's part in a generation, in any of the pipeline's steps. The pipeline runs each step
 * over the stages in their order: `validate` (pure: no I/O, every 400 the feature can raise without
 * fetching anything), then — after cheap admission — `prepare` (may download, decode, read files or
 * call a model), then `transform`, which wraps what generates: the first stage's transform is the
 * outermost, so it sees the request first and the events last.
 */
export interface Stage {
  /** For logs and tests. */
  readonly name: string;
  /** The capability this stage stands in for: it runs only where the routed backend lacks it natively. */
  readonly standsInFor?: StandInCapability;
  validate?(request: GenerationRequest, route: ModelRoute): GenerationRequest;
  prepare?(request: GenerationRequest, context: StageContext): Promise<GenerationRequest>;
  transform?(generate: Generate, context: StageContext): Generate;
}

/** Whether a stage runs for a backend: always, unless it stands in for something the backend does natively. */
export function stageRunsFor(stage: Stage, capabilities: Capabilities): boolean {
  return stage.standsInFor === undefined || capabilities[stage.standsInFor] !== "native";
}
