//! Repair of the `.`/`..` entries that fatfs 0.3.6 writes with long-name (LFN) entries in front.
//!
//! Microsoft FAT specification §6.3 ("FAT Directory Structure"): the first two entries of every
//! directory other than the root are `.` and `..`. fatfs 0.3.6 puts an LFN entry before each, so
//! `fsck.fat` reports "Expected a valid '.' entry in this slot". Firmware and grub do not care, a
//! checker does; we move the two short entries into slots 0 and 1 and mark the rest deleted.

use std::io::{self, Read, Seek, SeekFrom, Write};

const ENTRY: usize = 32;
const ATTR_LONG_NAME: u8 = 0x0f;
const DELETED: u8 = 0xe5;

/// FAT32 BPB fields needed to find clusters (FAT spec §3.1, §3.3).
struct Geometry {
    bytes_per_cluster: u64,
    data_start: u64,
    root_cluster: u32,
}

impl Geometry {
    fn read(disk: &mut (impl Read + Seek)) -> io::Result<Self> {
        let mut bs = [0u8; 512];
        disk.seek(SeekFrom::Start(0))?;
        disk.read_exact(&mut bs)?;
        let u16_at = |o: usize| u64::from(u16::from_le_bytes([bs[o], bs[o + 1]]));
        let u32_at = |o: usize| u32::from_le_bytes([bs[o], bs[o + 1], bs[o + 2], bs[o + 3]]);
        let bytes_per_sector = u16_at(11);
        let sectors_per_cluster = u64::from(bs[13]);
        let reserved = u16_at(14);
        let fats = u64::from(bs[16]);
        let fat_size = u64::from(u32_at(36));
        if bytes_per_sector == 0 || sectors_per_cluster == 0 || fat_size == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a FAT32 boot sector",
            ));
        }
        Ok(Self {
            bytes_per_cluster: bytes_per_sector * sectors_per_cluster,
            data_start: (reserved + fats * fat_size) * bytes_per_sector,
            root_cluster: u32_at(44),
        })
    }

    fn offset(&self, cluster: u32) -> u64 {
        self.data_start + u64::from(cluster.saturating_sub(2)) * self.bytes_per_cluster
    }
}

fn read_cluster(disk: &mut (impl Read + Seek), g: &Geometry, c: u32) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; usize::try_from(g.bytes_per_cluster).unwrap_or(512)];
    disk.seek(SeekFrom::Start(g.offset(c)))?;
    disk.read_exact(&mut buf)?;
    Ok(buf)
}

fn first_cluster(e: &[u8]) -> u32 {
    (u32::from(u16::from_le_bytes([e[20], e[21]])) << 16)
        | u32::from(u16::from_le_bytes([e[26], e[27]]))
}

/// Fixes the dot entries of every subdirectory reachable from the root (first cluster of each
/// directory only, which holds the dot entries). Returns how many directories were repaired.
pub fn fix_dot_entries(disk: &mut (impl Read + Write + Seek)) -> io::Result<usize> {
    let g = Geometry::read(disk)?;
    // (cluster, is the root, parent is the root)
    let mut todo = vec![(g.root_cluster, true, false)];
    let mut fixed = 0;
    let mut seen = 0;
    while let Some((cluster, is_root, parent_is_root)) = todo.pop() {
        seen += 1;
        if seen > 4096 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "directory loop"));
        }
        let mut buf = read_cluster(disk, &g, cluster)?;
        if !is_root && repair(&mut buf, parent_is_root) {
            disk.seek(SeekFrom::Start(g.offset(cluster)))?;
            disk.write_all(&buf)?;
            fixed += 1;
        }
        for e in buf.chunks_exact(ENTRY) {
            match e[0] {
                0 => break,
                DELETED | b'.' => continue,
                _ if e[11] == ATTR_LONG_NAME => continue,
                _ if e[11] & 0x10 != 0 && first_cluster(e) >= 2 => {
                    todo.push((first_cluster(e), false, is_root))
                }
                _ => {}
            }
        }
    }
    Ok(fixed)
}

/// Rewrites `[LFN][.][LFN][..]` at the start of a directory cluster as `[.][..][deleted][deleted]`.
/// A `..` that names the root must hold cluster 0 (FAT spec §6.3), not the root's cluster.
fn repair(buf: &mut [u8], parent_is_root: bool) -> bool {
    let is_dot = |e: &[u8], name: &[u8; 11]| e[..11] == name[..] && e[11] & 0x10 != 0;
    if buf.len() < 4 * ENTRY || is_dot(&buf[..ENTRY], b".          ") {
        return false;
    }
    let slot = |i: usize| i * ENTRY..(i + 1) * ENTRY;
    let lfn = |b: &[u8], i: usize| b[i * ENTRY + 11] == ATTR_LONG_NAME;
    let fatfs_layout = lfn(buf, 0)
        && is_dot(&buf[slot(1)], b".          ")
        && lfn(buf, 2)
        && is_dot(&buf[slot(3)], b"..         ");
    if !fatfs_layout {
        return false;
    }
    let dot = buf[slot(1)].to_vec();
    let dotdot = buf[slot(3)].to_vec();
    buf[slot(0)].copy_from_slice(&dot);
    buf[slot(1)].copy_from_slice(&dotdot);
    if parent_is_root {
        // DIR_FstClusHI (20..22) and DIR_FstClusLO (26..28).
        buf[ENTRY + 20..ENTRY + 22].fill(0);
        buf[ENTRY + 26..ENTRY + 28].fill(0);
    }
    for i in [2, 3] {
        buf[slot(i)].fill(0);
        buf[i * ENTRY] = DELETED;
    }
    true
}

/// Records the free-cluster count in the FSInfo sector (FAT spec §5: `FSI_Free_Count`), which
/// fatfs 0.3.6 leaves at 0xFFFFFFFF ("unknown"); `fsck.fat` flags that.
pub fn set_free_count(disk: &mut (impl Read + Write + Seek), free: u32) -> io::Result<()> {
    let mut bs = [0u8; 512];
    disk.seek(SeekFrom::Start(0))?;
    disk.read_exact(&mut bs)?;
    let bytes_per_sector = u64::from(u16::from_le_bytes([bs[11], bs[12]]));
    let fsinfo = u64::from(u16::from_le_bytes([bs[48], bs[49]]));
    let mut sig = [0u8; 4];
    disk.seek(SeekFrom::Start(fsinfo * bytes_per_sector + 484))?;
    disk.read_exact(&mut sig)?;
    // FSI_StrucSig.
    if sig != 0x6141_7272u32.to_le_bytes() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no FSInfo sector",
        ));
    }
    disk.write_all(&free.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_fatfs_dot_entries_and_leaves_good_ones() {
        let mut c = vec![0u8; 512];
        c[11] = ATTR_LONG_NAME;
        c[32..43].copy_from_slice(b".          ");
        c[43] = 0x10;
        c[64 + 11] = ATTR_LONG_NAME;
        c[96..107].copy_from_slice(b"..         ");
        c[107] = 0x10;
        c[96 + 26] = 2;
        assert!(repair(&mut c, true));
        assert_eq!(first_cluster(&c[32..64]), 0);
        assert_eq!(&c[..11], b".          ");
        assert_eq!(&c[32..43], b"..         ");
        assert_eq!((c[64], c[96]), (DELETED, DELETED));
        assert!(!repair(&mut c, true), "already well-formed");
    }
}
