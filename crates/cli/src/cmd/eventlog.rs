//! `tl eventlog`: read, check and replay TCG event logs (`binary_bios_measurements`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use boot::eventlog::{DigestCheck, EventLog, Hex, Replay, TcgPcrEvent2};
use clap::{Subcommand, ValueEnum};
use serde_json::{Map, Value, json};

/// `tl eventlog` subcommands.
#[derive(Subcommand)]
pub enum EventlogCommand {
    /// Print every event decoded (in the style of tpm2_eventlog), whether its data hashes to its
    /// digests, and the PCRs the log replays to.
    ///
    /// Reads legacy SHA-1 and crypto-agile logs, e.g.
    /// /sys/kernel/security/tpm0/binary_bios_measurements.
    Show {
        /// The event log file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ShowFormat::Yaml)]
        output: ShowFormat,
    },
    /// Replay the log: the PCR values each bank ends with.
    ///
    /// JSON output is `{"sha1": {"0": "<hex>", …}, "sha256": {…}}`.
    Replay {
        /// The event log file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReplayFormat::Table)]
        output: ReplayFormat,
    },
}

/// Output of `tl eventlog show`.
#[derive(Clone, Copy, ValueEnum)]
pub enum ShowFormat {
    /// Readable YAML-style text.
    Yaml,
    /// JSON.
    Json,
}

/// Output of `tl eventlog replay`.
#[derive(Clone, Copy, ValueEnum)]
pub enum ReplayFormat {
    /// A table: bank, PCR, value.
    Table,
    /// JSON.
    Json,
}

/// Runs one `tl eventlog` subcommand.
pub fn run(command: EventlogCommand) -> anyhow::Result<()> {
    match command {
        EventlogCommand::Show { file, output } => {
            let log = load(&file)?;
            let doc = show(&log);
            match output {
                ShowFormat::Json => outln!("{}", serde_json::to_string_pretty(&doc)?),
                ShowFormat::Yaml => {
                    let mut out = String::from("---\n");
                    yaml(&doc, 0, &mut out);
                    out!("{out}");
                }
            }
            for (i, c) in log.check_digests().iter().enumerate() {
                if c.is_mismatch() {
                    eprintln!(
                        "warning: event {}'s digest does not match its data",
                        log.event_number(i)
                    );
                }
            }
        }
        EventlogCommand::Replay { file, output } => {
            let replay = load(&file)?.replay();
            match output {
                ReplayFormat::Json => outln!("{}", serde_json::to_string_pretty(&pcrs(&replay))?),
                ReplayFormat::Table => out!("{}", table(&replay)),
            }
            for alg in &replay.unsupported {
                eprintln!("warning: bank {alg} is in the log but cannot be computed; not replayed");
            }
        }
    }
    Ok(())
}

fn load(path: &Path) -> anyhow::Result<EventLog> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    EventLog::parse(&bytes).with_context(|| format!("{} is not a valid event log", path.display()))
}

/// `{"sha1": {"0": "<hex>", …}, …}`, banks by algorithm id, PCRs by index; banks the log never
/// extends are left out, as tpm2_eventlog does.
fn pcrs(replay: &Replay) -> Value {
    let mut banks = Map::new();
    for (alg, bank) in replay.banks.iter().filter(|(_, b)| !b.0.is_empty()) {
        let values: Map<String, Value> = bank
            .0
            .iter()
            .map(|(i, v)| (i.to_string(), Value::String(Hex(v).to_string())))
            .collect();
        banks.insert(alg.to_string(), Value::Object(values));
    }
    Value::Object(banks)
}

fn table(replay: &Replay) -> String {
    let mut out = String::from("BANK     PCR  VALUE\n");
    for (alg, bank) in &replay.banks {
        for (i, v) in &bank.0 {
            let _ = writeln!(out, "{:<8} {i:>3}  {}", alg.to_string(), Hex(v));
        }
    }
    out
}

fn check_text(c: &DigestCheck) -> String {
    match c {
        DigestCheck::Verified(rule) => format!("verified ({rule:?})"),
        DigestCheck::Mismatch { rule, banks } => {
            let banks: Vec<String> = banks.iter().map(ToString::to_string).collect();
            format!("MISMATCH ({rule:?}) in {}", banks.join(", "))
        }
        DigestCheck::NotCheckable(why) => format!("not checkable: {why}"),
        DigestCheck::NotExtended => "not extended".into(),
    }
}

fn event(log: &EventLog, e: &TcgPcrEvent2, number: usize, check: &DigestCheck) -> Value {
    let digests: Vec<Value> = e
        .digests
        .iter()
        .map(|d| json!({"AlgorithmId": d.hash_alg, "Digest": Hex(&d.digest).to_string()}))
        .collect();
    let data = match e.decode(log.uintn_bytes()) {
        Ok(d) => serde_json::to_value(&d).unwrap_or(Value::Null),
        Err(err) => json!({"DecodeError": err.to_string(), "Raw": Hex(&e.event).to_string()}),
    };
    json!({
        "EventNum": number,
        "PCRIndex": e.pcr_index,
        "EventType": e.event_type,
        "DigestCount": e.digests.len(),
        "Digests": digests,
        "EventSize": e.event.len(),
        "Event": data,
        "DigestCheck": check_text(check),
    })
}

fn show(log: &EventLog) -> Value {
    let mut events = Vec::new();
    if let Some(h) = &log.header {
        events.push(json!({
            "EventNum": 0,
            "PCRIndex": h.event.pcr_index,
            "EventType": h.event.event_type,
            "Digest": Hex(&h.event.digest).to_string(),
            "EventSize": h.event.event.len(),
            "SpecID": h.spec_id,
        }));
    }
    let checks = log.check_digests();
    for (i, (e, c)) in log.events.iter().zip(&checks).enumerate() {
        events.push(event(log, e, log.event_number(i), c));
    }
    json!({
        "version": if log.header.is_some() { 2 } else { 1 },
        "events": events,
        "pcrs": pcrs(&log.replay()),
    })
}

/// A YAML rendering of `v` (block style; strings quoted only when YAML would misread them).
fn yaml(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match v {
                    Value::Object(c) if !c.is_empty() => {
                        let _ = writeln!(out, "{pad}{k}:");
                        yaml(v, indent + 2, out);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        let _ = writeln!(out, "{pad}{k}:");
                        yaml(v, indent, out);
                    }
                    _ => {
                        let _ = writeln!(out, "{pad}{k}: {}", scalar(v));
                    }
                }
            }
        }
        Value::Array(a) => {
            for item in a {
                let mut inner = String::new();
                match item {
                    Value::Object(_) | Value::Array(_) => yaml(item, indent + 2, &mut inner),
                    _ => inner = format!("{pad}  {}\n", scalar(item)),
                }
                // The first line of the item goes after "- ".
                let rest = inner.get(indent + 2..).unwrap_or("");
                let _ = write!(out, "{pad}- {rest}");
            }
        }
        _ => {
            let _ = writeln!(out, "{pad}{}", scalar(v));
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let plain = !s.is_empty()
                && s.chars().all(|c| c.is_ascii_graphic() || c == ' ')
                && !s.contains(": ")
                && !s.contains(" #")
                && !s.starts_with([
                    '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'',
                    '"', '%', '@', '`', ' ',
                ])
                && !s.ends_with(' ')
                && s.parse::<f64>().is_err()
                && !matches!(s.as_str(), "true" | "false" | "null" | "yes" | "no" | "~");
            if plain {
                s.clone()
            } else {
                Value::String(s.clone()).to_string()
            }
        }
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}
