#!/usr/bin/env bash
# testbed.sh - N fake "remote Linux hosts" on one machine, for the SSH tests.
# Driven by test/helpers/testbed.ts, which gives every test run its own TB_STATE, TB_PREFIX
# and TB_SUBNET so that runs in parallel never share a bridge, a namespace or an address.
#
# Each host hN is:
#   * a network namespace <prefix>-hN with eth0 = $TB_SUBNET.(10+N)/24, joined to the
#     root namespace by a veth on bridge <prefix>-br0 ($TB_SUBNET.1). No default route:
#     the hosts reach each other and the root ns, nothing else (no registry, no DNS).
#   * its own mount, UTS, IPC and PID namespaces (unshare --fork --kill-child); PID 1 is sshd.
#   * its own root filesystem: overlayfs with lowerdir=/ and a per-host tmpfs as upperdir,
#     then chroot. Every write anywhere (/opt, /etc, /usr/local, /var/lib ...) is private to
#     that host and vanishes on `down`. /tmp, /run, /root are fresh tmpfs; the checkout (TB_HIDE_DIRS) is hidden;
#     node/npm/npx/corepack are whited out (a real fresh host has no node) unless TB_HOST_NODE=1.
#   * sshd on <ip>:22 only, own ed25519 host key, key-only root login, UsePAM no.
#   * hosts named in TB_SYSTEMD (e.g. "h2 h3") boot systemd as their PID 1 instead, in a
#     cgroup namespace over a cgroup of their own, with sshd as a unit: kctl finds systemd
#     there and runs its nodes as units. Units that would touch the machine rather than
#     the host (udev, sysctl, modules, clock, binfmt, the kernel's file systems, gettys)
#     are masked; everything else writes only to the host's overlay.
#
# Verbs:
#   up N            tear down leftovers, then create h1..hN and wait until each sshd answers
#   down            kill every process in the hosts' namespaces, delete netns/veth/bridge/state
#   exec HOST CMD.. run CMD inside HOST's namespaces + chroot (no ssh), e.g. for assertions
#   poweroff HOST   every process of HOST dies at once, then its link goes down (a crashed host)
#   ssh HOST [CMD]  ssh root@HOST with the generated key/known_hosts/config
#   status          list hosts, pids, reachability
#   env             print shell variables for tests (TB_SSH_CONFIG, TB_KEY, TB_KNOWN_HOSTS)
# Settings (environment): TB_STATE ($TMPDIR/kctl-testbed), TB_PREFIX (kt), TB_SUBNET (10.231.0),
#   TB_HOST_NODE (0), TB_HOST_TMPFS_SIZE (2g), TB_SSHD_LOGLEVEL (INFO),
#   TB_MAXSTARTUPS (10:30:100), TB_MAXSESSIONS (10),
#   TB_HIDE (CI-machine paths whited out on hosts: /var/lib/kctl /etc/kctl /opt/kctl ...),
#   TB_SYSTEMD (hosts whose PID 1 is systemd; none by default).
# Needs: root, iproute2, util-linux (unshare/nsenter), openssh-server, overlayfs in the kernel;
#   systemd for TB_SYSTEMD hosts.
#
# Pitfalls (each cost a debugging round):
#   * interface names are at most 15 characters: keep TB_PREFIX short (`<prefix>-h12`, `<prefix>-br0`).
#   * `up` first runs `down` for the same prefix: two runs must never share a prefix or subnet.
#   * PID 1 of a host is sshd under `unshare --kill-child`: killing the unshare launcher kills the
#     host's whole pid namespace (processes started over SSH included); netns/veth/bridge are
#     deleted by name, the per-host tmpfs dies with the host's mount namespace.
#   * the host's /proc is its own (pid namespace), but boot_id is the machine's: process identities
#     (pid + boot id + start time) read on a host are only meaningful on that host.
#   * a host has no route out and no DNS: nothing can be downloaded there, and `ssh` to it by a
#     name works only through the generated ssh_config (or the address).
#   * systemd as PID 1 cleans /tmp at boot (tmpfiles) and creates cgroups at the root of its
#     cgroup namespace: it must only ever run inside a host's overlay, never on the machine's
#     own /, and in a cgroup made for it (removed by `down`).
#   * sshd's stock MaxStartups: more than 10 simultaneous unauthenticated connections to one
#     host get dropped ("kex_exchange_identification"); reuse one master connection per host.
set -euo pipefail

