/** What the library logs through: the kit's JSON lines by default, or the application's own logger. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** One JSON object per line (info on stdout, the rest on stderr): read by `docker logs` and by tests alike. */
export function jsonLogger(node: string | (() => string)): Logger {
  const nodeOf = typeof node === "string" ? () => node : node;
  const write = (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => {
    const line = JSON.stringify({ t: new Date().toISOString(), level, node: nodeOf(), msg, ...fields });
    (level === "info" ? process.stdout : process.stderr).write(line + "\n");
  };
  return {
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
  };
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    // AggregateError (e.g. ECONNREFUSED on both ::1 and 127.0.0.1) carries the detail in .errors.
    const agg = err as Error & { errors?: unknown[]; code?: string };
    if (!err.message && Array.isArray(agg.errors) && agg.errors.length > 0) return errorMessage(agg.errors[0]);
    return err.message || agg.code || err.name;
  }
  return String(err);
}
