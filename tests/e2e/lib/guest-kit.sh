#!/bin/bash
# Builds the e2e test guest from this machine's Debian packages: Debian's kernel (linux-image-amd64,
# booted as an uncompressed ELF through qemu's PVH entry, which skips the real-mode setup and the
# decompressor that are slow under TCG) and a small initramfs: busybox-static, nbd-client, socat,
# mke2fs and our s3nbd CLI (stripped, at /usr/bin/s3nbd as the units name it) with their shared
# libraries (host and guest are the same Debian release), the modules for virtio, nbd and ext4,
# and tests/e2e/guest/ (init, lib.sh, job-*.sh). No network in the guest.
#   tests/e2e/lib/guest-kit.sh OUTDIR      -> OUTDIR/{kernel,initrd.gz,kver}
# env: S3NBD_E2E_KVER  kernel version to use (default: the newest in /lib/modules with /boot/vmlinuz)
#      S3NBD_BUILD     build directory holding s3nbd (default: build)
set -euo pipefail
OUT=${1:?usage: guest-kit.sh OUTDIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GUEST_SRC=$HERE/../guest
BUILD=${S3NBD_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$HERE/../../../$BUILD ;; esac
S3NBD_BIN=$BUILD/s3nbd
die() { echo "guest-kit: FATAL: $*" >&2; exit 1; }

[ -x "$S3NBD_BIN" ] || die "$S3NBD_BIN is not built (make build; or set S3NBD_BUILD)"
for t in busybox nbd-client socat mke2fs cpio gzip xz modprobe ldd strip; do
  command -v "$t" >/dev/null || die "'$t' is not installed (make deps)"
done
BUSYBOX=$(command -v busybox)
# the guest has no libc of its own at /bin: busybox must be the static build
ldd "$BUSYBOX" >/dev/null 2>&1 && die "$BUSYBOX is dynamically linked; install busybox-static"

if [ -n "${S3NBD_E2E_KVER:-}" ]; then
  KVER=$S3NBD_E2E_KVER
else
  KVER=
  for d in $(find /lib/modules -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V); do
    [ -f "/boot/vmlinuz-$d" ] && [ -n "$(find "/lib/modules/$d" -name 'nbd.ko*' -print -quit)" ] && KVER=$d
  done
  [ -n "$KVER" ] || die "no Debian kernel with modules found (/boot/vmlinuz-*, /lib/modules/*/nbd.ko): apt-get install linux-image-amd64 (make deps)"
fi
[ -f "/boot/vmlinuz-$KVER" ] || die "/boot/vmlinuz-$KVER missing"

rm -rf "$OUT"
mkdir -p "$OUT"
R=$OUT/root
mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,run,mnt,etc,e2e,lib/modules,lib64,lib/x86_64-linux-gnu,usr/bin}

# the kernel: the ELF inside the xz-compressed bzImage if we can find it, else the bzImage itself
off=$(LC_ALL=C grep -abo $'\xfd7zXZ' "/boot/vmlinuz-$KVER" | head -1 | cut -d: -f1 || true)
if [ -n "$off" ]; then
  # trailing data after the xz stream makes xz exit non-zero: judge by the ELF magic instead
  tail -c +$((off + 1)) "/boot/vmlinuz-$KVER" | xz -dcq >"$OUT/vmlinux" 2>/dev/null || true
fi
if [ -s "$OUT/vmlinux" ] && [ "$(head -c4 "$OUT/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
  mv "$OUT/vmlinux" "$OUT/kernel"
else
  rm -f "$OUT/vmlinux"
  cp "/boot/vmlinuz-$KVER" "$OUT/kernel"
fi
echo "$KVER" >"$OUT/kver"

install -m755 "$BUSYBOX" "$R/bin/busybox"
copy_bin() { # PATH [DEST]: the binary into DEST (default /sbin) and its shared libraries into /lib*
  local lib
  install -m755 "$1" "$R${2:-/sbin}/$(basename "$1")"
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
    case $lib in
      */ld-linux-x86-64.so.2) cp -L "$lib" "$R/lib64/" ;;
      *) cp -L "$lib" "$R/lib/x86_64-linux-gnu/" ;;
    esac
  done
}
copy_bin "$(command -v nbd-client)"
copy_bin "$(command -v socat)"
copy_bin "$(command -v mke2fs)"
ln -sf mke2fs "$R/sbin/mkfs.ext4"
copy_bin "$S3NBD_BIN" /usr/bin
strip "$R/usr/bin/s3nbd"
cp /etc/mke2fs.conf "$R/etc/"

# modules with their dependencies, deps first; crc32c_generic because ext4's metadata_csum only
# soft-depends on a crc32c implementation
: >"$R/modules.load"
for m in virtio_pci virtio_console virtio_blk nbd crc32c_generic ext4; do
  modprobe -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }' | while read -r f; do
    b=$(basename "$f")
    case $b in crc32c-intel.ko*) continue ;; esac   # needs SSE4.2, which TCG's default CPU lacks
    grep -qx "${b%.xz}" "$R/modules.load" && continue
    case $f in
      *.ko.xz) xz -dc "$f" >"$R/lib/modules/${b%.xz}" ;;
      *) install -m644 "$f" "$R/lib/modules/$b" ;;
    esac
    echo "${b%.xz}" >>"$R/modules.load"
  done
done
grep -q '^nbd\.ko$' "$R/modules.load" || die "nbd module of $KVER not found"

install -m755 "$GUEST_SRC/init" "$R/init"
install -m644 "$GUEST_SRC/lib.sh" "$GUEST_SRC"/job-*.sh "$R/e2e/"
(cd "$R" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -6) >"$OUT/initrd.gz"
rm -rf "$R"
echo "guest-kit: kernel $KVER ($(stat -c %s "$OUT/kernel") bytes), initrd $(stat -c %s "$OUT/initrd.gz") bytes in $OUT"
