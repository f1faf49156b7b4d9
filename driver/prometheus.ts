import { httpRequest } from "./http";

/** One series of an instant query's answer: its labels and its value now. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/**
 * An instant query against a Prometheus server's HTTP API (GET /api/v1/query). Rejects with
 * Prometheus's own error text when it refuses the expression, and when the answer is not a vector.
 */
export async function queryPrometheus(baseUrl: string, expression: string, timeoutMs = 5_000): Promise<Sample[]> {
  const response = await httpRequest(`${baseUrl}/api/v1/query?query=${encodeURIComponent(expression)}`, { timeoutMs });
  const answer = JSON.parse(response.body) as { status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (answer.status !== "success" || !answer.data) throw new Error(`Prometheus refused ${expression}: ${answer.error ?? response.body.slice(0, 200)}`);
  if (answer.data.resultType !== "vector") throw new Error(`${expression} is a ${answer.data.resultType}, not an instant vector`);
  return answer.data.result.map((series) => ({ labels: series.metric, value: Number(series.value[1]) }));
}

/** The series of `expression` by the value of one label, e.g. sockets by `service`. */
export async function queryByLabel(baseUrl: string, expression: string, label: string): Promise<Record<string, number>> {
  const samples = await queryPrometheus(baseUrl, expression);
  return Object.fromEntries(samples.map((sample) => [sample.labels[label] ?? "", sample.value]));
}