TB_STATE=${TB_STATE:-${TMPDIR:-/tmp}/kctl-testbed}
TB_PREFIX=${TB_PREFIX:-kt}
TB_SUBNET=${TB_SUBNET:-10.231.0}
TB_HOST_NODE=${TB_HOST_NODE:-0}
TB_HOST_TMPFS_SIZE=${TB_HOST_TMPFS_SIZE:-2g}
TB_SSHD_LOGLEVEL=${TB_SSHD_LOGLEVEL:-INFO}
# sshd's stock limits by default (a real host has them): >10 concurrent unauthenticated
# connections to ONE host start being dropped ("kex_exchange_identification: Connection closed")
TB_MAXSTARTUPS=${TB_MAXSTARTUPS:-10:30:100}
TB_MAXSESSIONS=${TB_MAXSESSIONS:-10}
# paths of the CI machine that must not exist on a fresh remote host (left by local-mode tests)
TB_HIDE=${TB_HIDE:-/var/lib/kctl /etc/kctl /opt/kctl /usr/local/kong /var/log/kctl}
TB_SYSTEMD=${TB_SYSTEMD:-}
# the checkout under test: a host must not see it, so an installer that forgets to copy fails
TB_HIDE_DIRS=${TB_HIDE_DIRS:-$(git rev-parse --show-toplevel 2>/dev/null || true)}
SELF=$(readlink -f "${BASH_SOURCE[0]}")
BR=${TB_PREFIX}-br0

