#!/usr/bin/env bash
# Three test hosts on this machine, for the multi-host suite (issue 18): each is a network
# namespace with its own address on one bridge and its own dockerd (own data-root, exec-root,
# socket, pid file and cgroup parent), loaded with the kit's images from the main engine.
#
#   edge   10.213.0.11  tcp://10.213.0.11:2376, TLS both ways (certificates made here)
#   node2  10.213.0.12  tcp://10.213.0.12:2376, TLS both ways
#   node3  10.213.0.13  ssh://root@10.213.0.13 (Debian's sshd in its namespace; `docker system
#                       dial-stdio` reaches that host's own dockerd through DOCKER_HOST); its
#                       host key in the user's known_hosts (marked, removed by stop); also
#                       10.213.0.23, whose host key is known to nobody
#
# The root namespace is 10.213.0.1 on the bridge (the machine's "operator" side), and also
# 10.213.0.101-108, for clients that must connect from several source addresses. A registry
# (Debian's docker-registry, TLS and a password) listens on 10.213.0.1:5000, for the Pulumi
# program's run over the hosts: with a registry its first host (edge) builds the kit's images and
# pushes them, and the others pull them. So edge alone also reaches the internet, through this
# machine's NAT, for its image builds (Debian packages, npm).
#
#   test-hosts.sh start   tears down leftovers of an earlier run, then brings the hosts up and
#                         writes $STATE/three-hosts.yaml (a multi-node config placing services
#                         over them) and $STATE/env (SSH_AUTH_SOCK of an agent holding the key;
#                         REGISTRY_SERVER, REGISTRY_USERNAME, REGISTRY_PASSWORD of the registry)
#   test-hosts.sh stop    removes everything start made: processes, namespaces, links, firewall
#                         rules, data; safe to run any number of times, also after a failed start
set -euo pipefail

STATE=${RK_TEST_HOSTS_DIR:-/var/tmp/realtime-kit-test-hosts}
RUN=/run/rkth                 # short: unix socket paths are limited to 108 bytes
BRIDGE=rkth0
SUBNET_PREFIX=10.213.0
HOSTS=(edge node2 node3)
declare -A ADDRESS=([edge]=11 [node2]=12 [node3]=13)
REGISTRY=$SUBNET_PREFIX.1:5000
# Engines trust the registry's CA here (a folder per registry; the main engine's too, it is one path).
REGISTRY_TRUST=/etc/docker/certs.d/$REGISTRY
REPO_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# edge also gets the base image: it builds the kit's images in the Pulumi program's run.
declare -A IMAGES=(
  [edge]="debian:bookworm-slim realtime-kit/haproxy:latest realtime-kit/stunnel:latest realtime-kit/redis:latest realtime-kit/realtime:latest realtime-kit/prometheus:latest"
  [node2]="realtime-kit/realtime:latest realtime-kit/app:latest"
  [node3]="realtime-kit/realtime:latest realtime-kit/app:latest"
)
SSH_HOST=node3
# ssh reads known_hosts from the home directory in the user database, not $HOME.
KNOWN_HOSTS="$(getent passwd "$(id -un)" | cut -d: -f6)/.ssh/known_hosts"
KNOWN_HOSTS_MARK=realtime-kit-test-hosts

log() { printf '[test-hosts] %s\n' "$*" >&2; }
address() { echo "$SUBNET_PREFIX.${ADDRESS[$1]}"; }
# nsenter, not `ip netns exec`: the latter remounts /sys in a mount namespace of its own, hiding
# the cgroup hierarchies dockerd needs ("Devices cgroup isn't mounted").
in_host() { local host=$1; shift; nsenter --net="/var/run/netns/rkth-$host" "$@"; }

