/** One JSON object per line on stdout/stderr: easy to read with `docker logs`, easy to parse in tests. */
let nodeId = "";

export function setLogNode(id: string): void {
  nodeId = id;
}

function write(level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void {
  const line = JSON.stringify({ t: new Date().toISOString(), level, node: nodeId, msg, ...fields });
  if (level === "info") process.stdout.write(line + "\n");
  else process.stderr.write(line + "\n");
}

export const log = {
  info: (msg: string, fields?: Record<string, unknown>) => write("info", msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write("warn", msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write("error", msg, fields),
};

export function errMessage(err: unknown): string {
  if (err instanceof Error) {
    // AggregateError (e.g. ECONNREFUSED on both ::1 and 127.0.0.1) carries the detail in .errors.
    const agg = err as Error & { errors?: unknown[]; code?: string };
    if (!err.message && Array.isArray(agg.errors) && agg.errors.length > 0) return errMessage(agg.errors[0]);
    return err.message || agg.code || err.name;
  }
  return String(err);
}
