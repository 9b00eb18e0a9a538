//! Recognising text in event data (ASCII from grub and firmware, CHAR16 from UEFI).

/// The bytes as ASCII text without trailing NULs, if every other byte is printable.
pub(crate) fn ascii(b: &[u8]) -> Option<&str> {
    let t = trim_nuls(b);
    (!t.is_empty()
        && t.iter()
            .all(|&c| c == b'\n' || c == b'\t' || c == b'\r' || (0x20..0x7f).contains(&c)))
    .then(|| std::str::from_utf8(t).ok())
    .flatten()
}

/// The bytes as UTF-16LE text without trailing NULs, if printable ASCII code points only (names
/// in real logs are; this keeps binary data from passing as CJK text). An odd length is allowed
/// when the last byte is a lone NUL: systemd-boot has logged load options that way.
pub(crate) fn utf16(b: &[u8]) -> Option<String> {
    let b = match b {
        [even @ .., 0] if !b.len().is_multiple_of(2) => even,
        _ if !b.len().is_multiple_of(2) => return None,
        _ => b,
    };
    if b.is_empty() {
        return None;
    }
    let units = char16_units(b);
    if units.is_empty()
        || !units
            .iter()
            .all(|&u| u == 0x0a || u == 0x09 || (0x20..0x7f).contains(&u))
    {
        return None;
    }
    String::from_utf16(&units).ok()
}

/// CHAR16 units to a string, replacing what is not UTF-16 and dropping trailing NULs.
pub(crate) fn char16_lossy(b: &[u8]) -> String {
    let units = char16_units(b);
    String::from_utf16_lossy(&units)
}

fn trim_nuls(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| c != 0).map_or(0, |p| p + 1);
    &b[..end]
}

/// CHAR16 units of `b` (UTF-16LE), without trailing NULs.
fn char16_units(b: &[u8]) -> Vec<u16> {
    let mut units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    while units.last() == Some(&0) {
        units.pop();
    }
    units
}
