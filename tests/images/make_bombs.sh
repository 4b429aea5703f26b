#!/usr/bin/env bash
# Makes qcow2 "bombs": small files whose metadata would make a naive checker
# walk the same tables again and again, or size its memory from the file size.
# Each is a valid qemu-made image plus byte pokes; all are deterministic (no
# timestamps) and sparse, so they can seed the fuzz corpus.
#   l2-named-65536.qcow2     2 MiB clusters; 65536 L1 entries name one L2 table (~12 MiB)
#   snap-shared-l1.qcow2     1000 snapshots share one L1 table (2 MiB clusters)
#   bitmap-huge-table.qcow2  a bitmap whose table has 0x7fffffff entries
#   bitmap-inuse-past-eof.qcow2  an in-use bitmap whose table (at the caps) lies past EOF
#   padded-4t.qcow2          a valid 512-byte-cluster image padded to 4 TiB (sparse)
#   reftable-one-block.qcow2 131072 refcount table entries name the same refcount block
# Usage: tests/images/make_bombs.sh OUTDIR   (needs qemu-img, qemu-io, /usr/bin/python3)
set -euo pipefail
out=${1:?usage: $0 OUTDIR}
for tool in qemu-img qemu-io /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "make_bombs.sh: $tool not found" >&2; exit 1; }
done
mkdir -p "$out"
cd "$out"
rm -f -- *.qcow2 *.tmp

py() { /usr/bin/python3 - "$@"; }

# Shared python helpers (big-endian fields; qcow2.txt "Header").
read -r -d '' PYLIB <<'EOF' || true
import struct, sys
def be(f, off, fmt):
    f.seek(off); return struct.unpack('>' + fmt, f.read(struct.calcsize('>' + fmt)))[0]
def put(f, off, fmt, v):
    f.seek(off); f.write(struct.pack('>' + fmt, v))
def header(f):
    return dict(cluster_bits=be(f, 20, 'I'), l1_size=be(f, 36, 'I'), l1=be(f, 40, 'Q'),
                reftable=be(f, 48, 'Q'), reftable_clusters=be(f, 56, 'I'),
                nb_snapshots=be(f, 60, 'I'), snapshots=be(f, 64, 'Q'))
