/** Every file `generate` may write: what it replaces in an earlier output folder, and what services read. */
export const GENERATED_FILES = ["haproxy.cfg", "nginx.conf", "stunnel.conf", "prometheus.yml", "realtime.env", "README.md"] as const;
export type GeneratedFile = (typeof GENERATED_FILES)[number];

/** The rendered text of each file a deployment needs, by name. */
export type GeneratedFiles = Partial<Record<GeneratedFile, string>>;

/** The generated files their own programs can check (haproxy -c, nginx -t, a stunnel start, promtool check config). */
export const CHECKED_CONFIG_FILES = ["haproxy.cfg", "nginx.conf", "stunnel.conf", "prometheus.yml"] as const satisfies readonly GeneratedFile[];
