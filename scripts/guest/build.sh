#!/usr/bin/env bash
# Builds the mini-lab's tiny guest from Debian packages (how the lab uses it: adapters/lab/README.md):
#   OUT/vmlinuz         kernel of linux-image-*-cloud-amd64 (apt-get download + dpkg-deb -x,
#                       never installed on this machine)
#   OUT/initramfs.gz    busybox-static + scripts/guest/init + the virtio modules in load order +
#                       the service scripts + qemu-ga with its libraries (if downloadable)
# OUT defaults to out/guest (ignored by git). Nothing is cached outside it. Re-running is quick:
# when the inputs (kernel version, this script, init, svc/*) are unchanged, it only says so.
# Usage: scripts/guest/build.sh [OUT]      Prints OUT/vmlinuz and OUT/initramfs.gz.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/out/guest}
mkdir -p "$out/debs"
out=$(cd "$out" && pwd)
log() { echo "[guest] $*" >&2; }

for tool in apt-get apt-cache dpkg-deb cpio gzip busybox; do
  command -v "$tool" >/dev/null || { log "missing $tool: run node scripts/setup.mjs (installs scripts/apt/lab.txt)"; exit 1; }
done

# The kernel package behind the metapackage, e.g. linux-image-6.1.0-56-cloud-amd64.
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [ -z "$kpkg" ]; then
  log "no package lists: apt-get update"
  apt-get update -qq
  kpkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
fi
[ -n "$kpkg" ] || { log "cannot find linux-image-*-cloud-amd64 in apt"; exit 1; }
kver=${kpkg#linux-image-}

inputs=$( { echo "$kpkg"; cat "$here/build.sh" "$here/init" "$here"/svc/*; dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || true; } | sha256sum | cut -c1-16)
if [ -f "$out/vmlinuz" ] && [ -f "$out/initramfs.gz" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$inputs" ]; then
  log "up to date ($kpkg)"
  echo "$out/vmlinuz"; echo "$out/initramfs.gz"
  exit 0
fi

fetch() { # fetch PACKAGE -> path of its .deb in $out/debs (downloaded once)
  local pkg=$1 deb
  deb=$(ls "$out/debs/${pkg}"_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    (cd "$out/debs" && apt-get download -qq "$pkg" >/dev/null 2>&1) \
      || { apt-get update -qq && (cd "$out/debs" && apt-get download -qq "$pkg" >/dev/null); }
    deb=$(ls "$out/debs/${pkg}"_*.deb | head -1)
  fi
  echo "$deb"
}

work=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "kernel $kpkg"
kdeb=$(fetch "$kpkg")
dpkg-deb -x "$kdeb" "$work/k"
cp "$work/k/boot/vmlinuz-$kver" "$work/vmlinuz"

root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,etc,lib/modules,svc,var/run}
cp "$(command -v busybox)" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$here/init" "$root/init"
cp "$here"/svc/*.sh "$root/svc/"
chmod 755 "$root/init" "$root"/svc/*.sh

# virtio modules (plain .ko, or compressed on newer kernels)
mods="$work/k/lib/modules/$kver"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net virtio_console; do
  f=$(find "$mods" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -1)
  if [ -z "$f" ]; then log "module $m not found (built in?)"; continue; fi
  case "$f" in
    *.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
    *.zst) zstd -dqc "$f" > "$root/lib/modules/$m.ko" ;;
    *) cp "$f" "$root/lib/modules/$m.ko" ;;
  esac
done

# qemu-guest-agent, optional: moves VIPs into guests (guest-exec ip addr add + arping).
if gadeb=$(fetch qemu-guest-agent 2>/dev/null) && [ -n "$gadeb" ]; then
  dpkg-deb -x "$gadeb" "$work/ga"
  cp "$work/ga/usr/sbin/qemu-ga" "$root/usr/bin/qemu-ga"
  missing=$(ldd "$root/usr/bin/qemu-ga" | awk '/not found/ { print $1 }')
  if [ -n "$missing" ]; then
    log "qemu-ga left out: libraries not on this machine: $missing"
    rm -f "$root/usr/bin/qemu-ga"
  else
    for lib in $(ldd "$root/usr/bin/qemu-ga" | grep -o '/[^ ]*'); do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  fi
else
  log "qemu-guest-agent not downloadable: guests without it"
fi

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initramfs.gz"
mv "$work/vmlinuz" "$out/vmlinuz"
mv "$work/initramfs.gz" "$out/initramfs.gz"
echo "$inputs" > "$out/stamp"
log "built $(du -h "$out/initramfs.gz" | cut -f1) initramfs, kernel $kver"
echo "$out/vmlinuz"; echo "$out/initramfs.gz"
