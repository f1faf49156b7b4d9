/** Every file `generate` may write: what it replaces in an earlier output folder, and what services read. */
export const GENERATED_FILES = ["haproxy.cfg", "nginx.conf", "stunnel.conf", "realtime.env", "README.md"] as const;
export type GeneratedFile = (typeof GENERATED_FILES)[number];

/** The rendered text of each file a deployment needs, by name. */
export type GeneratedFiles = Partial<Record<GeneratedFile, string>>;

/** The generated files the proxies' own programs can check (haproxy -c, nginx -t, a stunnel start). */
export const PROXY_CONFIG_FILES = ["haproxy.cfg", "nginx.conf", "stunnel.conf"] as const satisfies readonly GeneratedFile[];
