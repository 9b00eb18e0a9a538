//! Serial console watching: strip terminal escapes and box drawing, split into lines, and
//! recognise the boot milestones and refusals of reference/boot-chain.md §10 ("Console strings").

/// Boot stages in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// OVMF (from QEMU start).
    Firmware,
    /// shim (`BOOTX64.EFI`), started by the firmware's boot manager.
    Shim,
    /// GRUB, loaded and verified by shim.
    Grub,
    /// The Linux kernel, verified through shim's protocol by GRUB.
    Kernel,
    /// The initrd's `/init`.
    Init,
    /// `/init` printed everything and powers off.
    Done,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Firmware => "firmware",
            Self::Shim => "shim",
            Self::Grub => "grub",
            Self::Kernel => "kernel",
            Self::Init => "init",
            Self::Done => "done",
        })
    }
}

impl Stage {
    /// The stage after this one.
    pub fn next(self) -> Self {
        match self {
            Self::Firmware => Self::Shim,
            Self::Shim => Self::Grub,
            Self::Grub => Self::Kernel,
            Self::Kernel => Self::Init,
            Self::Init | Self::Done => Self::Done,
        }
    }
}

/// Something the console told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleEvent {
    /// A stage started.
    Reached(Stage),
    /// A stage was refused by the one before it (Secure Boot verification failure).
    Refused {
        /// The refused stage.
        stage: Stage,
        /// The console line that says so.
        line: String,
    },
    /// A refusal or dead end whose stage is inferred from the last stage reached.
    Stuck(String),
    /// The kernel panicked.
    Panic(String),
    /// The kernel reports Secure Boot enabled.
    KernelSecureBoot,
}

/// Builds the event for a matching line, or `None` when the line only looks like a match.
type MakeEvent = fn(&str) -> Option<ConsoleEvent>;

/// (pattern, event builder) for lines; checked in order, each rule fires at most once.
const RULES: &[(&str, MakeEvent)] = &[
    // The boot manager starts our ESP's loader (not its built-in UEFI Shell fallback).
    ("BdsDxe: starting Boot", |l| {
        (!l.contains("EFI Internal Shell")).then_some(ConsoleEvent::Reached(Stage::Shim))
    }),
    ("Welcome to GRUB!", |_| {
        Some(ConsoleEvent::Reached(Stage::Grub))
    }),
    ("EFI stub: ", |_| Some(ConsoleEvent::Reached(Stage::Kernel))),
    ("Linux version ", |_| {
        Some(ConsoleEvent::Reached(Stage::Kernel))
    }),
    ("=====INIT", |_| Some(ConsoleEvent::Reached(Stage::Init))),
    ("=====TL INIT DONE", |_| {
        Some(ConsoleEvent::Reached(Stage::Done))
    }),
    ("secureboot: Secure boot enabled", |_| {
        Some(ConsoleEvent::KernelSecureBoot)
    }),
    // shim refused by the firmware (db/dbx):
    // `BdsDxe: failed to load Boot0002 "…" from …: Access Denied`.
    ("Access Denied", |l| {
        l.contains("BdsDxe: failed to load Boot")
            .then(|| refused(l, Stage::Shim))
    }),
    // grub refused by shim.
    ("Verification failed: (0x1A) Security Violation", |l| {
        Some(refused(l, Stage::Grub))
    }),
    // kernel refused by grub through shim's verifier.
    ("bad shim signature", |l| Some(refused(l, Stage::Kernel))),
    ("Failed to boot both default and fallback entries", |l| {
        Some(ConsoleEvent::Stuck(l.to_owned()))
    }),
    ("Press any key to continue", |l| {
        Some(ConsoleEvent::Stuck(l.to_owned()))
    }),
    ("Kernel panic - not syncing", |l| {
        Some(ConsoleEvent::Panic(l.to_owned()))
    }),
];

