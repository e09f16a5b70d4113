/** Types for `parse-prometheus-text-format` (CommonJS, no types of its own): what the tests read. */
declare module "parse-prometheus-text-format" {
  export interface ParsedSample {
    labels?: Record<string, string>;
    /** Counters, gauges, untyped samples. */
    value?: string;
    /** Histograms: cumulative count per upper bound (`"0.005"`, `"+Inf"`). */
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  export interface ParsedFamily {
    name: string;
    help: string;
    type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
    metrics: ParsedSample[];
  }
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}
