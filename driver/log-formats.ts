/**
 * The line formats of the programs in the kit's images that cannot write JSON themselves (Redis,
 * stunnel, nginx's error log, HAProxy's own notices), read into fields: `realtime-kit logs --json`
 * then gives every line a `level` and a `msg`, whichever container wrote it. A line of none of
 * these shapes is left as text.
 */

export type LogFields = Record<string, unknown>;

interface TextFormat {
  program: string;
  pattern: RegExp;
  fields(match: RegExpExecArray): LogFields;
}

/** Redis's level marks (server.h: LL_DEBUG ".", LL_VERBOSE "-", LL_NOTICE "*", LL_WARNING "#"). */
const REDIS_LEVELS: Record<string, string> = { ".": "debug", "-": "verbose", "*": "notice", "#": "warning" };
/** Redis's process roles: child (a fork saving), sentinel, replica, master. */
const REDIS_ROLES: Record<string, string> = { C: "child", X: "sentinel", S: "replica", M: "master" };
/** syslog's levels, which stunnel's LOG<n> numbers. */
const SYSLOG_LEVELS = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

const FORMATS: TextFormat[] = [
  {
    // 1:M 04 Dec 2026 12:52:50.124 * Ready to accept connections tcp
    program: "redis",
    pattern: /^(\d+):([CXSM]) (\d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2}\.\d{3}) ([.\-*#]) (.*)$/,
    fields: (m) => ({ level: REDIS_LEVELS[m[4]!], pid: Number(m[1]), role: REDIS_ROLES[m[2]!], msg: m[5] }),
  },
  {
    // 1:signal-handler (1796388872) Received SIGTERM scheduling shutdown... (logged from the handler, at warning level)
    program: "redis",
    pattern: /^(\d+):signal-handler \(\d+\) (.*)$/,
    fields: (m) => ({ level: "warning", pid: Number(m[1]), msg: m[2] }),
  },
  {
    // 2026.12.04 12:52:54 LOG5[0]: Service [https] accepted connection from 127.0.0.1:56404
    program: "stunnel",
    pattern: /^(\d{4}\.\d{2}\.\d{2} \d{2}:\d{2}:\d{2}) LOG([0-7])\[([^\]]*)\]: (.*)$/,
    fields: (m) => ({ level: SYSLOG_LEVELS[Number(m[2])], thread: m[3], msg: m[4] }),
  },
  {
    // 2026/12/04 12:52:54 [error] 22#22: *5 connect() failed (111: Connection refused) while connecting to upstream, ...
    program: "nginx",
    pattern: /^(\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}) \[(\w+)\] (\d+)#(\d+): (?:\*(\d+) )?(.*)$/,
    fields: (m) => ({ level: m[2], pid: Number(m[3]), ...(m[5] ? { connection: Number(m[5]) } : {}), msg: m[6] }),
  },
  {
    // [NOTICE]   (1) : New worker (13) forked
    program: "haproxy",
    pattern: /^\[(NOTICE|WARNING|ALERT|DEBUG)\] +(?:\((\d+)\) : )?(.*)$/,
    fields: (m) => ({ level: m[1]!.toLowerCase(), ...(m[2] ? { pid: Number(m[2]) } : {}), msg: m[3] }),
  },
];

/** The fields of a line in one of the known text formats, with the program that writes it; null for any other line. */
export function parseTextLine(text: string): LogFields | null {
  for (const format of FORMATS) {
    const match = format.pattern.exec(text);
    if (match) return { program: format.program, ...format.fields(match) };
  }
  return null;
}
