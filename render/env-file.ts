/** An environment as docker's --env-file reads it, under a comment saying whose it is. */
export function renderEnvFile(env: Record<string, string>, header: string): string {
  const lines = [`# ${header}`, ...Object.entries(env).map(([key, value]) => `${key}=${value}`)];
  return `${lines.join("\n")}\n`;
}
