//! Where downloaded artifacts live: always outside the source tree.

use std::path::PathBuf;

/// The artifact cache root: `$TL_CACHE_DIR`, else `$XDG_CACHE_HOME/tl`, else `~/.cache/tl`,
/// else a directory under the system temp dir.
pub fn cache_dir() -> PathBuf {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(d) = non_empty("TL_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = non_empty("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("tl");
    }
    if let Some(h) = non_empty("HOME") {
        return PathBuf::from(h).join(".cache").join("tl");
    }
    std::env::temp_dir().join("tl-cache")
}
