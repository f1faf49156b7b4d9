// Runs inside the realtime image (node --expose-gc): a Socket.IO server as the image builds it,
// WebSocket clients (fresh sessions and polling sessions upgraded to WebSocket) that stay
// connected, then reports how many of their upgrade requests are still reachable after a GC.
// argv: "release" (the image's releaseHandshakeRequests) or "first-request-only" (Socket.IO's
// documented advice alone), then the number of clients of each kind.
"use strict";
const http = require("node:http");
const { createRequire } = require("node:module");

const appRequire = createRequire("/app/dist/main.js");
const { Server } = appRequire("socket.io");
const WebSocket = appRequire("ws");
const { releaseHandshakeRequests } = appRequire("./idle-memory");

const [mode, perKind] = [process.argv[2], Number(process.argv[3])];
const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

function nextMessage(ws) {
  return new Promise((resolve, reject) => {
    ws.once("message", (data) => resolve(String(data)));
    ws.once("error", reject);
  });
}

async function freshWebSocket(base) {
  const ws = new WebSocket(`${base.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
  if (!(await nextMessage(ws)).startsWith("0")) throw new Error("no Engine.IO open packet");
  ws.send("40");
  if (!(await nextMessage(ws)).startsWith("40")) throw new Error("no Socket.IO connect packet");
  return ws;
}

async function upgradedPolling(base) {
  const open = await (await fetch(`${base}/socket.io/?EIO=4&transport=polling`)).text();
  const sid = JSON.parse(open.slice(1)).sid;
  await fetch(`${base}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body: "40" });
  await (await fetch(`${base}/socket.io/?EIO=4&transport=polling&sid=${sid}`)).text(); // the connect reply
  const ws = new WebSocket(`${base.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  ws.send("2probe");
  if ((await nextMessage(ws)) !== "3probe") throw new Error("no probe answer");
  ws.send("5");
  return ws;
}

async function main() {
  const server = http.createServer();
  const io = new Server(server);
  if (mode === "release") releaseHandshakeRequests(io);
  else io.engine.on("connection", (rawSocket) => void (rawSocket.request = null));
  const upgrades = [];
  io.engine.on("headers", (_headers, req) => {
    if (req.headers.upgrade) upgrades.push(new WeakRef(req));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;

  const clients = [];
  for (let i = 0; i < perKind; i++) clients.push(await freshWebSocket(base), await upgradedPolling(base));
  await tick();
  const websocketSockets = [...io.of("/").sockets.values()].filter((s) => s.conn.transport.name === "websocket").length;
  globalThis.gc();
  await tick(); // WeakRef targets stay alive until the job that created them has ended
  globalThis.gc();
  const reachable = upgrades.filter((ref) => ref.deref() !== undefined).length;
  process.stdout.write(`${JSON.stringify({ upgrades: upgrades.length, reachable, websocketSockets })}\n`);
  for (const ws of clients) ws.terminate();
  io.close();
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
