import { errors } from "../core/errors.ts";
import type { ModelRoute } from "../core/types.ts";

export interface ModelListing {
  name: string;
  aliases: string[];
  ready: boolean;
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

  resolve(requested: string): ModelRoute {
    const name = this.#names.get(requested);
    if (name === undefined) throw errors.modelNotFound();
    const route = this.#routes.get(name);
    if (!route) throw errors.modelUnavailable(`Model "${requested}" is still loading, please try again shortly.`);
    return route;
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
