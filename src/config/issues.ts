/** The schema's findings as lines: `<setting as given>: <problem>`, one per problem. */
import type { z } from "zod";

/** How the lines name settings and quote values. */
export interface IssueContext {
  /** Put before every path (`models[0]` for one model checked alone); empty for the whole file. */
  prefix?: string;
  /** The path of a setting a flag or variable gave → that flag's or variable's name. */
  origins?: ReadonlyMap<string, string>;
  /** The text a flag or variable gave, as written. */
  given?: ReadonlyMap<string, string>;
  /** The checked document, to quote what a file gave. */
  document?: unknown;
}

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** `models[0].timeouts.idle_s` */
function formatPath(path: Path, prefix = ""): string {
  let text = prefix;
  for (const part of path) text += typeof part === "number" ? `[${part}]` : `${text === "" ? "" : "."}${String(part)}`;
  return text;
}

/** Messages for what the schema's own rules do not word (a string where a list belongs, a value outside a list of choices). */
export const issueMessages: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type": {
      if (issue.input === undefined) return "is required";
      const words: Record<string, string> = { string: "a string", number: "a number", boolean: "true or false", array: "a list", object: "a mapping" };
      return `must be ${words[issue.expected] ?? issue.expected}`;
    }
    case "invalid_value":
      return `must be ${issue.values
        .map((value) => String(value))
        .join(", ")
        .replace(/, ([^,]*)$/, " or $1")}`;
    case "too_small":
      return issue.origin === "array" ? `must list at least ${issue.minimum}` : undefined;
    default:
      return undefined;
  }
};

function valueAt(document: unknown, path: Path): unknown {
  let value = document;
  for (const part of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

/** A value to quote after a problem: never a secret (keys), at most a line's worth. */
function quoted(path: Path, context: IssueContext, where: string): string | undefined {
  if (path.some((part) => typeof part === "string" && /key/.test(part))) return undefined;
  const text = context.given?.get(where);
  const value = text ?? valueAt(context.document, path);
  if (value === undefined) return undefined;
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/** Of a union's failed branches, the one that took the value's shape (the others failed on the value itself: its type, not a listed value). */
function closestBranch(issue: Extract<Issue, { code: "invalid_union" }>): Issue[] | undefined {
  const shaped = issue.errors.filter((branch) => branch.some((sub) => sub.path.length > 0 || sub.code === "unrecognized_keys" || sub.code === "custom"));
  return shaped.length === 1 ? shaped[0] : undefined;
}

function lines(issue: Issue, path: Path, context: IssueContext): string[] {
  const at = formatPath(path, context.prefix);
  if (issue.code === "unrecognized_keys") {
    const problems = issue.message.split("\n");
    return issue.keys.map((key, i) => `${formatPath([...path, key], context.prefix)}: ${problems[i] ?? "unknown key"}`);
  }
  if (issue.code === "invalid_union") {
    const branch = closestBranch(issue);
    if (branch) return branch.flatMap((sub) => lines(sub, [...path, ...sub.path], context));
  }
  const where = context.origins?.get(at) ?? at;
  const value = issue.code === "custom" ? undefined : quoted(path, context, at);
  return [`${where}: ${issue.message}${value !== undefined ? `, got ${value}` : ""}`];
}

/** One line per problem, each naming the setting as it was given. */
export function describeIssues(issues: readonly Issue[], context: IssueContext = {}): string[] {
  return issues.flatMap((issue) => lines(issue, issue.path, context));
}
