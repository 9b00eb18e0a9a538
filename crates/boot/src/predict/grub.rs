//! What grub 2.06 measures while it runs its embedded config and grub.cfg: each command as
//! `grub_cmd: <argv joined by spaces>` after parsing (quotes removed, variables expanded) into
//! PCR8, each file it opens into PCR9, and the kernel command line (reference/boot-chain.md §6).
//!
//! This is a model of the subset of grub script a node image's grub.cfg uses: simple commands,
//! `set`, `menuentry` blocks, `linux`/`linuxefi` and `initrd`/`initrdefi`. Anything that branches
//! (`if`, `for`, functions, submenus) or opens other files (`source`, `search`, `configfile`, …)
//! is refused with its line, so a prediction never silently misses events.

use std::collections::HashMap;

use super::error::PredictError;

/// Where grub runs, as its embedded early config sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrubPlatform {
    /// grub's name for the ESP: `hd0` for a raw (partitionless) ESP on the first disk,
    /// `hd0,gpt1` for the first GPT partition.
    pub device: String,
    /// The prefix built into Debian's signed grub.
    pub prefix_path: String,
    /// The directory grub was started from (shim's directory).
    pub cmdpath_dir: String,
}

impl GrubPlatform {
    /// The platform our launcher builds: a raw FAT ESP on virtio-blk (`(hd0)`), Debian's signed
    /// grub (prefix `/EFI/debian`) started from `EFI/BOOT` by shim.
    pub fn raw_esp() -> Self {
        Self {
            device: "hd0".into(),
            prefix_path: "/EFI/debian".into(),
            cmdpath_dir: "/EFI/BOOT".into(),
        }
    }

    /// `$prefix`.
    pub fn prefix(&self) -> String {
        format!("({}){}", self.device, self.prefix_path)
    }

    /// The grub.cfg the early config sources (the reference boots have no
    /// `$prefix/x86_64-efi/grub.cfg`).
    pub fn cfg_path(&self) -> String {
        format!("{}/grub.cfg", self.prefix())
    }

    /// The commands of Debian's embedded early config that run when `$prefix` exists and
    /// `$prefix/grub.cfg` is the first config found (debian/build-efi-images).
    fn early_config(&self) -> Vec<String> {
        let p = self.prefix();
        vec![
            format!("[ -z {p} -o ! -e {p} ]"),
            format!("[ -e {p}/x86_64-efi/grub.cfg ]"),
            format!("[ -e {p}/grub.cfg ]"),
            format!("source {p}/grub.cfg"),
        ]
    }
}

/// Which file of the boot chain grub opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// grub.cfg.
    Config,
    /// The kernel.
    Kernel,
    /// The initrd.
    Initrd,
}

/// One measured step of grub, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrubAction {
    /// `grub_cmd: <text>` into PCR8.
    Command(String),
    /// A file opened and measured into PCR9 under `path`.
    OpenFile {
        /// The path as grub names it.
        path: String,
        /// Which of the chain's files it is.
        role: FileRole,
    },
    /// The kernel goes through shim's verifier and LoadImage (PCR4 when Secure Boot is on).
    LoadKernel,
    /// `kernel_cmdline: <text>` into PCR8 (`text` = the image path and its arguments).
    KernelCmdline(String),
}

/// grub's measured steps for `cfg` on `platform`.
pub fn grub_actions(cfg: &str, platform: &GrubPlatform) -> Result<Vec<GrubAction>, PredictError> {
    let mut run = Run {
        vars: HashMap::from([
            ("prefix".to_owned(), platform.prefix()),
            ("root".to_owned(), platform.device.clone()),
            (
                "cmdpath".to_owned(),
                format!("({}){}", platform.device, platform.cmdpath_dir),
            ),
        ]),
        actions: platform
            .early_config()
            .into_iter()
            .map(GrubAction::Command)
            .collect(),
        entries: Vec::new(),
    };
    run.actions.push(GrubAction::OpenFile {
        path: platform.cfg_path(),
        role: FileRole::Config,
    });
    for cmd in parse_script(cfg, 1)? {
        run.execute(&cmd, true)?;
    }
    let entry = run.default_entry()?;
    run.actions
        .push(GrubAction::Command(join("setparams", &entry.params)));
    for cmd in parse_script(&entry.body, entry.body_line)? {
        run.execute(&cmd, false)?;
    }
    Ok(run.actions)
}

