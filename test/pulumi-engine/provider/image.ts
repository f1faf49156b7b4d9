import fs from "node:fs";
import path from "node:path";
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import dockerignore from "@balena/dockerignore";
import tar from "tar-fs";
import { findImage } from "./container";
import type { Applied, Inputs, ResourceHandler } from "./engine";
import { registryHostname, type ProviderTarget } from "./provider";

/**
 * docker.Image: implemented by pulumi-docker itself, not by the Terraform provider. References are
 * to pulumi/pulumi-docker provider/image.go at 237b7899 (2026-08-14, after v5.1.0; v5.2.0 is not
 * in the readable history), dockerBuild / marshalBuildAndApplyDefaults / runImageBuild.
 */
export const IMAGE: ResourceHandler = {
  fields: {
    imageName: true,
    skipPush: true,
    buildOnPreview: true,
    registry: { server: true, username: true, password: true },
    build: { context: true, dockerfile: true, builderVersion: true, args: true },
  },
  replace: "create-before-delete",
  create: buildImage,
  // provider.go Delete: a no-op (the built image stays on the engine).
  async delete(_engine: Docker, _applied: Applied) {},
};

async function buildImage(engine: Docker, inputs: Inputs): Promise<{ id: string; outputs: Inputs }> {
  const build: Inputs = inputs.build ?? {};
  // marshalBuildAndApplyDefaults: context ".", dockerfile <context>/Dockerfile, builder BuildKit ("2") unless BuilderV1.
  const context: string = build.context ?? ".";
  const dockerfile: string = build.dockerfile ?? path.join(context, "Dockerfile");
  if (build.builderVersion !== "BuilderV1") {
    throw new Error(`build.builderVersion ${build.builderVersion ?? "(unset: BuildKit, the provider's default)"} is not applied here; the kit builds with BuilderV1, the classic builder npm run setup uses`);
  }
  const relDockerfile = path.relative(context, dockerfile);
  if (relDockerfile.startsWith("..")) throw new Error(`the Dockerfile ${dockerfile} is outside the build context ${context}`);
  const ignored = ignoreFilter(context, dockerfile, relDockerfile);
  // archive.TarWithOptions(contextDir, {ExcludePatterns, ChownOpts: {UID: 0, GID: 0}}): the context less what is ignored, root-owned.
  const contextTar = new PassThrough();
  tar
    .pack(context, {
      ignore: (name) => ignored(path.relative(context, name)),
      map: (header) => ({ ...header, uid: 0, gid: 0, uname: "", gname: "" }),
    })
    .pipe(contextTar);
  // ImageBuildOptions{Dockerfile, Tags: [imageName], BuildArgs, Version}: Remove false (rm=0), no pull.
  const stream: NodeJS.ReadableStream = await engine.buildImage(contextTar, {
    t: inputs.imageName,
    dockerfile: relDockerfile,
    buildargs: build.args ?? {},
    version: "1",
    rm: false,
  } as Docker.ImageBuildOptions);
  // runImageBuild: the image id from the build's result message, then the image found in the store.
  const builtId = await new Promise<string>((resolve, reject) => {
    let id = "";
    engine.modem.followProgress(
      stream,
      (error: Error | null) => (error ? reject(error) : id ? resolve(id) : reject(new Error("no image id found in build output"))),
      (event: { aux?: { ID?: string }; error?: string }) => {
        if (event.error) reject(new Error(`error building image: ${event.error}`));
        if (event.aux?.ID) id = event.aux.ID;
      },
    );
  });
  const outputs = { ...inputs, baseImageName: inputs.imageName, dockerfile: relDockerfile, context, registryServer: inputs.registry?.server ?? "" };
  if (inputs.skipPush) {
    // dockerBuild with skipPush: repoDigest is the ID `docker inspect <imageName>` reports.
    const inspected = await engine.getImage(inputs.imageName).inspect();
    if (inspected.Id !== builtId) throw new Error(`built ${builtId}, but ${inputs.imageName} is ${inspected.Id}`);
    return { id: inputs.imageName, outputs: { ...outputs, repoDigest: inspected.Id } };
  }
  return { id: inputs.imageName, outputs: { ...outputs, repoDigest: await pushImage(engine, inputs) } };
}

