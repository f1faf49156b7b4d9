import * as hdr from "hdr-histogram-js";

/** Percentiles of one merged HDR histogram (recorded in microseconds), in milliseconds. */
export interface Latency {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Merges the compressed histograms several agent runs sent back. */
export function mergeHistograms(encoded: string[]): hdr.Histogram {
  const total = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  for (const one of encoded) total.add(hdr.decodeFromCompressedBase64(one));
  return total;
}

export function latencyOf(encoded: string[]): Latency {
  const h = mergeHistograms(encoded);
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
  };
}

export function ratio(value: number, baseline: number): number | null {
  return baseline > 0 ? Math.round((value / baseline) * 100) / 100 : null;
}

/** "+7%" / "-3%" for a ratio. */
export function percentChange(r: number | null): string {
  if (r === null) return "n/a";
  const p = Math.round((r - 1) * 100);
  return `${p >= 0 ? "+" : ""}${p}%`;
}