fn join(first: &str, rest: &[String]) -> String {
    std::iter::once(first)
        .chain(rest.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Clone)]
struct Entry {
    title: String,
    id: Option<String>,
    params: Vec<String>,
    body: String,
    body_line: usize,
}

struct Run {
    vars: HashMap<String, String>,
    actions: Vec<GrubAction>,
    entries: Vec<Entry>,
}

impl Run {
    fn execute(&mut self, cmd: &Cmd, top: bool) -> Result<(), PredictError> {
        let err = |why: String| PredictError::GrubCfg {
            line: cmd.line,
            why,
        };
        let argv = cmd.expand(&self.vars);
        let Some(name) = argv.first() else {
            return Ok(());
        };
        let text = argv.join(" ");
        match name.as_str() {
            "menuentry" => {
                let block = cmd
                    .block
                    .as_ref()
                    .ok_or_else(|| err("menuentry without a { … } block".into()))?;
                if !top {
                    return Err(err("a menuentry inside a menuentry is not modelled".into()));
                }
                self.actions
                    .push(GrubAction::Command(format!("{text} {}", block.text)));
                let (params, id) = menuentry_params(&argv[1..]);
                let title = params
                    .first()
                    .cloned()
                    .ok_or_else(|| err("menuentry has no title".into()))?;
                self.entries.push(Entry {
                    title,
                    id,
                    params,
                    body: block.text[1..block.text.len() - 1].to_owned(),
                    body_line: block.line,
                });
            }
            "submenu" | "if" | "then" | "else" | "elif" | "fi" | "for" | "while" | "until"
            | "do" | "done" | "function" | "case" | "esac" => {
                return Err(err(format!(
                    "`{name}` (control flow) is not modelled by the predictor"
                )));
            }
            "source" | "." | "configfile" | "normal" | "search" | "search.file"
            | "search.fs_uuid" | "search.fs_label" | "chainloader" | "loadfont" | "boot"
            | "multiboot" | "multiboot2" | "module" | "module2" | "devicetree" | "acpi"
            | "load_env" | "save_env" => {
                return Err(err(format!(
                    "`{name}` opens files or changes the boot path and is not modelled"
                )));
            }
            "set" => {
                self.actions.push(GrubAction::Command(text));
                for a in &argv[1..] {
                    if let Some((k, v)) = a.split_once('=') {
                        self.vars.insert(k.to_owned(), v.to_owned());
                    }
                }
            }
            "unset" => {
                self.actions.push(GrubAction::Command(text));
                for a in &argv[1..] {
                    self.vars.remove(a);
                }
            }
            "linux" | "linuxefi" => {
                let path = argv
                    .get(1)
                    .ok_or_else(|| err(format!("`{name}` without a kernel path")))?;
                self.actions.push(GrubAction::Command(text.clone()));
                self.actions.push(GrubAction::OpenFile {
                    path: path.clone(),
                    role: FileRole::Kernel,
                });
                self.actions.push(GrubAction::LoadKernel);
                self.actions
                    .push(GrubAction::KernelCmdline(loader_cmdline(&argv[1..])));
            }
            "initrd" | "initrdefi" => {
                if argv.len() != 2 {
                    return Err(err(format!(
                        "`{name}` with {} files: the predictor models exactly one initrd",
                        argv.len() - 1
                    )));
                }
                self.actions.push(GrubAction::Command(text));
                self.actions.push(GrubAction::OpenFile {
                    path: argv[1].clone(),
                    role: FileRole::Initrd,
                });
            }
            _ => self.actions.push(GrubAction::Command(text)),
        }
        Ok(())
    }

    /// The entry grub boots with no key pressed: `$default` as an index, a title or an id.
    fn default_entry(&self) -> Result<Entry, PredictError> {
        let default = self.vars.get("default").map_or("0", String::as_str);
        let found = match default.parse::<usize>() {
            Ok(i) => self.entries.get(i),
            Err(_) => self
                .entries
                .iter()
                .find(|e| e.title == default || e.id.as_deref() == Some(default)),
        };
        found.cloned().ok_or_else(|| PredictError::GrubCfg {
            line: 0,
            why: format!(
                "default entry `{default}` is not among the {} menu entries",
                self.entries.len()
            ),
        })
    }
}

