export { Metrics, type MetricSources } from "./metrics.ts";
export { accessLogger, type AccessLogEntry, type AccessLogOptions, type LineLogger } from "./accessLog.ts";
