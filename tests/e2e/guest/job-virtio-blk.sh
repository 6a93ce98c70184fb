# Job "virtio-blk": qemu's own NBD client is the disk's backend; the guest sees /dev/vda.
[ -b /dev/vda ] || fail "no /dev/vda"
fs_check /dev/vda