fn refused(line: &str, stage: Stage) -> ConsoleEvent {
    ConsoleEvent::Refused {
        stage,
        line: line.to_owned(),
    }
}

/// Escape-sequence parser state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Esc {
    None,
    Start,
    Csi,
    /// `ESC (` / `ESC )`: one more byte (charset) to skip.
    Charset,
}

/// Turns raw serial bytes into clean lines and events.
#[derive(Debug)]
pub struct ConsoleWatcher {
    esc: Esc,
    csi_final_is_break: bool,
    line: String,
    lines: Vec<String>,
    fired: Vec<bool>,
}

impl Default for ConsoleWatcher {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsoleWatcher {
    /// A watcher with nothing seen yet.
    pub fn new() -> Self {
        Self {
            esc: Esc::None,
            csi_final_is_break: false,
            line: String::new(),
            lines: Vec::new(),
            fired: vec![false; RULES.len()],
        }
    }

    /// Feeds bytes; returns complete lines and the events found (also in the unfinished line,
    /// since a VM waiting for a key press never ends its last line).
    pub fn feed(&mut self, bytes: &[u8]) -> (Vec<String>, Vec<ConsoleEvent>) {
        let mut done = Vec::new();
        for &b in bytes {
            match self.esc {
                Esc::Start => {
                    self.esc = match b {
                        b'[' => Esc::Csi,
                        b'(' | b')' => Esc::Charset,
                        _ => Esc::None,
                    };
                    continue;
                }
                Esc::Charset => {
                    self.esc = Esc::None;
                    continue;
                }
                Esc::Csi => {
                    if (0x40..=0x7e).contains(&b) {
                        self.esc = Esc::None;
                        // Cursor positioning and screen clears stand in for line breaks on
                        // firmware and shim dialogs.
                        self.csi_final_is_break = matches!(b, b'H' | b'f' | b'J');
                        if self.csi_final_is_break {
                            self.end_line(&mut done);
                        }
                    }
                    continue;
                }
                Esc::None => {}
            }
            match b {
                0x1b => self.esc = Esc::Start,
                b'\n' => self.end_line(&mut done),
                0x20..=0x7e => self.line.push(char::from(b)),
                b'\t' => self.line.push(' '),
                // CR, other controls, and non-ASCII (box drawing, UTF-8 or code page) are dropped.
                _ => {}
            }
        }
        let mut events = Vec::new();
        for l in &done {
            self.scan(l, &mut events);
        }
        let partial = self.line.clone();
        self.scan(&partial, &mut events);
        self.lines.extend(done.iter().cloned());
        (done, events)
    }

    /// All complete lines so far plus the unfinished one.
    pub fn transcript(&self) -> String {
        let mut t = self.lines.join("\n");
        if !self.line.is_empty() {
            t.push('\n');
            t.push_str(&self.line);
        }
        t
    }

    /// The complete lines so far.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    fn end_line(&mut self, done: &mut Vec<String>) {
        let l = self.line.trim_end().to_owned();
        self.line.clear();
        if !l.trim().is_empty() {
            done.push(l);
        }
    }

