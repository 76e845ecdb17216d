/** Where the CLI's status lines go: stderr, each prefixed with `openscope:` (the access log is stdout's). */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export const consoleLogger: Logger = {
  info: (message) => console.error(`openscope: ${message}`),
  warn: (message) => console.error(`openscope: WARNING: ${message}`),
};