/**
 * dockerBuild's push: ImagePush(imageName) with the credentials of `registry` (getRegistryAuth:
 * username and password from the program, server address the registry's host name); repoDigest is
 * the name without its tag at the digest the push reports (parseRepoDigestFromAux).
 */
async function pushImage(engine: Docker, inputs: Inputs): Promise<string> {
  const { server, username, password } = inputs.registry ?? {};
  if (!server || !username || !password) throw new Error(`pushing ${inputs.imageName} needs registry.server, username and password here (the host's credentials file is not read)`);
  const authconfig = { username, password, serveraddress: registryHostname(String(server)) };
  const stream: NodeJS.ReadableStream = await engine.getImage(inputs.imageName).push({ authconfig });
  const digest = await new Promise<string>((resolve, reject) => {
    let pushed = "";
    engine.modem.followProgress(
      stream,
      (error: Error | null) => (error ? reject(error) : pushed ? resolve(pushed) : reject(new Error(`pushing ${inputs.imageName} reported no digest`))),
      (event: { aux?: { Digest?: string }; error?: string }) => {
        if (event.error) reject(new Error(`error pushing image: ${event.error}`));
        if (event.aux?.Digest) pushed = event.aux.Digest;
      },
    );
  });
  // reference.TrimNamed: the name less its tag.
  const name = String(inputs.imageName);
  const lastSlash = name.lastIndexOf("/");
  const tag = name.indexOf(":", lastSlash + 1);
  return `${tag === -1 ? name : name.slice(0, tag)}@${digest}`;
}

/**
 * getIgnorePatterns: <dockerfile>.dockerignore, else <context>/.dockerignore, read with Docker's
 * pattern rules (@balena/dockerignore implements them); TrimBuildFilesFromExcludes keeps the
 * Dockerfile and .dockerignore in the context whatever the patterns say. archive.TarWithOptions
 * walks into an excluded folder when an exception (`!path`) may match below it (`*` then
 * `!images/realtime`, as the repository root's .dockerignore does).
 */
function ignoreFilter(context: string, dockerfile: string, relDockerfile: string): (relative: string) => boolean {
  const file = [`${dockerfile}.dockerignore`, path.join(context, ".dockerignore")].find((candidate) => fs.existsSync(candidate));
  if (!file) return () => false;
  const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
  const rules = dockerignore().add(lines);
  const exceptions = lines.map((line) => line.trim()).filter((line) => line.startsWith("!")).map((line) => path.posix.normalize(line.slice(1).trim()).replace(/^\/+/, ""));
  const hasExceptionBelow = (relative: string) => exceptions.some((pattern) => `${pattern}/`.startsWith(`${relative}/`));
  return (relative) => {
    if (relative === "" || relative === relDockerfile || relative === ".dockerignore" || !rules.ignores(relative)) return false;
    return !(hasExceptionBelow(relative) && fs.statSync(path.join(context, relative)).isDirectory());
  };
}

/**
 * docker.RemoteImage: kreuzwerker/terraform-provider-docker v4.5.0 (commit 5074970c)
 * internal/provider/resource_docker_image_funcs.go, resourceDockerImageCreate: findImage (local
 * image, else a pull with the provider's registry_auth); the image id as `imageId`. Deleted only without keep_locally.
 */
export const REMOTE_IMAGE: ResourceHandler = {
  fields: { name: true, keepLocally: true },
  replace: "create-before-delete",
  async create(engine: Docker, inputs: Inputs, target: ProviderTarget) {
    const image = await findImage(engine, inputs.name, target.registryAuth);
    return { id: `${image.Id}${inputs.name}`, outputs: { ...inputs, imageId: image.Id, repoDigest: image.RepoDigests?.[0] ?? "" } };
  },
  async delete(engine: Docker, applied: Applied) {
    if (applied.inputs.keepLocally) return;
    await engine.getImage(applied.outputs.imageId).remove().catch(() => undefined);
  },
};
