//! Does an event's data hash to its digests? The rules per event type follow PFP §10.4.1 and
//! what real firmware does (`shared/reference/boot-chain.md` §6).

use serde::Serialize;

use super::text;
use super::variable::UefiVariableData;
use super::{EventType, TcgPcrEvent2, TpmAlgId};

/// What an event's digest is taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DigestRule {
    /// H(event data): separators, actions, GPT, `EV_EFI_VARIABLE_DRIVER_CONFIG`/`AUTHORITY`.
    WholeEvent,
    /// H(`VariableData`) only: EDK2's `EV_EFI_VARIABLE_BOOT` (the Boot#### quirk).
    VariableDataOnly,
    /// grub's PCR8 text: `grub_cmd: `/`kernel_cmdline: `/`module_cmdline: ` prefix and the NUL
    /// are not hashed.
    GrubText,
    /// H(event data without its last byte): shim 15's `EV_EFI_VARIABLE_AUTHORITY` "Shim" event.
    AllButLastByte,
    /// systemd-stub's PCR11 section name: the event is CHAR16, the digest is of ASCII + NUL.
    AsciiNameWithNul,
}

/// The outcome of checking one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DigestCheck {
    /// Every digest in a bank we can compute equals the hash of the data under `rule`.
    Verified(DigestRule),
    /// The data does not hash to the digest of the listed banks under `rule`.
    Mismatch {
        /// The rule the event type requires.
        rule: DigestRule,
        /// Banks whose digest differs.
        banks: Vec<TpmAlgId>,
    },
    /// The digest is of something the event only points at (an image, memory, a file).
    NotCheckable(&'static str),
    /// `EV_NO_ACTION`: never extended, its digests are zero.
    NotExtended,
}

impl DigestCheck {
    /// True for [`DigestCheck::Mismatch`].
    pub fn is_mismatch(&self) -> bool {
        matches!(self, Self::Mismatch { .. })
    }
}

const GRUB_PREFIXES: [&[u8]; 3] = [b"grub_cmd: ", b"kernel_cmdline: ", b"module_cmdline: "];

/// What to try: rules whose failure is a mismatch, or only an opportunistic match.
enum Plan {
    Required(Vec<(DigestRule, Vec<u8>)>),
    Opportunistic(&'static str),
    NotExtended,
}

fn plan(e: &TcgPcrEvent2) -> Plan {
    use EventType as T;
    let d = &e.event;
    match e.event_type {
        T::EV_NO_ACTION => Plan::NotExtended,
        T::EV_SEPARATOR
        | T::EV_ACTION
        | T::EV_EFI_ACTION
        | T::EV_EFI_GPT_EVENT
        | T::EV_EFI_GPT_EVENT2
        | T::EV_EFI_VARIABLE_DRIVER_CONFIG
        | T::EV_EFI_VARIABLE_BOOT2
        | T::EV_S_CRTM_VERSION
        | T::EV_OMIT_BOOT_DEVICE_EVENTS => {
            Plan::Required(vec![(DigestRule::WholeEvent, d.clone())])
        }
        T::EV_EFI_VARIABLE_BOOT => {
            // EDK2 hashes the data only; the PFP (and some firmware) the whole structure.
            let mut rules = Vec::new();
            if let Ok(v) = UefiVariableData::parse(d) {
                rules.push((DigestRule::VariableDataOnly, v.variable_data));
            }
            rules.push((DigestRule::WholeEvent, d.clone()));
            Plan::Required(rules)
        }
        T::EV_EFI_VARIABLE_AUTHORITY => {
            // Firmware and current shim hash the structure; shim 15 logged its "Shim" authority
            // one byte longer than it hashed (its tpm.c event-size off-by-one, fixed later).
            let mut rules = vec![(DigestRule::WholeEvent, d.clone())];
            if let Some((_, short)) = d.split_last() {
                rules.push((DigestRule::AllButLastByte, short.to_vec()));
            }
            Plan::Required(rules)
        }
        T::EV_IPL => ipl(e),
        T::EV_EFI_BOOT_SERVICES_APPLICATION
        | T::EV_EFI_BOOT_SERVICES_DRIVER
        | T::EV_EFI_RUNTIME_SERVICES_DRIVER => {
            Plan::Opportunistic("Authenticode digest of the image the event names")
        }
        T::EV_POST_CODE
        | T::EV_POST_CODE2
        | T::EV_S_CRTM_CONTENTS
        | T::EV_EFI_PLATFORM_FIRMWARE_BLOB
        | T::EV_EFI_PLATFORM_FIRMWARE_BLOB2
        | T::EV_EFI_HANDOFF_TABLES
        | T::EV_EFI_HANDOFF_TABLES2
        | T::EV_CPU_MICROCODE
        | T::EV_EFI_HCRTM_EVENT => {
            Plan::Opportunistic("digest of firmware memory the event points at")
        }
        T::EV_EVENT_TAG => Plan::Opportunistic("digest of what the tag names (e.g. the initrd)"),
        _ => Plan::Opportunistic("no digest rule for this event type"),
    }
}

fn ipl(e: &TcgPcrEvent2) -> Plan {
    let d = &e.event;
    if let Some(rest) = GRUB_PREFIXES.iter().find_map(|p| d.strip_prefix(*p)) {
        let text = rest.strip_suffix(b"\0").unwrap_or(rest);
        return Plan::Required(vec![(DigestRule::GrubText, text.to_vec())]);
    }
    // CHAR16 text is systemd's: boot loader options (PCR8/12, H(event)) or a UKI section
    // name (PCR11, H(ASCII name + NUL)).
    if let Some(name) = text::utf16(d) {
        let mut rules = vec![(DigestRule::WholeEvent, d.clone())];
        if e.pcr_index == 11 {
            let mut ascii = name.into_bytes();
            ascii.push(0);
            rules.push((DigestRule::AsciiNameWithNul, ascii));
        }
        return Plan::Required(rules);
    }
    Plan::Opportunistic("digest of the file or variable the event names")
}

/// Banks (computable only) whose digest differs from H(`measured`).
fn mismatching(e: &TcgPcrEvent2, measured: &[u8]) -> Vec<TpmAlgId> {
    e.digests
        .iter()
        .filter(|d| d.hash_alg.hash(&[measured]).is_some_and(|h| h != d.digest))
        .map(|d| d.hash_alg)
        .collect()
}

pub(super) fn check(e: &TcgPcrEvent2) -> DigestCheck {
    if !e
        .digests
        .iter()
        .any(|d| d.hash_alg.digest_algorithm().is_some())
    {
        return match plan(e) {
            Plan::NotExtended => DigestCheck::NotExtended,
            _ => DigestCheck::NotCheckable("no bank we can compute"),
        };
    }
    match plan(e) {
        Plan::NotExtended => DigestCheck::NotExtended,
        Plan::Required(rules) => {
            let mut first = None;
            for (rule, measured) in &rules {
                let bad = mismatching(e, measured);
                if bad.is_empty() {
                    return DigestCheck::Verified(*rule);
                }
                first.get_or_insert((*rule, bad));
            }
            match first {
                Some((rule, banks)) => DigestCheck::Mismatch { rule, banks },
                None => DigestCheck::NotCheckable("no rule applies"),
            }
        }
        Plan::Opportunistic(reason) => {
            if mismatching(e, &e.event).is_empty() {
                DigestCheck::Verified(DigestRule::WholeEvent)
            } else {
                DigestCheck::NotCheckable(reason)
            }
        }
    }
}