die() { echo "testbed: $*" >&2; exit 1; }
log() { echo "testbed: $*" >&2; }
nsname() { echo "${TB_PREFIX}-$1"; }
ip_of() { local n=${1#h}; [[ $n =~ ^[0-9]+$ ]] || die "bad host name: $1"; echo "$TB_SUBNET.$((10 + n))"; }

# ---------------------------------------------------------------- host PID 1 (internal)
# Runs as PID 1 of the host's new pid namespace, inside its netns and a private mount ns.
_init() {
  local h=$1 ip d rw m
  ip=$(ip_of "$h"); d=$TB_STATE/$h; rw=$d/rw; m=$d/root
  # our pid as seen from the root pid ns (/proc is still the root's proc here; the read is
  # done by this bash process itself, so /proc/self is us - `awk .. /proc/self/status` is not)
  local k v _; while read -r k v _; do [[ $k == NSpid: ]] && echo "$v" >"$d/init.pid"; done </proc/self/status
  hostname "$h"
  mount --make-rprivate /
  mkdir -p "$rw" "$m"
  mount -t tmpfs -o "mode=755,size=$TB_HOST_TMPFS_SIZE" "tb-$h" "$rw"
  mkdir -p "$rw/upper" "$rw/work"
  # Whiteouts (char dev 0/0 in upperdir): these paths do not exist on the host.
  local wh=($TB_HIDE_DIRS $TB_HIDE)
  [[ $TB_HOST_NODE == 1 ]] || wh+=(/usr/bin/node /usr/bin/npm /usr/bin/npx /usr/bin/corepack
                                  /usr/lib/node_modules /usr/include/node /usr/share/doc/nodejs)
  local p
  for p in "${wh[@]}"; do
    [[ -e $p || -L $p ]] || continue
    mkdir -p "$rw/upper$(dirname "$p")"
    mknod "$rw/upper$p" c 0 0
  done
  mount -t overlay "tb-$h" -o "lowerdir=/,upperdir=$rw/upper,workdir=$rw/work" "$m"
  mount -t proc proc "$m/proc"
  mount -t sysfs sysfs "$m/sys"
  mount --rbind /dev "$m/dev"
  mount -t tmpfs -o mode=1777 tmpfs "$m/tmp"
  mount -t tmpfs -o mode=755 tmpfs "$m/run"
  mount -t tmpfs -o mode=700 tmpfs "$m/root"
  mkdir -p -m 755 "$m/run/sshd" "$m/run/lock"       # sshd privilege separation dir
  cp -a /etc/skel/. "$m/root/"
  mkdir -m 700 "$m/root/.ssh"
  install -m 600 "$TB_STATE/id_ed25519.pub" "$m/root/.ssh/authorized_keys"
  # identity files (copied up into this host's overlay only)
  echo "$h" >"$m/etc/hostname"
  { echo "127.0.0.1 localhost"; echo "$ip $h"; cat "$TB_STATE/hosts"; } | sort -u >"$m/etc/hosts"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$m/etc/machine-id"; echo >>"$m/etc/machine-id"
  rm -f "$m"/etc/ssh/ssh_host_*
  install -m 600 "$d/ssh_host_ed25519_key" "$m/etc/ssh/ssh_host_ed25519_key"
  install -m 644 "$d/ssh_host_ed25519_key.pub" "$m/etc/ssh/ssh_host_ed25519_key.pub"
  cat >"$m/etc/ssh/sshd_config" <<EOF
# generated by testbed.sh for $h
ListenAddress $ip:22
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes yes
UseDNS no
PrintMotd no
MaxStartups $TB_MAXSTARTUPS
MaxSessions $TB_MAXSESSIONS
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
LogLevel $TB_SSHD_LOGLEVEL
EOF
  cd /
  if [[ " $TB_SYSTEMD " == *" $h "* ]]; then
    _systemd_units "$m"
    exec unshare --cgroup chroot "$m" /usr/bin/env container=kctl-testbed /lib/systemd/systemd --system --unit=kctl-testbed.target --show-status=no
  fi
  exec chroot "$m" /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config
}

# Units of a systemd host (in its overlay): a target with sshd only, and masks for what
# would reach the machine beyond the host.
_systemd_units() {
  local u e=$1/etc/systemd/system
  mkdir -p "$e"
  printf '%s\n' '[Unit]' 'Description=test bed host' 'Wants=kctl-testbed-sshd.service' 'AllowIsolate=yes' >"$e/kctl-testbed.target"
  printf '%s\n' '[Unit]' 'Description=sshd of the test bed host' 'DefaultDependencies=no' '[Service]' \
    'ExecStart=/usr/sbin/sshd -D -e -f /etc/ssh/sshd_config' 'KillMode=process' >"$e/kctl-testbed-sshd.service"
  for u in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
           systemd-udev-trigger.service systemd-udev-settle.service systemd-sysctl.service \
           systemd-modules-load.service kmod-static-nodes.service systemd-timesyncd.service \
           systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount \
           sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
           sys-fs-fuse-connections.mount dev-hugepages.mount dev-mqueue.mount \
           systemd-remount-fs.service systemd-pstore.service systemd-firstboot.service \
           systemd-repart.service systemd-random-seed.service systemd-logind.service \
           getty@tty1.service console-getty.service getty.target ssh.service sshd.service \
           systemd-hwdb-update.service ldconfig.service; do
    ln -sfn /dev/null "$e/$u"
  done
}

# Moves this process (the launcher of a systemd host) into a cgroup of its own in every
# hierarchy, listed in $d/cgroups for `down`; with `unshare --cgroup`, the host's systemd
# sees it as its root. Done before `ip netns exec`, whose fresh /sys has no cgroups.
_own_cgroup() {
  local h=$1 d=$2 line ctl path dir lines
  : >"$d/cgroups"
  # read whole first: a move changes what the file says of the hierarchies after it
  mapfile -t lines </proc/self/cgroup
  for line in "${lines[@]}"; do
    ctl=${line#*:}; path=${ctl#*:}; ctl=${ctl%%:*}
    case $ctl in
      '') dir=/sys/fs/cgroup/unified; [[ -d $dir ]] || dir=/sys/fs/cgroup ;;
      name=*) dir=/sys/fs/cgroup/${ctl#name=} ;;
      *cpuset*) continue ;;  # a new cpuset takes no process until given cpus and mems
      *) dir=/sys/fs/cgroup/$ctl ;;
    esac
    [[ -f $dir/cgroup.procs ]] || continue
    dir=${dir}${path%/}/tb-$TB_PREFIX-$h
    mkdir -p "$dir" && echo "$dir" >>"$d/cgroups" && echo 0 >"$dir/cgroup.procs"
  done
}

