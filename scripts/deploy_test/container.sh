# shellcheck shell=bash
# The Debian 12 container of deploy_test.sh: root filesystem (cached as a tarball), boot under
# systemd-nspawn with a real systemd as PID 1, commands inside it, and clean-up. Sourced by
# deploy_test.sh, never run on its own.
#
# Facts of the machines this runs on (issue 15): no systemd on the host, so --register=no
# --keep-unit and a tmpfs on /run/systemd/nspawn; cgroup v1, so SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0
# (1 on a cgroup v2 host);
# --private-network, so the container has a loopback of its own.

SUITE=bookworm
MIRROR=${DEPLOY_TEST_MIRROR:-http://deb.debian.org/debian}
INCLUDE=systemd,systemd-sysv,dbus,curl,ca-certificates,jq,iproute2,openssl
CT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

nspawn_pid=""        # systemd-nspawn, a child of this shell
# shellcheck disable=SC2034 # read by steps.sh
nspawn_rc=0          # its exit status, set by wait_nspawn
leader=""            # the container's PID 1 (systemd) as the host sees it
mounted_nspawn_run=0 # 1 when this run mounted the tmpfs on /run/systemd/nspawn

# rootfs_tarball: prints the cached root filesystem tarball, made with debootstrap when missing.
# Its name carries a hash of what went into it, so changing INCLUDE makes a new one.
rootfs_tarball() {
  local key tarball build
  key=$(printf '%s %s minbase %s\n' "$SUITE" "$(dpkg --print-architecture)" "$INCLUDE" | sha256sum | cut -c1-12)
  tarball=$CACHE_DIR/debian12-$key.tar
  if [ -s "$tarball" ]; then
    say "root filesystem: cached $tarball" >&2
    printf '%s\n' "$tarball"
    return
  fi
  mkdir -p "$CACHE_DIR"
  build=$(mktemp -d "$CACHE_DIR/.build.XXXXXX")
  say "root filesystem: debootstrap $SUITE into $build (once; cached as $tarball)" >&2
  if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$build/root" "$MIRROR" >"$build/debootstrap.log" 2>&1; then
    tail -n 30 "$build/debootstrap.log" >&2
    rm -rf --one-file-system "$build"
    die "debootstrap failed (log above)"
  fi
  rm -rf "$build/root/var/cache/apt/archives/"*.deb "$build/root/var/lib/apt/lists/"*
  printf 'canistry-test\n' >"$build/root/etc/hostname"
  tar --numeric-owner -C "$build/root" -cpf "$build/rootfs.tar" .
  mv -f "$build/rootfs.tar" "$tarball"
  rm -rf --one-file-system "$build"
  printf '%s\n' "$tarball"
}

# prepare_nspawn_run: nspawn needs /run/systemd/nspawn on a file system it may clean up; a host
# without systemd has none, so mount a tmpfs there (unmounted by cleanup_container).
prepare_nspawn_run() {
  [ -d /run/systemd/system ] && return 0 # a systemd host manages it itself
  mkdir -p /run/systemd/nspawn
  if ! mountpoint -q /run/systemd/nspawn; then
    mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn
    mounted_nspawn_run=1
  fi
}

# boot: starts the container on $ROOTFS and waits until its systemd reports the boot finished.
boot() {
  local deadline state unified=1
  # A cgroup v1 host (/sys/fs/cgroup a tmpfs of controllers) needs the legacy layout inside too.
  [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || unified=0
  SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=$unified systemd-nspawn --boot --register=no --keep-unit \
    --private-network --console=read-only --machine="$MACHINE" -D "$ROOTFS" \
    </dev/null >>"$WORK/console.log" 2>&1 9>&- &
  nspawn_pid=$!
  leader=""
  deadline=$((SECONDS + 60))
  # Wait for systemd as PID 1 and for its private bus socket, which systemctl needs.
  until [ -n "$leader" ] && [ -S "/proc/$leader/root/run/systemd/private" ]; do
    kill -0 "$nspawn_pid" 2>/dev/null || { tail -n 20 "$WORK/console.log" >&2; die "systemd-nspawn exited during boot"; }
    [ "$SECONDS" -lt "$deadline" ] || die "no systemd in the container after 60 s"
    sleep 0.2
    leader=$(container_init "$nspawn_pid")
  done
  state=$(timeout 120 nsenter -t "$leader" -a env -i PATH="$CT_PATH" systemctl is-system-running --wait 2>&1) || true
  case "$state" in
  running) ;;
  degraded)
    warn "the container booted degraded:"
    ct systemctl --failed --no-legend >&2 || true
    ;;
  *)
    tail -n 30 "$WORK/console.log" >&2
    die "the container did not finish booting: $state"
    ;;
  esac
  say "container $MACHINE booted: systemd is PID 1 (host PID $leader), state $state"
}

# container_init PID: the child of systemd-nspawn PID once it runs systemd, else nothing.
container_init() {
  local kids kid
  kids=$(cat "/proc/$1/task/$1/children" 2>/dev/null) || return 0
  for kid in $kids; do
    if [ "$(cat "/proc/$kid/comm" 2>/dev/null)" = systemd ]; then
      printf '%s\n' "$kid"
      return
    fi
  done
}

# ct CMD...: runs CMD inside the container (all its namespaces) as root with a clean environment.
ct() {
  if [ -z "$nspawn_pid" ] || ! kill -0 "$nspawn_pid" 2>/dev/null; then die "the container is not running"; fi
  nsenter -t "$leader" -a env -i PATH="$CT_PATH" LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@" 9>&-
}

# wait_nspawn SECONDS: waits for systemd-nspawn to exit and sets nspawn_rc to its exit status
# (133: the container asked for a reboot); kills it after SECONDS.
wait_nspawn() {
  local deadline=$((SECONDS + $1))
  nspawn_rc=0
  while kill -0 "$nspawn_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  if kill -0 "$nspawn_pid" 2>/dev/null; then
    warn "systemd-nspawn still running after $1 s; killing it"
    kill -KILL "$nspawn_pid" 2>/dev/null || true
  fi
  # shellcheck disable=SC2034 # read by steps.sh
  wait "$nspawn_pid" || nspawn_rc=$?
  nspawn_pid=""
}

# poweroff_container: asks the container to shut down (nspawn turns SIGTERM into a clean
# poweroff of a booted container) and waits for it.
poweroff_container() {
  [ -n "$nspawn_pid" ] || return 0
  kill -TERM "$nspawn_pid" 2>/dev/null || true
  wait_nspawn 60
}

# cleanup_container: stops the container, unmounts whatever is left under the work directory
# and /run/systemd/nspawn (if this run mounted it), and deletes the work directory.
cleanup_container() {
  local m
  poweroff_container || true
  if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
    # deepest first
    while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
      awk -v w="$WORK" 'index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
    )
    if [ "${KEEP:-0}" = 1 ]; then
      say "kept $WORK (--keep)"
    else
      rm -rf --one-file-system "$WORK"
    fi
  fi
  if [ "$mounted_nspawn_run" = 1 ]; then
    umount /run/systemd/nspawn 2>/dev/null || umount -l /run/systemd/nspawn 2>/dev/null || true
    mounted_nspawn_run=0
  fi
}
