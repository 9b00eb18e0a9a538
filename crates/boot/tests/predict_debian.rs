//! PCR prediction from Debian bookworm's real signed chain and OVMF's variable stores, checked
//! against the values boot-chain.md §6/§7 published for boot A (QEMU + OVMF + swtpm). The test
//! computes every value from the artifacts `crates/image` fetches; only the published results
//! are constants. PCR9 is checked per event: its initrd event covers our own initrd's bytes.
#![expect(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use boot::eventlog::{EventType, TpmAlgId};
use boot::predict::{BootChain, FirmwareVars, PredictedEvent, Prediction, predict};
use image::{DebianArtifacts, OvmfFiles};

fn read(p: &std::path::Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn chain() -> BootChain {
    let art = DebianArtifacts::fetch()
        .unwrap_or_else(|e| panic!("fetch Debian artifacts (apt-get download): {e}"));
    BootChain {
        shim: read(&art.shim),
        grub: read(&art.grub),
        grub_cfg: image::GRUB_CFG.to_owned(),
        kernel: read(&art.kernel),
        initrd: image::build_initrd(&read(&art.busybox), image::INIT_SCRIPT).unwrap(),
        cmdline: Some("console=ttyS0,115200 loglevel=6 panic=-1".into()),
    }
}

fn prediction(secure_boot: bool) -> Prediction {
    let ovmf = OvmfFiles::locate().unwrap_or_else(|e| panic!("install the `ovmf` package: {e}"));
    let vars = if secure_boot {
        &ovmf.vars_ms
    } else {
        &ovmf.vars_blank
    };
    let vars = FirmwareVars::from_ovmf_vars(&read(vars), None).unwrap();
    assert_eq!(vars.secure_boot, secure_boot, "SecureBoot follows PK");
    predict(&vars, &chain()).unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// Asserts that the predicted value starts with the published (possibly abbreviated) value.
fn assert_pcr(p: &Prediction, pcr: u32, alg: TpmAlgId, published: &str) {
    let got = hex(p.pcr(pcr, alg).unwrap());
    assert!(
        got.starts_with(published) && published.len() >= 8,
        "{alg} PCR{pcr}: predicted {got}, published {published}"
    );
}

/// The sha256 digests of `pcr`'s events, lower-case hex.
fn digests(p: &Prediction, pcr: u32) -> Vec<(String, String)> {
    p.events_of(pcr)
        .map(|e: &PredictedEvent| {
            (
                e.description.clone(),
                hex(e.digest(TpmAlgId::SHA256).unwrap()).to_lowercase(),
            )
        })
        .collect()
}

fn assert_event_digests(p: &Prediction, pcr: u32, published: &[&str]) {
    let got = digests(p, pcr);
    assert_eq!(got.len(), published.len(), "PCR{pcr} events: {got:#?}");
    for ((what, d), want) in got.iter().zip(published) {
        assert!(
            d.starts_with(want),
            "PCR{pcr} {what}: {d}, published {want}…"
        );
    }
}

#[test]
fn pcr7_secure_boot_on_matches_boot_a() {
    let p = prediction(true);
    assert_event_digests(
        &p,
        7,
        &[
            "ccfc4bb32888a345",
            "3e98dafab7566f9f",
            "d2de0342ec4bd966",
            "644aacf6f4015125",
            "1963d580fcc0cede",
            "df3f619804a92fdb4057192dc43dd748ea778adc52bc498ce80524c014b81119",
            "4d4a8e2c74133bbd",
            "ef611239b24f977f",
            "23b2707ff70880b8",
        ],
    );
    assert_pcr(
        &p,
        7,
        TpmAlgId::SHA256,
        "75677DB6F14082D3BFEC4D14BDD75C8D72612EF6914CA99CD5A5997B7A21309D",
    );
    assert_pcr(
        &p,
        7,
        TpmAlgId::SHA1,
        "A71A0ED1ABB1D30CC0D84E8E917BDB9F8C8171FA",
    );
    // The firmware authority is the db entry that verified shim: MS owner + UEFI CA 2011.
    let auth = p
        .events_of(7)
        .find(|e| e.description.starts_with("db entry that verified shim"))
        .unwrap();
    assert_eq!(auth.event.as_ref().unwrap().len(), 1608);
    assert!(
        auth.description.contains("UEFI CA 2011"),
        "{}",
        auth.description
    );
}

#[test]
fn pcr7_secure_boot_off_matches_boot_a() {
    let p = prediction(false);
    assert_event_digests(
        &p,
        7,
        &[
            "115aa827", "dea7b80a", "e670e121", "baf89a3c", "9f75b682", "df3f6198", "922e939a",
        ],
    );
    assert_pcr(
        &p,
        7,
        TpmAlgId::SHA256,
        "B926225AC488E9C50EF2FA815AA7104B385A06907093BFB1DC62EEB7ABECDDF1",
    );
    assert_pcr(&p, 7, TpmAlgId::SHA1, "76790478");
}

#[test]
fn pcr4_has_the_kernel_twice_only_with_secure_boot() {
    let on = prediction(true);
    assert_event_digests(
        &on,
        4,
        &[
            "3d6772b4",
            "df3f6198",
            "80a66d53a945d2286fcadd780fae1c225aa732079cd67b5225dc78aaab4e2ff8",
            "a68f6d71ebddaa19751ff8d729f67d11b0df8e4c49400c3e7e90de16119e1265",
            "6b1bf35c3bee9918250f593a6fff889c75c1e239cd2fe9e5bb0cd3de9dcb8e51",
            "6b1bf35c3bee9918250f593a6fff889c75c1e239cd2fe9e5bb0cd3de9dcb8e51",
        ],
    );
    assert_pcr(
        &on,
        4,
        TpmAlgId::SHA256,
        "060E9DE2A8BA0BF1E4846483D9BB34FC54DF20581DA42A4FD18ECEF9F4747491",
    );
    assert_pcr(
        &on,
        4,
        TpmAlgId::SHA1,
        "AB491620245793F6CFE1F0661D60DDD0A3D3FBC5",
    );
    let off = prediction(false);
    assert_eq!(off.events_of(4).count(), 4);
    assert_pcr(
        &off,
        4,
        TpmAlgId::SHA256,
        "57D2B262CBA27F1E37E75A24AC18397B098DC0EA3781961F81B0CC46F87F81AD",
    );
    assert_pcr(&off, 4, TpmAlgId::SHA1, "8CA70CAC");
}

#[test]
fn pcr8_grub_commands_match_boot_a_with_and_without_secure_boot() {
    for sb in [true, false] {
        let p = prediction(sb);
        assert_pcr(
            &p,
            8,
            TpmAlgId::SHA256,
            "AA7F0074E8A5FD0ADACEC45D92404BFA43D0834EC9E24FA68A9EA460254A2504",
        );
        assert_pcr(
            &p,
            8,
            TpmAlgId::SHA1,
            "A840E93175C6AD98FF13FAFEE4FB71307D762126",
        );
        let d = digests(&p, 8);
        for (text, want) in [
            ("grub_cmd: set timeout=0", "d3a793f4"),
            ("grub_cmd: echo SPIKE loading linux", "a2cf922a"),
            (
                "kernel_cmdline: /vmlinuz console=ttyS0,115200 loglevel=6 panic=-1",
                "e7337a49",
            ),
        ] {
            let (_, got) = d.iter().find(|(w, _)| w == text).unwrap();
            assert!(got.starts_with(want), "{text}: {got}");
        }
    }
}

#[test]
fn pcr9_measures_grub_cfg_kernel_and_initrd_files() {
    let p = prediction(true);
    let c = chain();
    let names: Vec<_> = p
        .events_of(9)
        .map(|e| String::from_utf8(e.event.clone().unwrap()).unwrap())
        .collect();
    assert_eq!(
        names,
        ["(hd0)/EFI/debian/grub.cfg\0", "/vmlinuz\0", "/initrd.gz\0"]
    );
    let d = digests(&p, 9);
    assert!(d[1].1.starts_with("26f2e57c99338fea"), "{d:?}");
    assert_eq!(d[2].1, image::sha256_hex(&c.initrd));
    assert!(p.events_of(9).all(|e| e.event_type == EventType::EV_IPL));
}

#[test]
fn pcr14_moklists_match_boot_a() {
    for sb in [true, false] {
        let p = prediction(sb);
        assert_event_digests(&p, 14, &["342c88bb", "45e89b4a", "4bf5122f"]);
        assert_pcr(
            &p,
            14,
            TpmAlgId::SHA256,
            "B9C97933FE323334271A718FDF2966E0609AFCB793F3B68AAF18FC31EA39DC0A",
        );
        assert_pcr(&p, 14, TpmAlgId::SHA1, "58B61026");
    }
}

#[test]
fn a_cmdline_grub_does_not_pass_is_an_error() {
    let ovmf = OvmfFiles::locate().unwrap();
    let vars = FirmwareVars::from_ovmf_vars(&read(&ovmf.vars_ms), None).unwrap();
    let mut c = chain();
    c.cmdline = Some("console=ttyS0 quiet".into());
    let err = predict(&vars, &c).unwrap_err();
    assert!(
        err.to_string().contains("not the given command line"),
        "{err}"
    );
}

#[test]
fn secure_boot_refusal_is_reported_not_predicted() {
    // With the snakeoil db the firmware refuses Microsoft-signed shim: nothing after it runs.
    let ovmf = OvmfFiles::locate().unwrap();
    let vars = FirmwareVars::from_ovmf_vars(&read(&ovmf.vars_snakeoil), None).unwrap();
    let err = predict(&vars, &chain()).unwrap_err();
    assert!(
        err.to_string().starts_with("firmware would refuse shim"),
        "{err}"
    );
}
