import { KitEnvError } from "./env";

/**
 * Loads what an optional peer dependency backs (`load` requires it, directly or through a module
 * of this library). When the package is missing, one KitEnvError names the variable that asked
 * for it and the install that gives it.
 */
export function requireOptionalPeer<T>(load: () => T, variable: string, packageName: string): T {
  try {
    return load();
  } catch (err) {
    if ((err as { code?: string }).code !== "MODULE_NOT_FOUND") throw err;
    throw new KitEnvError(`${variable} needs the package ${packageName}: npm install ${packageName}`);
  }
}