/// A menuentry's positional arguments (what `setparams` gets) and its `--id`.
fn menuentry_params(args: &[String]) -> (Vec<String>, Option<String>) {
    let mut params = Vec::new();
    let mut id = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--class" | "--users" | "--hotkey" => {
                it.next();
            }
            "--id" => id = it.next().cloned(),
            s if s.starts_with("--id=") => id = Some(s["--id=".len()..].to_owned()),
            s if s.starts_with("--") => {}
            _ => params.push(a.clone()),
        }
    }
    (params, id)
}

/// grub's `grub_create_loader_cmdline`: arguments joined by spaces, `\`, `'` and `"` escaped.
fn loader_cmdline(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            a.chars().fold(String::new(), |mut s, c| {
                if matches!(c, '\\' | '\'' | '"') {
                    s.push('\\');
                }
                s.push(c);
                s
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    /// A variable reference; `true` when inside double quotes (no field splitting).
    Var(String, bool),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Word {
    pieces: Vec<Piece>,
    quoted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Block {
    /// `{` … `}` verbatim.
    text: String,
    /// Line of the `{`.
    line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Cmd {
    line: usize,
    words: Vec<Word>,
    block: Option<Block>,
}

impl Cmd {
    /// argv after variable expansion and quote removal.
    fn expand(&self, vars: &HashMap<String, String>) -> Vec<String> {
        let mut argv = Vec::new();
        for w in &self.words {
            let mut cur = String::new();
            let mut has = w.quoted;
            for p in &w.pieces {
                match p {
                    Piece::Lit(s) => {
                        cur.push_str(s);
                        has = true;
                    }
                    Piece::Var(name, true) => {
                        cur.push_str(vars.get(name).map_or("", String::as_str));
                        has = true;
                    }
                    Piece::Var(name, false) => {
                        let v = vars.get(name).map_or("", String::as_str);
                        let mut parts = v.split([' ', '\t']).filter(|s| !s.is_empty());
                        if let Some(first) = parts.next() {
                            cur.push_str(first);
                            has = true;
                        }
                        for p in parts {
                            argv.push(std::mem::take(&mut cur));
                            cur.push_str(p);
                        }
                    }
                }
            }
            if has {
                argv.push(cur);
            }
        }
        argv
    }
}

/// Splits grub script text into commands (grub's lexer, for the subset described above).
fn parse_script(text: &str, first_line: usize) -> Result<Vec<Cmd>, PredictError> {
    let c: Vec<char> = text.chars().collect();
    let mut line = first_line;
    let mut cmds = Vec::new();
    let mut cur = Cmd {
        line,
        words: Vec::new(),
        block: None,
    };
    let err = |line, why: &str| PredictError::GrubCfg {
        line,
        why: why.to_owned(),
    };
    let mut i = 0;
    let finish = |cur: &mut Cmd, cmds: &mut Vec<Cmd>, line: usize| {
        let done = std::mem::replace(
            cur,
            Cmd {
                line,
                words: Vec::new(),
                block: None,
            },
        );
        if !done.words.is_empty() {
            cmds.push(done);
        }
    };
    while i < c.len() {
        match c[i] {
            ' ' | '\t' | '\r' => i += 1,
            '\n' => {
                line += 1;
                i += 1;
                finish(&mut cur, &mut cmds, line);
            }
            ';' => {
                i += 1;
                finish(&mut cur, &mut cmds, line);
            }
            '#' => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '\\' if c.get(i + 1) == Some(&'\n') => {
                i += 2;
                line += 1;
            }
            '{' => {
                let is_menu = cur.words.first().and_then(|w| match w.pieces.as_slice() {
                    [Piece::Lit(s)] if !w.quoted => Some(s.as_str()),
                    _ => None,
                }) == Some("menuentry");
                if !is_menu || cur.block.is_some() {
                    return Err(err(line, "`{` outside a menuentry is not modelled"));
                }
                let (end, lines) = block_end(&c, i).ok_or_else(|| err(line, "unclosed `{`"))?;
                cur.block = Some(Block {
                    text: c[i..=end].iter().collect(),
                    line,
                });
                line += lines;
                i = end + 1;
            }
            '}' => return Err(err(line, "`}` without a matching `{`")),
            _ => {
                if cur.block.is_some() {
                    return Err(err(line, "text after a menuentry block"));
                }
                let start_line = line;
                let (w, next, lines) = word(&c, i).map_err(|why| err(start_line, why))?;
                if cur.words.is_empty() {
                    cur.line = start_line;
                }
                cur.words.push(w);
                line += lines;
                i = next;
            }
        }
    }
    finish(&mut cur, &mut cmds, line);
    Ok(cmds)
}

/// The index of the `}` closing the `{` at `open`, and the newlines in between.
fn block_end(c: &[char], open: usize) -> Option<(usize, usize)> {
    let (mut depth, mut lines, mut i) = (0usize, 0, open);
    let mut quote: Option<char> = None;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            lines += 1;
        }
        match (quote, ch) {
            (Some('"'), '\\') => i += 1,
            (Some(q), _) if ch == q => quote = None,
            (Some(_), _) => {}
            (None, '\\') => i += 1,
            (None, '\'' | '"') => quote = Some(ch),
            (None, '#') => {
                while i + 1 < c.len() && c[i + 1] != '\n' {
                    i += 1;
                }
            }
            (None, '{') => depth += 1,
            (None, '}') => {
                depth -= 1;
                if depth == 0 {
                    return Some((i, lines));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// One word starting at `i`: its pieces, the index after it, and the newlines inside it.
fn word(c: &[char], mut i: usize) -> Result<(Word, usize, usize), &'static str> {
    let mut w = Word::default();
    let mut lit = String::new();
    let mut lines = 0;
    let flush = |lit: &mut String, w: &mut Word| {
        if !lit.is_empty() {
            w.pieces.push(Piece::Lit(std::mem::take(lit)));
        }
    };
    while i < c.len() {
        match c[i] {
            ' ' | '\t' | '\r' | '\n' | ';' => break,
            '{' | '}' if lit.is_empty() && w.pieces.is_empty() => break,
            '\\' => {
                match c.get(i + 1) {
                    Some('\n') => lines += 1,
                    Some(&n) => lit.push(n),
                    None => {}
                }
                i += 2;
            }
            '\'' => {
                w.quoted = true;
                let end = c[i + 1..]
                    .iter()
                    .position(|&x| x == '\'')
                    .ok_or("unterminated '")?;
                let s: String = c[i + 1..i + 1 + end].iter().collect();
                lines += s.matches('\n').count();
                lit.push_str(&s);
                i += end + 2;
            }
            '"' => {
                w.quoted = true;
                i += 1;
                loop {
                    match c.get(i) {
                        None => return Err("unterminated \""),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            match c.get(i + 1) {
                                Some('\n') => lines += 1,
                                Some(&n @ ('$' | '"' | '\\')) => lit.push(n),
                                Some(&n) => {
                                    lit.push('\\');
                                    lit.push(n);
                                }
                                None => return Err("unterminated \""),
                            }
                            i += 2;
                        }
                        Some('$') => match variable(c, i) {
                            Some((name, next)) => {
                                flush(&mut lit, &mut w);
                                w.pieces.push(Piece::Var(name, true));
                                i = next;
                            }
                            None => {
                                lit.push('$');
                                i += 1;
                            }
                        },
                        Some(&ch) => {
                            if ch == '\n' {
                                lines += 1;
                            }
                            lit.push(ch);
                            i += 1;
                        }
                    }
                }
            }
            '$' => match variable(c, i) {
                Some((name, next)) => {
                    flush(&mut lit, &mut w);
                    w.pieces.push(Piece::Var(name, false));
                    i = next;
                }
                None => {
                    lit.push('$');
                    i += 1;
                }
            },
            ch => {
                lit.push(ch);
                i += 1;
            }
        }
    }
    flush(&mut lit, &mut w);
    Ok((w, i, lines))
}

/// `$name` or `${name}` at `i`: the name and the index after it.
fn variable(c: &[char], i: usize) -> Option<(String, usize)> {
    let is_name = |ch: char| ch.is_ascii_alphanumeric() || ch == '_';
    if c.get(i + 1) == Some(&'{') {
        let end = c[i + 2..].iter().position(|&x| x == '}')?;
        let name: String = c[i + 2..i + 2 + end].iter().collect();
        return (!name.is_empty()).then_some((name, i + 3 + end));
    }
    let len = c[i + 1..].iter().take_while(|&&ch| is_name(ch)).count();
    (len > 0).then(|| (c[i + 1..i + 1 + len].iter().collect(), i + 1 + len))
}
