export { Metrics } from "./metrics.ts";
export { accessLogger, type AccessLogEntry, type LineLogger } from "./accessLog.ts";