def set_refcount(f, h, cluster, value):
    # 16-bit refcounts (qemu's default); the refcount block must exist.
    per_block = (1 << h['cluster_bits']) * 8 // 16
    block = be(f, h['reftable'] + 8 * (cluster // per_block), 'Q') & ~0x1ff
    assert block != 0, 'no refcount block for cluster %d' % cluster
    put(f, block + 2 * (cluster % per_block), 'H', value)
EOF

# (a) 65536 L1 entries -> one L2 table. 2 MiB clusters: header, refcount
# table, refcount block and L1 each take a cluster, then the L2 table and one
# data cluster: 12 MiB. l1_size grows to 65536 (the L1 cluster has room for
# 262144 entries; qemu allows an L1 larger than the virtual size needs).
qemu-img create -q -f qcow2 -o cluster_size=2M l2-named-65536.qcow2 1G
qemu-io -f qcow2 -c 'write -P 0x5a 0 2M' l2-named-65536.qcow2 >/dev/null
py l2-named-65536.qcow2 <<EOF
$PYLIB
with open(sys.argv[1], 'r+b') as f:
    h = header(f)
    first = be(f, h['l1'], 'Q')
    assert first != 0
    put(f, 36, 'I', 65536)
    f.seek(h['l1'] + 8)
    f.write(struct.pack('>Q', first) * 65535)
EOF

# (b) 1000 snapshots sharing one L1 table (2 MiB clusters: a walk per
# snapshot visits 262144 L2 entries): one qemu-made snapshot, its entry
# copied 1000 times (ids 1..1000, names s1..s1000, dates zeroed) into a new
# snapshot table at the end of the file; refcounts follow the move so that the
# shared L1 table is the only inconsistency.
qemu-img create -q -f qcow2 -o cluster_size=2M snap-shared-l1.qcow2 1G
qemu-io -f qcow2 -c 'write -P 0x11 0 128k' snap-shared-l1.qcow2 >/dev/null
qemu-img snapshot -c s1 snap-shared-l1.qcow2
py snap-shared-l1.qcow2 <<EOF
$PYLIB
with open(sys.argv[1], 'r+b') as f:
    h = header(f)
    cs = 1 << h['cluster_bits']
    assert h['nb_snapshots'] == 1
    f.seek(h['snapshots'])
    fixed = f.read(40)
    l1_off, l1_size, id_len, name_len = struct.unpack('>QIHH', fixed[:16])
    extra_len = struct.unpack('>I', fixed[36:40])[0]
    extra = f.read(extra_len)
    table = b''
    for i in range(1, 1001):
        sid, name = str(i).encode(), ('s%d' % i).encode()
        e = struct.pack('>QIHHIIQII', l1_off, l1_size, len(sid), len(name), 0, 0, 0, 0, extra_len)
        e += extra + sid + name
        table += e + b'\0' * (-len(e) % 8)
    f.seek(0, 2)
    new = (f.tell() + cs - 1) // cs * cs
    f.seek(new); f.write(table + b'\0' * (-len(table) % cs))
    old_clusters = range(h['snapshots'] // cs, (h['snapshots'] + 40 + extra_len + id_len + name_len + cs - 1) // cs)
    for c in old_clusters: set_refcount(f, h, c, 0)
    # The old entry holds qemu's timestamps: zero it, the file stays deterministic.
    f.seek(h['snapshots']); f.write(b'\0' * (40 + extra_len + id_len + name_len))
    for c in range(new // cs, (new + len(table) + cs - 1) // cs): set_refcount(f, h, c, 1)
    put(f, 60, 'I', 1000)
    put(f, 64, 'Q', new)
EOF

# (c) A bitmap whose table has 0x7fffffff entries (qemu: at most 0x8000000
# entries and 512 MiB of bitmap). qemu refuses to open it.
qemu-img create -q -f qcow2 bitmap-huge-table.qcow2 64M
qemu-io -f qcow2 -c 'write -P 0x22 0 64k' bitmap-huge-table.qcow2 >/dev/null
qemu-img bitmap --add bitmap-huge-table.qcow2 b0
cp bitmap-huge-table.qcow2 bitmap-inuse-past-eof.qcow2
bitmap_dir() {  # prints the offset of the first bitmap directory entry
  py "$1" <<EOF
$PYLIB
with open(sys.argv[1], 'rb') as f:
    off = be(f, 100, 'I')  # extensions follow the header (v3 header_length)
    while True:
        t, n = be(f, off, 'I'), be(f, off + 4, 'I')
        assert t != 0, 'no bitmaps extension'
        if t == 0x23852875:
            print(be(f, off + 24, 'Q')); break
        off += 8 + (n + 7) // 8 * 8
EOF
}
dir=$(bitmap_dir bitmap-huge-table.qcow2)
py bitmap-huge-table.qcow2 "$dir" <<EOF
$PYLIB
with open(sys.argv[1], 'r+b') as f:
    put(f, int(sys.argv[2]) + 8, 'I', 0x7fffffff)
EOF
# (c') The same bitmap marked in use (qemu then skips its data) with a table of
# 8192 entries (8192 x 64 KiB = 512 MiB, both qemu caps reached) that starts
# past the end of the file: qemu opens it, check must not read or allocate it.
py bitmap-inuse-past-eof.qcow2 "$dir" <<EOF
$PYLIB
with open(sys.argv[1], 'r+b') as f:
    d = int(sys.argv[2])
    h = header(f)
    set_refcount(f, h, be(f, d, 'Q') >> h['cluster_bits'], 0)  # the old table is gone
    put(f, d, 'Q', 1 << 40)
    put(f, d + 8, 'I', 8192)
    put(f, d + 12, 'I', 3)
EOF

# (d) A valid image with 512-byte clusters padded to 4 TiB: 2^33 host
# clusters, nearly all of them a hole.
qemu-img create -q -f qcow2 -o cluster_size=512 padded-4t.qcow2 64M
qemu-io -f qcow2 -c 'write -P 0x33 0 256k' -c 'write -P 0x44 32M 64k' padded-4t.qcow2 >/dev/null
truncate -s 4T padded-4t.qcow2

# (e) A 16-cluster refcount table (131072 entries) at the end of the file whose
# every entry names the image's one refcount block; refcounts follow the move.
qemu-img create -q -f qcow2 reftable-one-block.qcow2 64M
qemu-io -f qcow2 -c 'write -P 0x55 0 64k' reftable-one-block.qcow2 >/dev/null
py reftable-one-block.qcow2 <<EOF
$PYLIB
with open(sys.argv[1], 'r+b') as f:
    h = header(f)
    cs = 1 << h['cluster_bits']
    block = be(f, h['reftable'], 'Q')
    assert block != 0 and h['reftable_clusters'] == 1
    f.seek(0, 2)
    new = (f.tell() + cs - 1) // cs * cs
    f.seek(new); f.write(struct.pack('>Q', block) * (16 * cs // 8))
    set_refcount(f, h, h['reftable'] // cs, 0)
    for c in range(new // cs, new // cs + 16): set_refcount(f, h, c, 1)
    put(f, 48, 'Q', new)
    put(f, 56, 'I', 16)
EOF

# Zero runs become holes: small on disk, same bytes.
for f in *.qcow2; do fallocate --dig-holes "$f"; done
ls -- *.qcow2