# ---------------------------------------------------------------- down
down() {
  local n pids i f p killed=()
  # 1) launchers from pid files, only if they still are our `unshare ... testbed.sh _init hN`
  #    (--kill-child: the host's PID 1 gets SIGKILL with it, so its whole pid ns dies)
  for f in "$TB_STATE"/h[0-9]*/unshare.pid; do
    [[ -s $f ]] || continue
    p=$(cat "$f")
    if [[ -r /proc/$p/cmdline ]] && tr '\0' ' ' </proc/$p/cmdline | grep -q "testbed.sh _init h"; then
      kill -KILL "$p" 2>/dev/null || true
      killed+=("$p")
    fi
  done
  # SIGKILL is asynchronous: wait until each launcher is gone (or a zombie) before going on
  for p in "${killed[@]}"; do
    for i in $(seq 100); do
      [[ -r /proc/$p/stat ]] || break
      [[ $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1) == [ZX] ]] && break
      sleep 0.05
    done
  done
  # 2) anything still living in our named network namespaces
  for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${TB_PREFIX}-h[0-9]+$" || true); do
    pids=$(ip netns pids "$n" 2>/dev/null || true)
    if [[ -n $pids ]]; then
      kill -TERM $pids 2>/dev/null || true
      for i in $(seq 20); do
        pids=$(ip netns pids "$n" 2>/dev/null || true)
        [[ -z $pids ]] && break
        sleep 0.1
      done
      [[ -n $pids ]] && kill -KILL $pids 2>/dev/null || true
    fi
    ip netns del "$n" 2>/dev/null || true
  done
  for n in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' |
             grep -E "^${TB_PREFIX}-(h[0-9]+|br0)$" || true); do
    ip link del "$n" 2>/dev/null || true
  done
  # the cgroups of systemd hosts, once their processes are gone (deepest first)
  for f in "$TB_STATE"/h[0-9]*/cgroups; do
    [[ -s $f ]] || continue
    while IFS= read -r p; do
      [[ $p == /sys/fs/cgroup/*tb-"$TB_PREFIX"-h[0-9]* && -d $p ]] || continue
      find "$p" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done <"$f"
  done
  # State lives on disk only as keys/config/logs; the per-host filesystems were tmpfs in
  # the hosts' own mount namespaces and died with them.
  if [[ -d $TB_STATE ]]; then
    rm -rf "${TB_STATE:?}"/h[0-9]* "$TB_STATE"/hosts "$TB_STATE"/known_hosts "$TB_STATE"/ssh_config \
           "$TB_STATE"/cm 2>/dev/null || true
  fi
}

# ---------------------------------------------------------------- up
up() {
  local n=${1:-3} i h ip d t0
  [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 200 ]] || die "up N: N in 1..200"
  [[ $(id -u) == 0 ]] || die "must run as root"
  command -v ip >/dev/null || die "iproute2 missing"
  [[ -x /usr/sbin/sshd ]] || die "/usr/sbin/sshd missing: apt-get install -y openssh-server"
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || die "no overlayfs"
  t0=$(date +%s.%N)
  down
  mkdir -p "$TB_STATE"; chmod 700 "$TB_STATE"
  [[ -f $TB_STATE/id_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C testbed -f "$TB_STATE/id_ed25519"
  # bridge in the root namespace
  ip link add "$BR" type bridge
  ip addr add "$TB_SUBNET.1/24" dev "$BR"
  ip link set "$BR" up
  : >"$TB_STATE/hosts"; : >"$TB_STATE/known_hosts"
  { echo "# generated by testbed.sh"; } >"$TB_STATE/ssh_config"
  for i in $(seq "$n"); do
    h=h$i; ip=$(ip_of "$h"); d=$TB_STATE/$h
    mkdir -p "$d"
    ssh-keygen -q -t ed25519 -N '' -C "$h" -f "$d/ssh_host_ed25519_key"
    echo "$ip $h" >>"$TB_STATE/hosts"
    echo "$h,$ip $(cut -d' ' -f1,2 "$d/ssh_host_ed25519_key.pub")" >>"$TB_STATE/known_hosts"
    cat >>"$TB_STATE/ssh_config" <<EOF
Host $h $ip
  HostName $ip
EOF
  done
  cat >>"$TB_STATE/ssh_config" <<EOF
Host *
  User root
  IdentityFile $TB_STATE/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $TB_STATE/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
  LogLevel ERROR
EOF
  for i in $(seq "$n"); do
    h=h$i; ip=$(ip_of "$h"); d=$TB_STATE/$h
    ip netns add "$(nsname "$h")"
    ip link add "$(nsname "$h")" type veth peer name eth0 netns "$(nsname "$h")"
    ip link set "$(nsname "$h")" master "$BR" up
    ip -n "$(nsname "$h")" link set lo up
    ip -n "$(nsname "$h")" addr add "$ip/24" dev eth0
    ip -n "$(nsname "$h")" link set eth0 up
    (if [[ " $TB_SYSTEMD " == *" $h "* ]]; then _own_cgroup "$h" "$d"; fi
    exec setsid ip netns exec "$(nsname "$h")" \
      unshare --mount --uts --ipc --pid --fork --kill-child --propagation private \
      env TB_STATE="$TB_STATE" TB_PREFIX="$TB_PREFIX" TB_SUBNET="$TB_SUBNET" TB_HOST_NODE="$TB_HOST_NODE" \
          TB_HOST_TMPFS_SIZE="$TB_HOST_TMPFS_SIZE" TB_SSHD_LOGLEVEL="$TB_SSHD_LOGLEVEL" TB_HIDE="$TB_HIDE" \
          TB_MAXSTARTUPS="$TB_MAXSTARTUPS" TB_MAXSESSIONS="$TB_MAXSESSIONS" TB_SYSTEMD="$TB_SYSTEMD" \
      "$SELF" _init "$h" </dev/null >"$d/sshd.log" 2>&1) &
    echo $! >"$d/unshare.pid"
  done
  # wait for every sshd to print its banner
  for i in $(seq "$n"); do
    h=h$i; ip=$(ip_of "$h")
    local ok=0 k
    for k in $(seq 400); do   # up to ~25 s: a systemd host boots first
      if timeout 1 bash -c "exec 3<>/dev/tcp/$ip/22 && head -c 4 <&3" 2>/dev/null | grep -q SSH-; then ok=1; break; fi
      sleep 0.05
    done
    [[ $ok == 1 ]] || { cat "$TB_STATE/$h/sshd.log" >&2; die "$h: sshd did not come up"; }
  done
  log "up: $n hosts in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')s; ssh -F $TB_STATE/ssh_config h1"
}

# ---------------------------------------------------------------- exec / ssh / status
hexec() {
  local h=$1; shift
  local f=$TB_STATE/$h/init.pid pid
  [[ -s $f ]] || die "$h is not up"
  pid=$(cat "$f")
  [[ -d /proc/$pid ]] || die "$h: init pid $pid is gone"
  [[ $# -gt 0 ]] || set -- /bin/bash -l
  exec nsenter -t "$pid" -m -u -i -n -p -r -w -- "$@"
}

hssh() {
  local h=$1; shift
  exec ssh -F "$TB_STATE/ssh_config" "$h" "$@"
}

# A host that crashes or loses power: every process in it dies at once (its sshd closes the
# connections it had), then its link goes down, so new connections to it find no route.
poweroff() {
  local h=$1 f pid
  f=$TB_STATE/$h/unshare.pid
  [[ -s $f ]] || die "$h is not up"
  pid=$(cat "$TB_STATE/$h/init.pid" 2>/dev/null || true)
  [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 100); do [[ -n $pid && -d /proc/$pid ]] || break; sleep 0.05; done
  ip link set "$(nsname "$h")" down 2>/dev/null || true
  rm -f "$TB_STATE/$h/init.pid"
}

status() {
  local n h pid
  for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${TB_PREFIX}-h[0-9]+$" | sort -V || true); do
    h=${n#"${TB_PREFIX}"-}
    pid=$(cat "$TB_STATE/$h/init.pid" 2>/dev/null || echo '?')
    if timeout 1 bash -c "exec 3<>/dev/tcp/$(ip_of "$h")/22" 2>/dev/null; then s=listening; else s=DOWN; fi
    echo "$h $(ip_of "$h") init_pid=$pid sshd=$s procs=$(ip netns pids "$n" | wc -l)"
  done
}

case ${1:-} in
  up) shift; up "$@" ;;
  down) down ;;
  exec) shift; [[ $# -ge 1 ]] || die "exec HOST [CMD...]"; hexec "$@" ;;
  ssh) shift; [[ $# -ge 1 ]] || die "ssh HOST [CMD...]"; hssh "$@" ;;
  poweroff) shift; [[ $# -eq 1 ]] || die "poweroff HOST"; poweroff "$1" ;;
  status) status ;;
  env) echo "TB_SSH_CONFIG=$TB_STATE/ssh_config TB_KEY=$TB_STATE/id_ed25519 TB_KNOWN_HOSTS=$TB_STATE/known_hosts" ;;
  _init) shift; _init "$@" ;;
  *) sed -n '2,/^set -euo/p' "$SELF" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