stop() {
  for host in "${HOSTS[@]}"; do
    # Processes first (sshd, ssh-agent, dockerd and its containerd and shims): everything that
    # runs inside the namespace, then whatever still holds the host's files.
    if ip netns list 2>/dev/null | grep -qw "rkth-$host"; then
      local pids
      pids=$(ip netns pids "rkth-$host" 2>/dev/null || true)
      [ -n "$pids" ] && kill $pids 2>/dev/null || true
      for _ in $(seq 1 50); do
        pids=$(ip netns pids "rkth-$host" 2>/dev/null || true)
        [ -z "$pids" ] && break
        sleep 0.2
      done
      [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
    fi
    # Containers' mounts (overlay, shm, netns files) the killed daemon left behind.
    { grep -E " ($STATE/$host|$RUN/$host)" /proc/mounts || true; } | awk '{print $2}' | sort -r | while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
    ip netns del "rkth-$host" 2>/dev/null || true
    ip link del "rkth-$host" 2>/dev/null || true
  done
  [ -f "$STATE/agent.pid" ] && kill "$(cat "$STATE/agent.pid")" 2>/dev/null || true
  [ -f "$STATE/registry.pid" ] && kill "$(cat "$STATE/registry.pid")" 2>/dev/null || true
  rm -rf "$REGISTRY_TRUST"
  [ -f "$KNOWN_HOSTS" ] && sed -i "/ $KNOWN_HOSTS_MARK\$/d" "$KNOWN_HOSTS"
  ip link del "$BRIDGE" 2>/dev/null || true
  while iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null; do :; done
  local edge_ip; edge_ip=$(address edge)
  while iptables -D FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -s "$edge_ip" -j ACCEPT 2>/dev/null; do :; done
  while iptables -D FORWARD -o "$BRIDGE" -d "$edge_ip" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT 2>/dev/null; do :; done
  while iptables -t nat -D POSTROUTING -s "$edge_ip" ! -o "$BRIDGE" -j MASQUERADE 2>/dev/null; do :; done
  # Container cgroups the daemons made under their own parents.
  for controller in /sys/fs/cgroup/*/; do
    for host in "${HOSTS[@]}"; do
      [ -d "$controller/rkth-$host" ] && find "$controller/rkth-$host" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
  done
  rm -rf "$STATE" "$RUN"
  log "stopped: nothing of the test hosts is left"
}

make_pki() {
  local pki=$STATE/pki
  mkdir -p "$pki"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=test-hosts CA" \
    -keyout "$pki/ca-key.pem" -out "$pki/ca.pem" 2>/dev/null
  sign() { # name, subject, extensions
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" -keyout "$pki/$1-key.pem" -out "$pki/$1.csr" 2>/dev/null
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca-key.pem" -CAcreateserial -days 2 \
      -extfile <(printf '%s\n' "$3") -out "$pki/$1.pem" 2>/dev/null
  }
  for host in "${HOSTS[@]}"; do
    sign "$host" "/CN=$host" "subjectAltName=IP:$(address "$host")
extendedKeyUsage=serverAuth"
  done
  sign registry "/CN=test-hosts registry" "subjectAltName=IP:$SUBNET_PREFIX.1
extendedKeyUsage=serverAuth"
  # The client side, as `docker context` and the Pulumi provider's certPath expect it: ca.pem, cert.pem, key.pem.
  sign client "/CN=realtime-kit tests" "extendedKeyUsage=clientAuth"
  mkdir -p "$STATE/client"
  cp "$pki/ca.pem" "$STATE/client/ca.pem"
  cp "$pki/client.pem" "$STATE/client/cert.pem"
  cp "$pki/client-key.pem" "$STATE/client/key.pem"
}

start_host() {
  local host=$1 ip
  ip=$(address "$host")
  ip netns add "rkth-$host"
  ip link add "rkth-$host" type veth peer name eth0 netns "rkth-$host"
  ip link set "rkth-$host" master "$BRIDGE" up
  in_host "$host" ip addr add "$ip/24" dev eth0
  in_host "$host" ip link set eth0 up
  in_host "$host" ip link set lo up
  mkdir -p "$STATE/$host" "$RUN/$host"
  local listen=()
  if [ "$host" != "$SSH_HOST" ]; then
    listen=(-H "tcp://$ip:2376" --tlsverify --tlscacert "$STATE/pki/ca.pem" --tlscert "$STATE/pki/$host.pem" --tlskey "$STATE/pki/$host-key.pem")
  fi
  in_host "$host" dockerd --data-root "$STATE/$host/docker" --exec-root "$RUN/$host" --pidfile "$RUN/$host/dockerd.pid" \
    -H "unix://$RUN/$host/docker.sock" "${listen[@]}" --cgroup-parent "rkth-$host" --log-level warn \
    > "$STATE/$host/dockerd.log" 2>&1 &
}

wait_engine() {
  local host=$1
  for _ in $(seq 1 150); do
    DOCKER_HOST="unix://$RUN/$1/docker.sock" docker info > /dev/null 2>&1 && return 0
    sleep 0.2
  done
  log "dockerd of $host did not answer; its log:"; tail -20 "$STATE/$host/dockerd.log" >&2; return 1
}

load_images() {
  local host=$1
  # shellcheck disable=SC2086
  docker save ${IMAGES[$host]} | DOCKER_HOST="unix://$RUN/$host/docker.sock" docker load > /dev/null
}

start_sshd() {
  local host=$SSH_HOST dir=$STATE/$SSH_HOST/ssh
  [ -x /usr/sbin/sshd ] || install_package openssh-server
  mkdir -p "$dir" /run/sshd
  # A second address of the same machine, whose host key nobody recorded: the tests check that an
  # ssh:// engine there is refused.
  in_host "$host" ip addr add "$SUBNET_PREFIX.$((ADDRESS[$host] + 10))/24" dev eth0
  ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
  # The host key is known, as an operator's known_hosts would have it: ssh:// engines are reached
  # with host key checking on (BatchMode: an unknown key is refused, not asked about).
  mkdir -p "$(dirname "$KNOWN_HOSTS")"
  echo "$(address "$host") $(cut -d' ' -f1,2 "$dir/host_key.pub") $KNOWN_HOSTS_MARK" >> "$KNOWN_HOSTS"
  ssh-keygen -q -t ed25519 -N '' -C "realtime-kit tests" -f "$STATE/client/id_ed25519"
  # `docker system dial-stdio` in the ssh session must reach this host's dockerd, not the main one.
  echo "environment=\"DOCKER_HOST=unix://$RUN/$host/docker.sock\" $(cat "$STATE/client/id_ed25519.pub")" > "$dir/authorized_keys"
  cat > "$dir/sshd_config" <<CONFIG
ListenAddress 0.0.0.0:22
HostKey $dir/host_key
PidFile $RUN/$host/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitUserEnvironment DOCKER_HOST
StrictModes no
UsePAM no
CONFIG
  in_host "$host" /usr/sbin/sshd -f "$dir/sshd_config" -E "$STATE/$host/sshd.log"
  # An agent holding the client key, for the ssh client (no key file of the user is touched).
  ssh-agent -a "$RUN/agent.sock" > "$STATE/agent.env"
  sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$STATE/agent.env" > "$STATE/agent.pid"
  SSH_AUTH_SOCK=$RUN/agent.sock ssh-add -q "$STATE/client/id_ed25519"
  printf 'SSH_AUTH_SOCK=%s\n' "$RUN/agent.sock" > "$STATE/env"
}

# Debian packages the hosts need, installed once (not started as services).
install_package() {
  local package=$1
  log "installing Debian's $package (not started as a service)"
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" > /dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" > /dev/null; }
  rm -f /usr/sbin/policy-rc.d
}

# edge's way out, for its image builds: a default route to this machine, masqueraded here.
open_edge_outbound() {
  local ip; ip=$(address edge)
  in_host edge ip route add default via "$SUBNET_PREFIX.1"
  iptables -I FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -s "$ip" -j ACCEPT
  iptables -I FORWARD -o "$BRIDGE" -d "$ip" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  iptables -t nat -A POSTROUTING -s "$ip" ! -o "$BRIDGE" -j MASQUERADE
}

# A registry on this machine's bridge address, TLS (the test CA) and one user with a random password.
start_registry() {
  [ -x /usr/bin/docker-registry ] || install_package docker-registry
  command -v curl > /dev/null || install_package curl
  local dir=$STATE/registry password
  mkdir -p "$dir/data" "$REGISTRY_TRUST"
  cp "$STATE/pki/ca.pem" "$REGISTRY_TRUST/ca.crt"
  password=$(openssl rand -hex 16)
  # The registry reads bcrypt hashes only; the kit's own bcrypt library makes one.
  printf 'rkci:%s\n' "$(cd "$REPO_ROOT" && node -e 'process.stdout.write(require("bcryptjs").hashSync(process.argv[1], 10))' "$password")" > "$dir/htpasswd"
  cat > "$dir/config.yml" <<CONFIG
version: 0.1
log: { level: warn }
storage: { filesystem: { rootdirectory: $dir/data } }
http:
  addr: $REGISTRY
  tls: { certificate: $STATE/pki/registry.pem, key: $STATE/pki/registry-key.pem }
auth: { htpasswd: { realm: realtime-kit-test-hosts, path: $dir/htpasswd } }
CONFIG
  /usr/bin/docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 &
  echo $! > "$STATE/registry.pid"
  for _ in $(seq 1 50); do
    curl -s -o /dev/null --cacert "$STATE/pki/ca.pem" "https://$REGISTRY/v2/" && break
    sleep 0.2
  done
  curl -s -o /dev/null --cacert "$STATE/pki/ca.pem" "https://$REGISTRY/v2/" || { log "the registry did not answer; its log:"; tail -20 "$dir/registry.log" >&2; return 1; }
  printf 'REGISTRY_SERVER=%s\nREGISTRY_USERNAME=rkci\nREGISTRY_PASSWORD=%s\n' "$REGISTRY" "$password" >> "$STATE/env"
}

write_config() {
  cat > "$STATE/three-hosts.yaml" <<CONFIG
# multi-node over the three test hosts: the edge (HAProxy, stunnel, Redis) on edge, the realtime
# and app nodes on node2 and node3 (round-robin), each engine reached as a user would reach it.
hosts:
  - { name: edge,  docker: "tcp://$(address edge):2376",  address: $(address edge),  certPath: $STATE/client }
  - { name: node2, docker: "tcp://$(address node2):2376", address: $(address node2), certPath: $STATE/client }
  - { name: node3, docker: "ssh://root@$(address node3)",  address: $(address node3) }
realtime: { nodes: 2, hosts: [node2, node3] }
app: { nodes: 2, hosts: [node2, node3] }
CONFIG
}

start() {
  [ "$(id -u)" = 0 ] || { log "needs root (network namespaces, dockerd)"; exit 1; }
  stop
  local started=$SECONDS
  mkdir -p "$STATE" "$RUN"
  ip link add "$BRIDGE" type bridge
  ip addr add "$SUBNET_PREFIX.1/24" dev "$BRIDGE"
  for client in $(seq 101 108); do ip addr add "$SUBNET_PREFIX.$client/24" dev "$BRIDGE"; done
  ip link set "$BRIDGE" up
  # The main engine's FORWARD policy is DROP, and bridged frames pass through iptables here.
  iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  make_pki
  for host in "${HOSTS[@]}"; do start_host "$host"; done
  for host in "${HOSTS[@]}"; do wait_engine "$host"; done
  log "engines up in $((SECONDS - started)) s; loading images"
  local pids=()
  for host in "${HOSTS[@]}"; do load_images "$host" & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid"; done
  start_sshd
  start_registry
  open_edge_outbound
  write_config
  log "three hosts up in $((SECONDS - started)) s: $STATE/three-hosts.yaml"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
