import crypto from "node:crypto";
import bcrypt from "bcryptjs";
import type Docker from "dockerode";
import type { Inputs, ResourceHandler } from "./engine";

/**
 * random.RandomPassword (pulumi-random, the terraform-provider-random resource it wraps): a
 * password of `length` characters, letters and digits when `special` is false, made once at
 * create and kept in the state as the secret outputs `result` and `bcryptHash`. Not a Docker resource: it touches
 * no engine.
 */
export const RANDOM_PASSWORD: ResourceHandler = {
  fields: { length: true, special: true },
  replace: "create-before-delete",
  async create(_engine: Docker, inputs: Inputs) {
    if (inputs.special !== false) throw new Error("RandomPassword with special characters is not applied here; the kit asks for special: false");
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const result = Array.from(crypto.randomBytes(inputs.length), (byte) => alphabet[byte % alphabet.length]).join("");
    // The provider also keeps a bcrypt hash of the result (cost 10), made once with it.
    return { id: "none", outputs: { ...inputs, result, bcryptHash: bcrypt.hashSync(result, 10) } };
  },
  async delete() {},
};
