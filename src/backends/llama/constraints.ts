import type { LlamaGrammar, LlamaModel, Token } from "node-llama-cpp";
import type { GenerationRequest, ToolDefinition } from "../../core/index.ts";
import { answerSchema, gbnfLiteral, TOOL_CALL_CLOSE, TOOL_CALL_OPEN, toolCallSchema } from "../../features/index.ts";
import type { TemplateFeatures } from "./chatTemplate.ts";
import type { GrammarCompiler } from "./grammar.ts";

/** What the sampler is held to while a choice generates. */
export interface Constraints {
  /** Active from the first answer token (after the thought, if any): forced tool call, response_format. */
  answerGrammar?: LlamaGrammar;
  /** Activated right after the model emits the tool-call opening token (tool_choice auto). */
  toolGrammar?: LlamaGrammar;
  /** The single token of `<tool_call>`, where the vocabulary has one. */
  toolOpenToken?: Token;
  /** Tokens the model may not produce (tool_choice none blocks the tool-call opening). */
  blockedTokens: Token[];
  /** Parse tool calls out of the answer. */
  parseToolCalls: boolean;
  /** At most one call (parallel_tool_calls false, the reference's default). */
  singleToolCall: boolean;
}

function singleToken(model: LlamaModel, text: string): Token | undefined {
  const tokens = model.tokenize(text, true);
  return tokens.length === 1 ? tokens[0] : undefined;
}

/**
 * `<tool_call>` tool-call JSON `</tool_call>`, then (parallel) more calls of any tool. `opened`:
 * the model has already emitted the opening token, so the rule starts at the newline after it.
 */
function callRules(name: string, callRoot: string, parallel: boolean, anyCallRoot: string, opened: boolean): string {
  const open = gbnfLiteral(opened ? "\n" : `${TOOL_CALL_OPEN}\n`);
  const close = gbnfLiteral(`\n${TOOL_CALL_CLOSE}`);
  const more = parallel ? ` ( ${gbnfLiteral(`\n${TOOL_CALL_OPEN}\n`)} ${anyCallRoot} ${close} )*` : "";
  return `${name} ::= ${open} ${callRoot} ${close}${more}`;
}

/**
 * Grammars for a request (DESIGN: the engine owns grammar for response_format and tool calls):
 * - tool_choice {function}: the answer is a call of that function;
 * - tool_choice auto: once the model opens a call, the rest of it must name a known tool with
 *   arguments that fit its schema (hermes templates; XML-format templates are parsed only);
 * - response_format: the answer is JSON of the schema (or, with tools on auto, tool calls).
 */
export async function planConstraints(
  compiler: GrammarCompiler,
  model: LlamaModel,
  request: GenerationRequest,
  template: TemplateFeatures,
): Promise<Constraints> {
  const { tools, toolChoice, parallelToolCalls, responseFormat, thinking } = request.features;
  const choice = toolChoice?.type ?? "auto";
  const parallel = parallelToolCalls === true;
  const toolOpenToken = singleToken(model, TOOL_CALL_OPEN);
  const constraints: Constraints = {
    blockedTokens: [],
    parseToolCalls: tools !== undefined && choice !== "none",
    singleToolCall: !parallel,
  };
  if (toolOpenToken !== undefined) constraints.toolOpenToken = toolOpenToken;
  const lead = thinking?.enabled ? "[\\n]{0,2} " : "";
  const rules: string[] = [];
  const addCalls = (callable: readonly ToolDefinition[], opened = false) => {
    rules.push(compiler.jsonRules(toolCallSchema(callable), "call-"));
    if (callable.length < tools!.length) rules.push(compiler.jsonRules(toolCallSchema(tools!), "anycall-"));
    rules.push(callRules("calls", "call-root", parallel, callable.length < tools!.length ? "anycall-root" : "call-root", opened));
  };

  if (tools && choice === "none") {
    if (toolOpenToken !== undefined) constraints.blockedTokens.push(toolOpenToken);
  } else if (tools && (toolChoice?.type === "function" || toolChoice?.type === "required")) {
    addCalls(toolChoice.type === "function" ? tools.filter((t) => t.name === toolChoice.name) : tools);
    constraints.answerGrammar = await compiler.compile([`root ::= ${lead}calls`, ...rules].join("\n"));
    return constraints;
  }
  const autoTools = tools !== undefined && choice === "auto" && !template.xmlToolCalls;
  if (responseFormat) {
    rules.push(compiler.jsonRules(answerSchema(responseFormat), "answer-"));
    if (autoTools) addCalls(tools);
    const root = autoTools ? `root ::= ${lead}( answer-root | calls )` : `root ::= ${lead}answer-root`;
    constraints.answerGrammar = await compiler.compile([root, ...rules].join("\n"));
  } else if (autoTools && toolOpenToken !== undefined) {
    // Activated once the model has emitted the opening token: the grammar takes over from the newline after it.
    addCalls(tools, true);
    constraints.toolGrammar = await compiler.compile(["root ::= calls", ...rules].join("\n"));
  }
  return constraints;
}
