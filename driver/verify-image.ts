import type Docker from "dockerode";
import type { Socket } from "socket.io-client";
import { ConfigError } from "../model/errors";
import { IMAGE_NAMES, REALTIME_ROUTES } from "../model/layout";
import { DRIVER_LABEL, KIT_LABEL, LOCAL_DRIVER } from "../model/labels";
import type { Model } from "../model/model";
import { planDeployment } from "../render/deployment";
import { REDIS_PASSWORD_VARIABLE, secretEnvOf, type DeploymentSecrets } from "../plan/secrets";
import { kitImage, type ServiceSpec } from "../plan/services";
import { docker, logsOf, removeByLabel } from "./engine";
import { execIn } from "./exec";
import { imageHealthCheck, shellCommand, type ImageHealthCheck } from "./health";
import { httpRequest } from "./http";
import { engineIoHandshake, type EngineIoOpen } from "./probe";
import { newRedisPassword } from "./secrets";
import { connect, connected } from "./socket-client";
import { sleep, waitFor } from "./wait";

/**
 * The contract an image of one's own (realtime.image, app.image) must meet to run behind the
 * kit's proxies (README: "Your own images"), checked by starting the image alone with the
 * environment the kit would give its first node. `up` and `validate` run it before deploying
 * such an image; `realtime-kit verify-image` runs it on its own.
 */

/** How long a node may take from SIGTERM to exit (the drivers' stop timeout). */
export const GRACEFUL_STOP_BOUND_S = 10;
/** How long the image may take from start to answering its health route. */
const READY_WITHIN_MS = 30_000;
/** How long the health route may answer 404 before the step fails (a missing route, not a slow start). */
const NOT_FOUND_FOR_MS = 5_000;

export interface ContractStep {
  name: string;
  ok: boolean;
  detail: string;
}

/** Bad input of its own kind: the image named by `field` misses the behaviour `failed` names. */
export class ContractError extends ConfigError {
  constructor(
    readonly image: string,
    field: string,
    readonly failed: ContractStep,
  ) {
    super(field, `image ${image} does not meet the kit's contract (README: Your own images): ${failed.name}: ${failed.detail}`);
    this.name = "ContractError";
  }
}

/** Images of the deployment that are not the kit's own, with the service that runs each (its first node). */
export function foreignImages(model: Model): ServiceSpec[] {
  const services = planDeployment(model).services;
  const foreign: ServiceSpec[] = [];
  for (const role of ["realtime", "app"] as const) {
    const first = services.find((service) => service.role === role);
    if (first && first.image !== kitImage(role)) foreign.push(first);
  }
  return foreign;
}

/** Throws a ContractError for the first step an image of one's own fails. */
export async function assertContract(model: Model, onStep: (service: ServiceSpec, step: ContractStep) => void = () => undefined): Promise<void> {
  for (const service of foreignImages(model)) {
    const steps = await verifyImage(model, service, (step) => onStep(service, step));
    const failed = steps.find((step) => !step.ok);
    if (failed) throw new ContractError(service.image, `${service.role}.image`, failed);
  }
}

/** The plan's first realtime (or app) node of `model`, running `image` instead of its own. */
export function serviceForImage(model: Model, role: "realtime" | "app", image: string): ServiceSpec {
  const service = planDeployment(model).services.find((candidate) => candidate.role === role);
  if (!service) throw new ConfigError("--role", `topology ${model.topology} has no second stack; give a topology that has one (--topology multi-node)`);
  return { ...service, image };
}

/**
 * Starts `service.image` alone (with a Redis beside it when the plan gives REDIS_URL) and checks
 * the contract step by step, stopping at the first failure: every step after it would fail for
 * the same reason. Everything it creates carries one label and is removed on return.
 */
