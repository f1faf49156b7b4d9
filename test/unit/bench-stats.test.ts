import assert from "node:assert/strict";
import * as hdr from "hdr-histogram-js";
import { p99Verdict } from "../../bench/results";
import { p99RatioInterval } from "../../bench/stats";

/** One slice's histogram: `count` latencies (us) from a seeded spread around `medianUs`, with a tail. */
function slice(seed: number, medianUs: number, count = 600): string {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const u = x / 2 ** 31;
    // Mostly near the median, 3% in a tail up to 8x: the shape of the paced echo latencies.
    h.recordValue(Math.round(u < 0.97 ? medianUs * (0.8 + 0.4 * u) : medianUs * (2 + 200 * (u - 0.97))));
  }
  return hdr.encodeIntoCompressedBase64(h);
}

describe("bench statistics", () => {
  it("puts the p99 ratio of two samples of one distribution around 1", () => {
    const direct = [1, 2, 3, 4, 5, 6, 7, 8].map((s) => slice(s, 500));
    const entry = [11, 12, 13, 14, 15, 16, 17, 18].map((s) => slice(s, 500));
    const [low, high] = p99RatioInterval(direct, entry)!;
    assert.ok(low <= 1 && high >= 1, `interval ${low}-${high} should contain 1`);
    assert.deepEqual(p99RatioInterval(direct, entry), [low, high], "seeded: the same input gives the same interval");
  });

  it("puts a path twice as slow well above the +10% target", () => {
    const direct = [1, 2, 3, 4, 5, 6].map((s) => slice(s, 500));
    const entry = [11, 12, 13, 14, 15, 16].map((s) => slice(s, 1000));
    const [low, high] = p99RatioInterval(direct, entry)!;
    assert.ok(low > 1.5 && high < 2.6, `interval ${low}-${high} should be around 2`);
    assert.equal(p99Verdict(2, [low, high]), false);
  });

  it("calls the target met or missed only when the whole interval is on one side", () => {
    assert.equal(p99Verdict(1.02, [0.95, 1.08]), true);
    assert.equal(p99Verdict(1.3, [1.15, 1.4]), false);
    assert.equal(p99Verdict(1.05, [0.9, 1.25]), "undecided");
    assert.equal(p99Verdict(1.05, null), true, "without slices, the point estimate");
    assert.equal(p99RatioInterval([slice(1, 500)], [slice(2, 500)]), null, "one slice has no spread to resample");
  });
});
