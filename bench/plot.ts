import type { ConnectionRamp } from "./measure/connections";

/**
 * Latency (p50 dashed, p99 solid) against idle connections held, one colour per topology, as a
 * Vega-Lite spec rendered to SVG headlessly by Vega (no browser, no canvas).
 */
export async function latencyPlotSvg(ramps: ConnectionRamp[], subtitle: string): Promise<string> {
  const values = ramps.flatMap((ramp) =>
    ramp.points.flatMap((point) => [
      { topology: ramp.title, connections: point.held, percentile: "p99", ms: point.latency.p99 },
      { topology: ramp.title, connections: point.held, percentile: "p50", ms: point.latency.p50 },
    ]),
  );
  const vega = await import("vega");
  // vega-lite declares its types only under package "exports", which this repo's
  // moduleResolution ("node") does not read: typed here by the one function used.
  const liteModule = "vega-lite";
  const vl = (await import(liteModule)) as { compile: (spec: object) => { spec: import("vega").Spec } };
  const spec = vl.compile({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: "Socket.IO echo round trip against idle connections held", subtitle },
    width: 640,
    height: 360,
    background: "white",
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "connections", type: "quantitative", title: "idle connections held" },
      y: { field: "ms", type: "quantitative", title: "round trip (ms)", scale: { type: "log" } },
      color: { field: "topology", type: "nominal", legend: { orient: "bottom", columns: 2, labelLimit: 400 } },
      strokeDash: { field: "percentile", type: "nominal", sort: ["p99", "p50"], legend: { orient: "bottom", symbolType: "stroke" } },
    },
  }).spec;
  const view = new vega.View(vega.parse(spec), { renderer: "none" });
  return view.toSVG();
}
