import { CONTAINER_PATHS, INTERNAL_PORTS } from "../model/layout";
import type { Model } from "../model/model";
import { proxiesOf } from "../plan/names";
import { ConfigText, generatedHeader } from "./text";
import { TLS12_CIPHERS, TLS13_CIPHERSUITES } from "./tls";

/** stunnel.conf: TLS on the public https port, handed to HAProxy with the PROXY protocol. */
export function stunnelConfig(model: Model): string {
  const tls = model.tls;
  if (!proxiesOf(model).stunnel || !tls) throw new Error(`topology ${model.topology} with terminator ${tls?.terminator ?? "none"} does not run stunnel`);
  const text = new ConfigText(";");
  generatedHeader(text, "stunnel 5.68 configuration", model.topology);
  text.line("foreground = yes", "Run in the foreground as the container's main process, logging to its output.");
  text.line("pid =", "No pid file: nothing else manages this process.");
  text.line(
    "setuid = stunnel4",
    "Started as root only to read the private key (mounted 0600, root-owned), then runs as an unprivileged user.",
  );
  text.line("setgid = stunnel4");
  text.line("debug = notice");
  text.blank();
  text.line("[https]");
  text.line(`accept = 0.0.0.0:${INTERNAL_PORTS.stunnel}`, "IPv4, like the Docker network it listens on (a dual-stack accept binds the port twice).");
  text.line(`connect = haproxy:${INTERNAL_PORTS.haproxyFromTls}`);
  text.line("delay = yes", "Resolve haproxy when a client connects, not at start: stunnel starts in any container order.");
  text.line(
    "protocol = proxy",
    "Prefix each connection with a PROXY header carrying the client's real address: HAProxy's source stickiness,\nrate limits and logs need it (otherwise every client looks like stunnel).",
  );
  text.line(`cert = ${CONTAINER_PATHS.tlsCert}`, "Mounted at run time from the operator's files or secrets; never baked into the image.");
  text.line(`key = ${CONTAINER_PATHS.tlsKey}`);
  text.line(`sslVersionMin = ${tls.minVersion}`, "TLS 1.0 and 1.1 are refused.");
  text.line(`ciphers = ${TLS12_CIPHERS}`);
  text.line(`ciphersuites = ${TLS13_CIPHERSUITES}`);
  text.line("socket = l:SO_KEEPALIVE=1", "TCP keepalive on both legs, so a vanished peer does not hold a tunnel open forever.");
  text.line("socket = r:SO_KEEPALIVE=1");
  text.line(`TIMEOUTidle = ${Math.ceil(model.timeouts.tunnelMs / 1000)}`, "Same idle limit for an established tunnel as HAProxy's timeout tunnel.");
  return text.toString();
}
