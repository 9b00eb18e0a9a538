//! Interop with Debian's tpm2-tools 5.4 through tcti-swtpm (a new TCP connection per command,
//! CMD_SET_LOCALITY on the ctrl port P+1).

#![allow(
    clippy::unwrap_used,
    reason = "tests may unwrap (workspace lint table)"
)]

mod common;

use common::*;

fn pcr16(t: &Tools<'_>) -> String {
    let s = t.run(&["tpm2_pcrread", "sha256:16"]);
    let line = s
        .lines()
        .find(|l| l.trim_start().starts_with("16"))
        .unwrap_or_else(|| panic!("no PCR 16 in {s}"));
    line.split("0x").nth(1).unwrap().trim().to_ascii_lowercase()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn tpm2_tools_against_tl_vtpm() {
    if !have_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let v = start_tcp(dir.path(), &["--flags", "not-need-init"]);
    let t = Tools::swtpm(&v, None);

    t.run(&["tpm2_startup", "-c"]);

    let fixed = t.run(&["tpm2_getcap", "properties-fixed"]);
    let fam = fixed
        .split("TPM2_PT_FAMILY_INDICATOR:")
        .nth(1)
        .expect("family indicator");
    assert!(
        fam.lines().take(3).any(|l| l.contains("\"2.0\"")),
        "{fixed}"
    );
    assert!(fixed.contains("TPM2_PT_MANUFACTURER:"), "{fixed}");

    let pcrs = t.run(&["tpm2_getcap", "pcrs"]);
    assert!(pcrs.contains("sha256"), "{pcrs}");

    let digest = sha256(&[b"tl-vtpm interop"]);
    assert_eq!(pcr16(&t), "0".repeat(64));
    t.run(&["tpm2_pcrextend", &format!("16:sha256={}", to_hex(&digest))]);
    assert_eq!(pcr16(&t), to_hex(&sha256(&[&[0u8; 32], &digest])));

    t.run(&["tpm2_pcrreset", "16"]);
    assert_eq!(pcr16(&t), "0".repeat(64));

    let r = t.run(&["tpm2_getrandom", "--hex", "16"]);
    assert_eq!(r.trim().len(), 32, "{r}");
    assert!(r.trim().chars().all(|c| c.is_ascii_hexdigit()));

    let input = dir.path().join("in.bin");
    let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    std::fs::write(&input, &data).unwrap();
    let out = dir.path().join("digest.bin");
    t.run(&[
        "tpm2_hash",
        "-C",
        "o",
        "-g",
        "sha256",
        "-o",
        out.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&out).unwrap(), sha256(&[&data]));
    drop(v);
}
