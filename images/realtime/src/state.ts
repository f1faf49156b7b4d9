/**
 * The mutable state the node's parts share: the routers and upgrade handlers read it, the
 * shutdown sequence and the servers' request counting write it. One instance per process,
 * passed explicitly to whoever needs it.
 */
export class NodeState {
  /** Set once, by the first SIGTERM/SIGINT. */
  shuttingDown = false;
  /** HTTP requests whose response has not closed yet: shutdown waits for them (bounded). */
  activeRequests = 0;
  readonly startedAt = Date.now();
}
