import { z } from "zod";
import { configSchema } from "./schema";

interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchemaNode>;
  anyOf?: JsonSchemaNode[];
  items?: JsonSchemaNode;
}

/**
 * The options reference as a markdown table, rendered from the schema's own descriptions and
 * defaults, so the docs cannot drift from what the validator accepts.
 */
export function optionsTable(): string {
  const root = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as JsonSchemaNode;
  const rows: string[] = ["| option | default | meaning |", "|---|---|---|"];
  walk(root, "", rows);
  return `${rows.join("\n")}\n`;
}

function walk(node: JsonSchemaNode, prefix: string, rows: string[]): void {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (child.properties) {
      walk(child, name, rows);
      continue;
    }
    const choices = child.enum ? ` One of: ${child.enum.map(String).join(", ")}.` : "";
    rows.push(`| \`${name}\` | ${child.default === undefined ? "-" : `\`${JSON.stringify(child.default)}\``} | ${(child.description ?? "").replace(/\|/g, "\\|")}${choices} |`);
    // A list of groups (hosts): one row per field of its items, as `hosts[].name`.
    if (child.items?.properties) walk(child.items, `${name}[]`, rows);
  }
}
