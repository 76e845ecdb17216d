import { errors, type ModelRoute } from "../core/index.ts";

export interface ModelListing {
  name: string;
  aliases: string[];
  ready: boolean;
  /** Why the model failed to load (it never will: the server is going down). */
  error?: string;
}

/**
 * Model names and aliases -> routes. Models are announced when configured and attached when
 * loaded, so a request for a model that is still loading gets a clear 503, not "Model not exist".
 */
export class ModelRegistry {
  readonly #routes = new Map<string, ModelRoute>();
  readonly #names = new Map<string, string>();
  readonly #listings = new Map<string, ModelListing>();

  announce(name: string, aliases: readonly string[]): void {
    this.#listings.set(name, { name, aliases: [...aliases], ready: false });
    for (const alias of [name, ...aliases]) this.#names.set(alias, name);
  }

  attach(route: ModelRoute): void {
    const listing = this.#listings.get(route.name);
    if (!listing) throw new Error(`model ${route.name} was not announced`);
    listing.ready = true;
    this.#routes.set(route.name, route);
  }

  /** Marks a model that could not be loaded, with the reason (for /health and requests meanwhile). */
  fail(name: string, reason: string): void {
    const listing = this.#listings.get(name);
    if (!listing) throw new Error(`model ${name} was not announced`);
    listing.error = reason;
  }

  resolve(requested: string): ModelRoute {
    const name = this.#names.get(requested);
    if (name === undefined) throw errors.modelNotFound();
    const route = this.#routes.get(name);
    if (!route) {
      const error = this.#listings.get(name)?.error;
      if (error !== undefined) throw errors.modelUnavailable(`Model "${requested}" failed to load: ${error}`);
      throw errors.modelUnavailable(`Model "${requested}" is still loading, please try again shortly.`);
    }
    return route;
  }

  /** Models that failed to load. */
  get failed(): ModelListing[] {
    return [...this.#listings.values()].filter((m) => m.error !== undefined);
  }

  list(): ModelListing[] {
    return [...this.#listings.values()];
  }

  get ready(): boolean {
    return this.#listings.size > 0 && [...this.#listings.values()].every((m) => m.ready);
  }

  routes(): ModelRoute[] {
    return [...this.#routes.values()];
  }
}
