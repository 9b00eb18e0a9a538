//! Unit tests of the grub model and the event recipes on synthetic inputs; the recipes are
//! checked on Debian's real artifacts in `crates/boot/tests/predict_debian.rs`.

use super::grub::{FileRole, GrubAction, GrubPlatform, grub_actions};
use super::*;

fn commands(actions: &[GrubAction]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            GrubAction::Command(c) => Some(format!("grub_cmd: {c}")),
            GrubAction::KernelCmdline(c) => Some(format!("kernel_cmdline: {c}")),
            GrubAction::OpenFile { path, .. } => Some(format!("file: {path}")),
            GrubAction::LoadKernel => None,
        })
        .collect()
}

#[test]
fn quotes_variables_menuentry_and_entry_body() {
    let cfg = "# comment\nset timeout=0; set default=boot\necho \"from $prefix (root=${root})\" 'lit $x'\n\
               menuentry 'first' --id boot --class debian {\n  linux /k a=\"b c\"  q\n  initrd /i\n}\n";
    let got = commands(&grub_actions(cfg, &GrubPlatform::raw_esp()).unwrap());
    assert_eq!(
        got,
        [
            "grub_cmd: [ -z (hd0)/EFI/debian -o ! -e (hd0)/EFI/debian ]",
            "grub_cmd: [ -e (hd0)/EFI/debian/x86_64-efi/grub.cfg ]",
            "grub_cmd: [ -e (hd0)/EFI/debian/grub.cfg ]",
            "grub_cmd: source (hd0)/EFI/debian/grub.cfg",
            "file: (hd0)/EFI/debian/grub.cfg",
            "grub_cmd: set timeout=0",
            "grub_cmd: set default=boot",
            "grub_cmd: echo from (hd0)/EFI/debian (root=hd0) lit $x",
            "grub_cmd: menuentry first --id boot --class debian {\n  linux /k a=\"b c\"  q\n  initrd /i\n}",
            "grub_cmd: setparams first",
            "grub_cmd: linux /k a=b c q",
            "file: /k",
            "kernel_cmdline: /k a=b c q",
            "grub_cmd: initrd /i",
            "file: /i",
        ]
    );
}

#[test]
fn kernel_is_loaded_between_its_file_and_its_cmdline() {
    let a = grub_actions("menuentry x {\nlinuxefi /v\n}\n", &GrubPlatform::raw_esp()).unwrap();
    let i = a
        .iter()
        .position(|a| {
            matches!(
                a,
                GrubAction::OpenFile {
                    role: FileRole::Kernel,
                    ..
                }
            )
        })
        .unwrap();
    assert_eq!(a[i + 1], GrubAction::LoadKernel);
    assert_eq!(a[i + 2], GrubAction::KernelCmdline("/v".into()));
}

#[test]
fn unmodelled_grub_constructs_are_refused_with_their_line() {
    for (cfg, line, word) in [
        ("set a=1\nif [ 1 ]; then echo; fi\n", 2, "control flow"),
        ("\n\nsearch --file --set=root /x\n", 3, "opens files"),
        ("menuentry a {\nsource /x\n}\n", 2, "opens files"),
        ("echo \"open\n", 1, "unterminated"),
        ("menuentry a {\necho\n", 1, "unclosed"),
        ("set default=7\nmenuentry a {\necho\n}\n", 0, "not among"),
        ("menuentry a {\ninitrd /a /b\n}\n", 2, "exactly one initrd"),
    ] {
        match grub_actions(cfg, &GrubPlatform::raw_esp()) {
            Err(PredictError::GrubCfg { line: l, why }) => {
                assert_eq!(l, line, "{cfg:?}: {why}");
                assert!(why.contains(word), "{cfg:?}: {why}");
            }
            other => panic!("{cfg:?}: {other:?}"),
        }
    }
}

#[test]
fn firmware_vars_reject_garbage_lists() {
    let err = FirmwareVars::from_lists(true, vec![1, 2, 3], vec![], vec![], vec![]).unwrap_err();
    assert!(matches!(err, PredictError::Esl { name: "PK", .. }), "{err}");
    assert!(FirmwareVars::from_ovmf_vars(b"not a volume", None).is_err());
}

#[test]
fn shim_sections_need_a_pe() {
    assert!(matches!(
        ShimSections::parse(b"MZ"),
        Err(PredictError::Pe { image: "shim", .. })
    ));
}