export async function verifyImage(model: Model, service: ServiceSpec, onStep: (step: ContractStep) => void = () => undefined): Promise<ContractStep[]> {
  const owner = `verify-${service.role}-${Date.now().toString(36)}-${process.pid}`;
  const labels = { [KIT_LABEL]: owner, [DRIVER_LABEL]: LOCAL_DRIVER };
  const steps: ContractStep[] = [];
  const step = async (name: string, body: () => Promise<string>): Promise<boolean> => {
    let result: ContractStep;
    try {
      result = { name, ok: true, detail: await body() };
    } catch (error) {
      result = { name, ok: false, detail: (error as Error).message };
    }
    steps.push(result);
    onStep(result);
    return result.ok;
  };
  const image = service.image;
  const port = service.port;
  // The plan gives every realtime and app node its health route.
  const healthPath = service.env.HEALTH_PATH!;
  let check: ImageHealthCheck | null = null;
  let container: Docker.Container | null = null;
  let base = "";
  try {
    const ok =
      (await step("image on this engine", async () => {
        try {
          const info = await docker.getImage(image).inspect();
          return `${info.Id.slice(7, 19)}, ${(info.Size / 1e6).toFixed(0)} MB`;
        } catch {
          throw new Error(`no image ${image} on this Docker engine: build it (docker build -t ${image} <folder>) or pull it (docker pull ${image})`);
        }
      })) &&
      (await step("HEALTHCHECK", async () => {
        check = await imageHealthCheck(image);
        if (!check) {
          throw new Error(
            `the image has no HEALTHCHECK, and both drivers wait on it before routing traffic to a node. Add one that asks the health route, e.g.\n` +
              `  HEALTHCHECK --interval=5s --timeout=3s --start-period=30s CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+process.env.HEALTH_PATH).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]\n` +
              `  (or curl -fsS http://127.0.0.1:$PORT$HEALTH_PATH where the image has curl)`,
          );
        }
        return shellCommand(check.test);
      })) &&
      (await step(`starts and answers GET ${healthPath} on PORT=${port}`, async () => {
        const network = await docker.createNetwork({ Name: `rk-${owner}`, Labels: labels });
        // A Redis with a password of its own, as the kit deploys one.
        const secrets: DeploymentSecrets = { redisPassword: service.env.REDIS_URL !== undefined ? newRedisPassword() : null, redisTls: null, adminUi: null };
        if (service.env.REDIS_URL) await startRedis(owner, labels, new URL(service.env.REDIS_URL).hostname, secrets);
        container = await docker.createContainer({
          Image: image,
          name: `rk-${owner}-${service.name}`,
          Env: Object.entries({ ...service.env, ...secretEnvOf(service, secrets) }).map(([key, value]) => `${key}=${value}`),
          Labels: labels,
          ExposedPorts: { [`${port}/tcp`]: {} },
          HostConfig: { NetworkMode: network.id, PortBindings: { [`${port}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: "" }] } },
          NetworkingConfig: { EndpointsConfig: { [network.id]: { Aliases: [service.name] } } },
        });
        await container.start();
        const published = (await container.inspect()).NetworkSettings.Ports[`${port}/tcp`]?.[0]?.HostPort;
        base = `http://127.0.0.1:${published}`;
        const started = Date.now();
        let last = "";
        // A server that answers 404 on the route has no such route: no warm-up ends that, so after
        // a few seconds of it the step fails without waiting out the whole bound.
        let notFoundSince: number | null = null;
        for (;;) {
          const state = (await container.inspect()).State;
          if (!state.Running) throw new Error(`the container exited (code ${state.ExitCode}) before answering${tail(await logsOf(container))}`);
          try {
            const response = await httpRequest(`${base}${healthPath}`, { timeoutMs: 2_000 });
            if (response.status === 200) return `200 after ${((Date.now() - started) / 1000).toFixed(1)} s`;
            last = `GET ${healthPath} answered ${response.status}; it must answer 200 once the node is ready (the route is HEALTH_PATH, ${service.role}.healthPath in the kit's options)`;
            notFoundSince = response.status === 404 ? (notFoundSince ?? Date.now()) : null;
          } catch (error) {
            last = `nothing answers on port ${port} (${(error as Error).message}); the server must listen on process.env.PORT on every interface (0.0.0.0)`;
            notFoundSince = null;
          }
          if (notFoundSince !== null && Date.now() - notFoundSince > NOT_FOUND_FOR_MS) throw new Error(`${last}, for ${NOT_FOUND_FOR_MS / 1000} s on end${tail(await logsOf(container))}`);
          if (Date.now() - started > READY_WITHIN_MS) throw new Error(`${last}, ${READY_WITHIN_MS / 1000} s after start${tail(await logsOf(container))}`);
          await sleep(250);
        }
      })) &&
      (await step("its HEALTHCHECK passes", async () => {
        const run = await execIn(container!, ["/bin/sh", "-c", shellCommand(check!.test)]);
        if (run.exitCode !== 0) throw new Error(`the HEALTHCHECK command exited ${run.exitCode} while GET ${healthPath} answers 200${tail(run.stdout + run.stderr)}`);
        return "exit 0";
      })) &&
      (service.role !== "realtime" || (await realtimeSteps(model, service, base, step)));
    if (ok) {
      await step(`stops within ${GRACEFUL_STOP_BOUND_S} s of SIGTERM`, () => gracefulStop(service, container!, base));
    }
  } finally {
    await removeByLabel(owner);
  }
  return steps;
}

type Step = (name: string, body: () => Promise<string>) => Promise<boolean>;

/** Where a Node realtime server gets the behaviour a failed step asks for, in one call. */
const LIBRARY_HINT = "; in Node, createKitServer() from @realtime-kit/server does this (README: Your own images)";

async function realtimeSteps(model: Model, service: ServiceSpec, base: string, step: Step): Promise<boolean> {
  const env = service.env;
  let handshake: EngineIoOpen & { setCookie: string[] } = { sid: "", pingInterval: 0, pingTimeout: 0, maxPayload: 0, setCookie: [] };
  return (
    (await step(`Socket.IO handshake on ${REALTIME_ROUTES.socketIo}`, async () => {
      handshake = await engineIoHandshake(base, { timeoutMs: 5_000 });
      return `sid ${handshake.sid}`;
    })) &&
    (await step("ping interval, timeout and buffer size from the environment", async () => {
      const wanted = { pingInterval: Number(env.PING_INTERVAL_MS), pingTimeout: Number(env.PING_TIMEOUT_MS), maxPayload: Number(env.MAX_HTTP_BUFFER_SIZE) };
      const names = { pingInterval: "PING_INTERVAL_MS", pingTimeout: "PING_TIMEOUT_MS", maxPayload: "MAX_HTTP_BUFFER_SIZE (maxHttpBufferSize)" };
      for (const key of Object.keys(wanted) as (keyof typeof wanted)[]) {
        if (handshake[key] !== wanted[key]) {
          throw new Error(`the handshake says ${key} ${handshake[key]}, the kit gave ${names[key]}=${wanted[key]}: pass it to new Server(...), or the proxies' idle timeouts (set from these values) cut idle clients${LIBRARY_HINT}`);
        }
      }
      return `${wanted.pingInterval}/${wanted.pingTimeout} ms, ${wanted.maxPayload} bytes`;
    })) &&
    (await stickinessStep(model, env, handshake, step)) &&
    (await step("a client connects, polls, upgrades to WebSocket and stays through idle", async () => {
      const socket = connect({ url: base, timeoutMs: 5_000 });
      try {
        await connected(socket, 5_000);
        for (let index = 0; index < 5; index++) socket.emit("realtime-kit:verify", index);
        const upgraded = await waitFor(() => socket.io.engine?.transport?.name === "websocket", { timeoutMs: 5_000, what: "the upgrade to WebSocket" }).then(
          () => true,
          () => false,
        );
        if (!upgraded) throw new Error(`the client stayed on ${socket.io.engine?.transport?.name}: the server must accept WebSocket upgrades on ${REALTIME_ROUTES.socketIo}`);
        await sleep(1_000);
        if (!socket.connected) throw new Error("the client was disconnected while idle");
        return `connected as ${socket.id}, upgraded`;
      } finally {
        socket.disconnect();
      }
    }))
  );
}

async function stickinessStep(model: Model, env: Record<string, string>, handshake: { sid: string; setCookie: string[] }, step: Step): Promise<boolean> {
  if (model.realtime.stickiness === "session") {
    return step("session ids begin with SESSION_ID_PREFIX (realtime.stickiness: session)", async () => {
      const prefix = `${env.SESSION_ID_PREFIX}.`;
      if (!handshake.sid.startsWith(prefix)) {
        throw new Error(
          `sid ${handshake.sid} does not begin with ${JSON.stringify(prefix)}: HAProxy routes each session's requests by it. ` +
            `Prefix the ids (const generate = io.engine.generateId; io.engine.generateId = (req) => \`\${process.env.SESSION_ID_PREFIX}.\${generate(req)}\`), ` +
            `or choose realtime.stickiness: source or cookie${LIBRARY_HINT}`,
        );
      }
      return handshake.sid;
    });
  }
  if (model.realtime.stickiness === "cookie") {
    return step(`sets the ${model.realtime.cookieName} cookie (realtime.stickiness: cookie)`, async () => {
      const cookie = handshake.setCookie.find((line) => line.startsWith(`${env.STICKY_COOKIE}=`));
      if (!cookie) throw new Error(`the handshake sets no ${env.STICKY_COOKIE} cookie: pass cookie: { name: process.env.STICKY_COOKIE } to new Server(...)${LIBRARY_HINT}`);
      return cookie.split(";")[0]!;
    });
  }
  return true;
}

/**
 * SIGTERM with a client connected: the client must be let go and the process must exit within
 * the bound, not be killed at its end.
 */
async function gracefulStop(service: ServiceSpec, container: Docker.Container, base: string): Promise<string> {
  let client: Socket | null = null;
  let disconnectedAt: number | null = null;
  if (service.role === "realtime") {
    client = connect({ url: base, transports: ["websocket"], timeoutMs: 5_000 });
    await connected(client, 5_000);
    client.once("disconnect", () => (disconnectedAt = Date.now()));
  }
  const started = Date.now();
  try {
    // Docker sends SIGTERM, then SIGKILL after the bound (plus a second, so a kill is told apart).
    await container.stop({ t: GRACEFUL_STOP_BOUND_S + 1 });
    const state = (await container.inspect()).State;
    const seconds = (Date.now() - started) / 1000;
    if (state.ExitCode === 137 || seconds > GRACEFUL_STOP_BOUND_S) {
      throw new Error(
        `it was still running ${seconds.toFixed(1)} s after SIGTERM and was killed: on SIGTERM, fail the health route, take no new sessions, close the clients (io.close()) and exit; ` +
          `a shell form CMD (CMD node server.js written without brackets) runs the server under /bin/sh, which does not pass SIGTERM on${service.role === "realtime" ? LIBRARY_HINT : ""}`,
      );
    }
    if (client && disconnectedAt === null) throw new Error(`it exited (code ${state.ExitCode}) in ${seconds.toFixed(1)} s but its client saw no disconnect`);
    return `exit ${state.ExitCode} after ${seconds.toFixed(1)} s${disconnectedAt !== null ? `, client let go after ${((disconnectedAt - started) / 1000).toFixed(1)} s` : ""}`;
  } finally {
    client?.disconnect();
  }
}

async function startRedis(owner: string, labels: Record<string, string>, alias: string, secrets: DeploymentSecrets): Promise<void> {
  const network = `rk-${owner}`;
  const redis = await docker.createContainer({
    Image: `${IMAGE_NAMES.redis}:latest`,
    name: `rk-${owner}-redis`,
    Env: [`${REDIS_PASSWORD_VARIABLE}=${secrets.redisPassword}`],
    Labels: labels,
    HostConfig: { NetworkMode: network },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [alias] } } },
  });
  await redis.start();
}

function tail(output: string): string {
  const lines = output.trim().split("\n").slice(-10).join("\n").trim();
  return lines ? `\n--- last output ---\n${lines}` : "";
}
