import { INTERNAL_PORTS } from "../model/layout";
import { formatMs, type Model } from "../model/model";
import { metricsTargetOf, proxiesOf, realtimeMembers } from "../plan/names";
import { ConfigText, generatedHeader } from "./text";

/** Prometheus refuses a scrape timeout longer than the interval; 10 s is its own default. */
const DEFAULT_SCRAPE_TIMEOUT_MS = 10_000;

/**
 * prometheus.yml: the deployment's Prometheus server scraping every realtime node's metrics
 * (@realtime-kit/server on METRICS_PORT) and HAProxy's built-in exporter, each series labelled
 * with the kit's service name.
 */
export function prometheusConfig(model: Model): string {
  const prometheus = model.prometheus;
  if (!prometheus) throw new Error("metrics.prometheus is off: the deployment runs no Prometheus server");
  const text = new ConfigText("#");
  generatedHeader(text, "Prometheus 2.42 scrape configuration", model.topology);
  text.line("global:");
  text.line(`  scrape_interval: ${formatMs(prometheus.scrapeIntervalMs)}`);
  text.line(`scrape_timeout: ${formatMs(Math.min(DEFAULT_SCRAPE_TIMEOUT_MS, prometheus.scrapeIntervalMs))}`, "At most the interval, which Prometheus requires.", "  ");
  text.blank();
  text.line("scrape_configs:");
  text.line("- job_name: realtime", "Every realtime node: sockets by transport, handshakes, upgrades, disconnect reasons, events, the\nRedis adapter's state, process memory. A node on another host is scraped where it publishes its\nmetrics port on its private address.", "  ");
  text.line("    static_configs:");
  for (const node of realtimeMembers(model)) {
    text.line(`      - targets: ["${metricsTargetOf(model, node).address}"]`);
    text.line(`        labels: { service: "${node.name}" }`);
  }
  if (proxiesOf(model).haproxy) {
    text.blank();
    text.line("- job_name: haproxy", "HAProxy's built-in exporter on its internal monitor port: each backend's and server's state,\nqueue, sessions and response times.", "  ");
    text.line("    static_configs:");
    text.line(`      - targets: ["haproxy:${INTERNAL_PORTS.haproxyMonitor}"]`);
    text.line('        labels: { service: "haproxy" }');
  }
  text.blank();
  text.line("- job_name: prometheus", "Prometheus itself: scrape durations and failures, storage size.", "  ");
  text.line("    static_configs:");
  text.line(`      - targets: ["localhost:${INTERNAL_PORTS.prometheus}"]`);
  text.line('        labels: { service: "prometheus" }');
  return text.toString();
}
