//! What a boot produced: outcome, console transcript, PCRs and the event log printed by `/init`.

use std::time::Duration;

use base64::Engine as _;

use crate::console::Stage;

/// One PCR bank: index → value (the event-log replay's type, so read and replayed banks compare).
pub use tl_boot::eventlog::PcrBank;

/// PCR values read in the guest from `/sys/class/tpm/tpm0/pcr-<alg>/<n>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pcrs {
    /// sha1 bank.
    pub sha1: PcrBank,
    /// sha256 bank.
    pub sha256: PcrBank,
}

/// How the boot ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootOutcome {
    /// `/init` ran to its end marker.
    Booted,
    /// Secure Boot refused a stage; the VM was stopped.
    Refused {
        /// The stage that was not allowed to run.
        stage: Stage,
        /// The console line that showed it.
        evidence: String,
    },
    /// The boot failed otherwise (panic, QEMU or the vTPM exited early).
    Failed {
        /// Last stage reached.
        last: Stage,
        /// What happened.
        reason: String,
    },
    /// No end marker before the deadline; the VM was stopped.
    TimedOut {
        /// Last stage reached.
        last: Stage,
        /// The limit.
        after: Duration,
    },
}

impl std::fmt::Display for BootOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Booted => write!(f, "booted"),
            Self::Refused { stage, evidence } => write!(f, "{stage} refused: {evidence}"),
            Self::Failed { last, reason } => write!(f, "failed after {last}: {reason}"),
            Self::TimedOut { last, after } => write!(f, "timed out after {after:?} at {last}"),
        }
    }
}

/// Everything learned from one boot.
#[derive(Debug, Clone)]
pub struct BootReport {
    /// Which vTPM served the VM.
    pub vtpm: &'static str,
    /// How it ended.
    pub outcome: BootOutcome,
    /// Stages reached with their time since QEMU started.
    pub milestones: Vec<(Stage, Duration)>,
    /// The cleaned console output.
    pub transcript: String,
    /// PCRs printed by `/init`.
    pub pcrs: Pcrs,
    /// `binary_bios_measurements`, decoded from the console.
    pub event_log: Vec<u8>,
    /// The kernel logged `secureboot: Secure boot enabled`.
    pub kernel_secure_boot: bool,
    /// From QEMU start to QEMU exit (or kill).
    pub elapsed: Duration,
    /// PIDs of the QEMU and vTPM processes this boot started (all reaped when it returns).
    pub pids: Vec<(&'static str, u32)>,
    /// The vTPM's exit status (with `--terminate` it exits by itself when QEMU goes).
    pub vtpm_exit: Option<String>,
    /// Problems parsing the PCR or event-log blocks.
    pub parse_warnings: Vec<String>,
}

impl BootReport {
    /// The last stage reached.
    pub fn last_stage(&self) -> Stage {
        self.milestones
            .iter()
            .map(|(s, _)| *s)
            .max()
            .unwrap_or(Stage::Firmware)
    }

    /// TPM device nodes `/init` found (its `=====TPMDEV <path> present` lines): the kernel's TPM
    /// driver probed the vTPM and registered `/dev/tpm0` and the resource manager `/dev/tpmrm0`.
    pub fn tpm_devices(&self) -> Vec<&str> {
        self.transcript
            .lines()
            .filter_map(|l| l.trim().strip_prefix("=====TPMDEV "))
            .filter_map(|l| l.strip_suffix(" present"))
            .collect()
    }

    /// Kernel log lines naming a TPM error, failure or timeout (`/init`'s `=====TPMERR` lines).
    pub fn tpm_errors(&self) -> Vec<&str> {
        self.transcript
            .lines()
            .filter_map(|l| l.trim().strip_prefix("=====TPMERR "))
            .collect()
    }

    /// The time a stage was first reached.
    pub fn reached_at(&self, stage: Stage) -> Option<Duration> {
        self.milestones
            .iter()
            .find(|(s, _)| *s == stage)
            .map(|(_, d)| *d)
    }
}

/// Extracts PCRs and the event log from `/init`'s output.
pub fn parse_guest_output(lines: &[String]) -> (Pcrs, Vec<u8>, Vec<String>) {
    let mut pcrs = Pcrs::default();
    let mut warnings = Vec::new();
    let mut b64 = String::new();
    let mut in_log = false;
    let mut log_seen = false;
    for line in lines {
        let l = line.trim();
        if l == "=====EVENTLOG BASE64 BEGIN" {
            in_log = true;
            log_seen = true;
            continue;
        }
        if l == "=====EVENTLOG BASE64 END" {
            in_log = false;
            continue;
        }
        if in_log {
            if l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
            {
                b64.push_str(l);
            } else {
                warnings.push(format!("non-base64 line in event log block: {l:?}"));
            }
            continue;
        }
        for (prefix, bank) in [
            ("sha256 PCR", &mut pcrs.sha256),
            ("sha1 PCR", &mut pcrs.sha1),
        ] {
            let Some(rest) = l.strip_prefix(prefix) else {
                continue;
            };
            let Some((idx, value)) = rest.split_once(": ") else {
                continue;
            };
            match (idx.parse::<u32>(), decode_hex(value.trim())) {
                (Ok(i), Some(v)) if i < 24 => {
                    bank.0.insert(i, v);
                }
                _ => warnings.push(format!("unreadable PCR line: {l:?}")),
            }
        }
    }
    let log = if log_seen {
        match base64::engine::general_purpose::STANDARD.decode(&b64) {
            Ok(v) => v,
            Err(e) => {
                warnings.push(format!("event log base64: {e}"));
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    (pcrs, log, warnings)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Upper-case hex, as the kernel prints PCRs.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pcrs_and_log() {
        let lines: Vec<String> = [
            "sha256 PCR0: 27FCCCFA7F522E228D13FF449BD8C39507A97D7D96B808E9608DDFF9B6B0719A",
            "sha1 PCR7: A71A0ED1ABB1D30CC0D84E8E917BDB9F8C8171FA",
            "sha1 PCR8: cat: can't open '/x': No such file",
            "=====EVENTLOG BASE64 BEGIN",
            "AAEC",
            "AwQ=",
            "=====EVENTLOG BASE64 END",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (p, log, w) = parse_guest_output(&lines);
        assert_eq!(
            hex(p.sha256.get(0).unwrap()),
            "27FCCCFA7F522E228D13FF449BD8C39507A97D7D96B808E9608DDFF9B6B0719A"
        );
        assert_eq!(p.sha1.get(7).unwrap().len(), 20);
        assert_eq!(log, vec![0, 1, 2, 3, 4]);
        assert_eq!(w.len(), 1, "{w:?}");
    }
}
