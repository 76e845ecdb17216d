/**
 * Whether a DashScope model name thinks when the request leaves `enable_thinking` out, as the API
 * reference lists it: Qwen3 open-source hybrids (qwen3-8b, qwen3-235b-a22b, ...) and thinking-only
 * models (QwQ, QVQ, `*-thinking*`) do; commercial hybrids (qwen-plus, qwen-turbo, qwen-flash,
 * qwen3-max) and instruct/coder models do not. A model's `enable_thinking` setting overrides this.
 */
export function thinksByDefault(modelName: string): boolean {
  const name = modelName.toLowerCase();
  if (/instruct|coder/.test(name)) return false;
  if (/thinking|^qwq|^qvq/.test(name)) return true;
  return /^qwen3-\d+(\.\d+)?b/.test(name);
}