    fn scan(&mut self, line: &str, events: &mut Vec<ConsoleEvent>) {
        for (i, (pat, make)) in RULES.iter().enumerate() {
            if !self.fired[i]
                && line.contains(pat)
                && let Some(ev) = make(line.trim())
            {
                self.fired[i] = true;
                events.push(ev);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_ansi_and_box_drawing() {
        let mut w = ConsoleWatcher::new();
        let (lines, _) =
            w.feed(b"\x1b[0m\x1b[37m\x1b[40m\xe2\x94\x8c\xe2\x94\x80 ERROR \xe2\x94\x90\r\n");
        assert_eq!(lines, vec![" ERROR".to_owned()]);
    }

    #[test]
    fn shim_refusal_of_grub_in_a_dialog_without_newline() {
        let mut w = ConsoleWatcher::new();
        let (_, ev) = w.feed(b"BdsDxe: starting Boot0001 \"UEFI Non-Block Boot Device\" from PciRoot(0x0)/Pci(0x1,0x0)\r\n");
        assert_eq!(ev, vec![ConsoleEvent::Reached(Stage::Shim)]);
        let (_, ev) = w.feed(b"\x1b[10;20H\xc4\xc4ERROR\xc4\x1b[11;20HVerification failed: (0x1A) Security Violation");
        assert!(
            matches!(
                &ev[..],
                [ConsoleEvent::Refused {
                    stage: Stage::Grub,
                    ..
                }]
            ),
            "{ev:?}"
        );
    }

    #[test]
    fn firmware_refusal_vs_benign_not_found() {
        let mut w = ConsoleWatcher::new();
        let (_, ev) = w.feed(b"BdsDxe: failed to load Boot0001 \"UEFI QEMU DVD-ROM QM00005 \" from PciRoot(0x0): Not Found\n");
        assert!(ev.is_empty(), "{ev:?}");
        let (_, ev) = w.feed(b"BdsDxe: failed to load Boot0002 \"UEFI Misc Device\" from PciRoot(0x0)/Pci(0x1,0x0): Access Denied\n");
        assert!(
            matches!(
                &ev[..],
                [ConsoleEvent::Refused {
                    stage: Stage::Shim,
                    ..
                }]
            ),
            "{ev:?}"
        );
    }

    #[test]
    fn kernel_refusal_and_success_markers() {
        let mut w = ConsoleWatcher::new();
        let (_, ev) = w.feed(b"Welcome to GRUB!\n\nerror: bad shim signature.\nerror: you need to load the kernel first.\n");
        assert_eq!(ev[0], ConsoleEvent::Reached(Stage::Grub));
        assert!(matches!(
            &ev[1],
            ConsoleEvent::Refused {
                stage: Stage::Kernel,
                ..
            }
        ));
        let mut w = ConsoleWatcher::new();
        let (_, ev) = w.feed(b"[    0.000000] secureboot: Secure boot enabled\n=====INIT uptime: 1.0\n=====TL INIT DONE\n");
        assert_eq!(
            ev,
            vec![
                ConsoleEvent::KernelSecureBoot,
                ConsoleEvent::Reached(Stage::Init),
                ConsoleEvent::Reached(Stage::Done)
            ]
        );
    }

    #[test]
    fn lines_split_across_chunks() {
        let mut w = ConsoleWatcher::new();
        w.feed(b"Welcome to ");
        let (l, ev) = w.feed(b"GRUB!\n");
        assert_eq!(l, vec!["Welcome to GRUB!".to_owned()]);
        assert_eq!(ev, vec![ConsoleEvent::Reached(Stage::Grub)]);
    }

    #[test]
    fn real_firmware_refusal_transcript() {
        // Serial output of a boot with OVMF_VARS_4M.snakeoil.fd (Microsoft-signed shim refused).
        let mut w = ConsoleWatcher::new();
        let (_, ev) = w.feed(
            b"BdsDxe: loading Boot0001 \"UEFI Non-Block Boot Device\" from PciRoot(0x0)/Pci(0x1,0x0)\r\n\
BdsDxe: failed to load Boot0001 \"UEFI Non-Block Boot Device\" from PciRoot(0x0)/Pci(0x1,0x0): Access Denied\r\n\
BdsDxe: loading Boot0002 \"EFI Internal Shell\" from Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(7C04A583-9E3E-4F1C-AD65-E05268D0B4D1)\r\n\
BdsDxe: starting Boot0002 \"EFI Internal Shell\" from Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(7C04A583-9E3E-4F1C-AD65-E05268D0B4D1)\r\n",
        );
        assert!(
            matches!(
                &ev[..],
                [ConsoleEvent::Refused {
                    stage: Stage::Shim,
                    ..
                }]
            ),
            "{ev:?}"
        );
    }
}
