import * as hdr from "hdr-histogram-js";
import type JsHistogram from "hdr-histogram-js/dist/JsHistogram";

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

/**
 * 95% interval of the p99 ratio entry/direct, by a paired bootstrap over the interleaved slices:
 * each resample draws slice indices with replacement and takes both targets' events of those
 * slices, so a slow moment of the machine weighs on both sides alike. A ratio whose interval
 * straddles a target cannot be called met or missed from this run. Seeded: the same histograms
 * give the same interval.
 */
export function p99RatioInterval(direct: string[], entry: string[], resamples = 1000): [number, number] | null {
  if (direct.length !== entry.length || direct.length < 2) return null;
  const values = (encoded: string) => {
    const h = hdr.decodeFromCompressedBase64(encoded) as unknown as JsHistogram;
    const out: number[] = [];
    const recorded = h.recordedValuesIterator;
    recorded.reset();
    while (recorded.hasNext()) {
      const step = recorded.next();
      for (let n = 0; n < step.countAtValueIteratedTo; n++) out.push(step.valueIteratedTo);
    }
    return out;
  };
  const slices = direct.map((d, i) => ({ direct: values(d), entry: values(entry[i]!) }));
  const p99 = (all: number[]) => {
    all.sort((a, b) => a - b);
    return all[Math.min(all.length - 1, Math.ceil(0.99 * all.length) - 1)] ?? 0;
  };
  // A resample whose direct side has no events gives no ratio (NaN or Infinity) and is left out.
  return sliceBootstrapInterval(slices, (picked) => p99(picked.flatMap((slice) => slice.entry)) / p99(picked.flatMap((slice) => slice.direct)), resamples);
}

/** mulberry32 from a fixed seed: a bootstrap over the same slices gives the same interval. */
function seededRandom(): () => number {
  let seed = 0x9e3779b9;
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 95% interval of a statistic of the slices, resampling whole slices with replacement (seeded);
 * a resample whose statistic is not a finite number is left out.
 */
export function sliceBootstrapInterval<T>(slices: T[], statistic: (picked: T[]) => number, resamples = 1000): [number, number] | null {
  if (slices.length < 2) return null;
  const random = seededRandom();
  const values: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const value = statistic(slices.map(() => slices[Math.floor(random() * slices.length)]!));
    if (Number.isFinite(value)) values.push(value);
  }
  values.sort((a, b) => a - b);
  const at = (q: number) => Math.round(values[Math.min(values.length - 1, Math.floor(q * values.length))]! * 100) / 100;
  return values.length > 0 ? [at(0.025), at(0.975)] : null;
}
