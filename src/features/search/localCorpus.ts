import Database from "better-sqlite3";
import { readdirSync, readFileSync } from "node:fs";
import { basename, extname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { SearchHit, SearchProvider } from "./provider.ts";

/** File kinds `indexFolder` reads. */
const TEXT_EXTENSIONS = new Set([".txt", ".md", ".markdown"]);
const HTML_EXTENSIONS = new Set([".html", ".htm"]);

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

/**
 * HTML to plain text for indexing only (no HTML library is installed): scripts, styles and tags
 * dropped, the common entities decoded, whitespace collapsed.
 */
export function htmlToText(html: string): { title: string; text: string } {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1] ?? "";
  const text = html
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/<(script|style|noscript|template|head|title)\b[\s\S]*?<\/\1\s*>/gi, " ")
    .replace(/<\/?(p|div|br|li|h[1-6]|tr|section|article)\b[^>]*>/gi, "\n")
    .replace(/<[^>]*>/g, " ");
  const decode = (s: string) =>
    s
      .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
      .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
      .replace(/&([a-z]+);/gi, (m, name: string) => ENTITIES[name.toLowerCase()] ?? m);
  return {
    title: decode(title).replace(/\s+/g, " ").trim(),
    text: decode(text)
      .replace(/[ \t\r\f\v]+/g, " ")
      .replace(/\s*\n\s*/g, "\n")
      .trim(),
  };
}

/**
 * An FTS5 MATCH expression for free text: each word (letters, digits) quoted as a string, so no
 * user input is read as FTS5 syntax (operators, column filters, `*`, `^`, parentheses), joined
 * with OR; bm25 ranks documents matching more (and rarer) words first. Empty when no words.
 */
export function ftsQuery(text: string, maxTerms = 32): string {
  const words = text.normalize("NFKC").match(/[\p{L}\p{N}_]+/gu) ?? [];
  const unique = [...new Set(words.map((w) => w.toLowerCase()))].slice(0, maxTerms);
  return unique.map((w) => `"${w.replaceAll('"', '""')}"`).join(" OR ");
}

/**
 * Search over local documents (SQLite FTS5, bm25 ranking): works offline with no setup. Documents
 * come from a folder (`indexFolder`) or one by one (`addDocument`, e.g. uploaded files).
 * Words are split by FTS5's unicode61 tokenizer (CJK text without spaces forms long tokens, so
 * Chinese queries match whole phrases only).
 */
export class LocalCorpusProvider implements SearchProvider {
  readonly name = "local";
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #query: Database.Statement;

  private constructor(db: Database.Database) {
    this.#db = db;
    db.exec(
      `CREATE VIRTUAL TABLE IF NOT EXISTS documents USING fts5(doc_id UNINDEXED, title, url UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2')`,
    );
    this.#insert = db.prepare("INSERT INTO documents (doc_id, title, url, body) VALUES (?, ?, ?, ?)");
    this.#delete = db.prepare("DELETE FROM documents WHERE doc_id = ?");
    this.#query = db.prepare(
      `SELECT title, url, snippet(documents, 3, '', '', '…', 48) AS snippet
         FROM documents WHERE documents MATCH ? ORDER BY bm25(documents, 0.0, 5.0, 0.0, 1.0) LIMIT ?`,
    );
  }

  /** Opens (creating when missing) the index at `dbPath`; ":memory:" for a throwaway one. */
  static open(dbPath: string): LocalCorpusProvider {
    return new LocalCorpusProvider(new Database(dbPath));
  }

  /** Adds a document, replacing any earlier one with the same id. */
  addDocument(id: string, title: string, url: string, text: string): void {
    this.#db.transaction(() => {
      this.#delete.run(id);
      this.#insert.run(id, title, url, text);
    })();
  }

  removeDocument(id: string): void {
    this.#delete.run(id);
  }

  /** How many documents the index holds. */
  get size(): number {
    return (this.#db.prepare("SELECT count(*) AS n FROM documents").get() as { n: number }).n;
  }

  /**
   * Indexes every .txt, .md and .html file under `dir` (recursively; hidden entries skipped), each
   * under its path relative to `dir` with a file:// URL. Returns how many files it indexed.
   */
  indexFolder(dir: string): number {
    const root = resolve(dir);
    const files: string[] = [];
    const walk = (folder: string) => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        if (entry.name.startsWith(".")) continue;
        const path = join(folder, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.isFile()) {
          const ext = extname(entry.name).toLowerCase();
          if (TEXT_EXTENSIONS.has(ext) || HTML_EXTENSIONS.has(ext)) files.push(path);
        }
      }
    };
    walk(root);
    this.#db.transaction(() => {
      for (const path of files) {
        const raw = readFileSync(path, "utf8").replace(/^\uFEFF/, "");
        const ext = extname(path).toLowerCase();
        let title = "";
        let text = raw;
        if (HTML_EXTENSIONS.has(ext)) ({ title, text } = htmlToText(raw));
        else if (ext !== ".txt") title = /^#\s+(.+)$/m.exec(raw)?.[1]?.trim() ?? "";
        title ||= basename(path, ext);
        this.addDocument(relative(root, path).split(sep).join("/"), title, pathToFileURL(path).href, text);
      }
    })();
    return files.length;
  }

  async search(query: string, options: { count: number; signal: AbortSignal }): Promise<SearchHit[]> {
    options.signal.throwIfAborted();
    const match = ftsQuery(query);
    if (!match || options.count < 1) return [];
    const rows = this.#query.all(match, options.count) as { title: string; url: string; snippet: string }[];
    return rows.map((row) => ({ title: row.title, url: row.url, snippet: row.snippet.replace(/\s+/g, " ").trim(), siteName: "local", icon: "" }));
  }

  close(): void {
    this.#db.close();
  }
}
