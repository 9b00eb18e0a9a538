//! `--help` text and `--print-capabilities` JSON.

/// `--help` text; QEMU probes it for `--tpm2`.
pub const HELP: &str = "\
Usage: tl-vtpm socket --tpm2 [options]
       tl-vtpm mssim [--port <P>] --tpmstate dir=<dir> [--key ...] [--log ...]
                     [--pid ...] [--flags ...] [-d]

A memory-safe TPM 2.0 emulator speaking swtpm's socket protocols (drop-in for
`swtpm socket --tpm2` under QEMU, libvirt, cloud-hypervisor and tpm2-tss).

`tl-vtpm mssim` speaks the Microsoft TPM 2.0 simulator protocol instead
(tpm2-tss `mssim` TCTI, IBM TSS, `tpm_server`): TPM commands on TCP port P
(default 2321), platform signals (POWER_ON/OFF, NV_ON/OFF, RESET, ...) on
P+1; `--server type=tcp,port=P,bindaddr=<addr>` also works. There is no
control channel. The TPM starts powered off (the client sends POWER_ON)
unless --flags not-need-init is given. The protocols cannot share a port:
swtpm's CMD_* and the simulator's platform codes overlap.

Options:
--tpm2           : TPM 2.0 (the only TPM version implemented; required)
--tpmstate dir=<dir>[,mode=0...]|backend-uri=dir://<dir>
                 : directory holding the TPM state (tpm2-00.permall,
                   tpm2-00.volatile, .lock); files are always created 0600
                   or stricter; TPM_PATH is used if no --tpmstate is given
--server [type=tcp][,port=<port>][,bindaddr=<addr>][,fd=<fd>][,disconnect]
--server type=unixio,path=<path>[,mode=0...][,uid=][,gid=]
-p|--port <port> : same as --server type=tcp,port=<port>
-f|--fd <fd>     : same as --server fd=<fd> (an already connected socket)
                 : data channel; TCP binds 127.0.0.1 unless bindaddr= is
                   given; one client at a time; disconnect closes the
                   connection after each response
--ctrl type=unixio,path=<path>[,mode=0...][,uid=][,gid=]
--ctrl type=unixio,fd=<listening fd>|clientfd=<connected fd>
--ctrl type=tcp,port=<port>[,bindaddr=<addr>]|fd=<fd>
                 : control channel (swtpm CMD_* protocol); on a unix socket
                   CMD_SET_DATAFD can pass the data channel as an fd
--flags [not-need-init][,startup-clear|startup-state|startup-deactivated|startup-none]
                 : not-need-init: the TPM runs without CMD_INIT;
                   startup-*: send TPM2_Startup internally after init
--locality [reject-locality-4][,allow-set-locality]
                 : reject locality 4; accept the vendor TPM2_CC_SetLocality
                   (0x20001000) command on the data channel
--log file=<path>|fd=<fd>[,level=n][,prefix=<p>][,truncate]
                 : log file (file=- disables); level >= 20 dumps every
                   command and response in hex
--pid file=<path>|fd=<fd>
                 : write the process id
--key file=<path>|fd=<fd>[,format=hex|binary][,mode=aes-128-cbc|aes-256-cbc][,remove]
--key pwdfile=<path>|pwdfd=<fd>[,kdf=pbkdf2|sha512][,mode=...][,remove]
                 : encrypt the state files. swtpm's option forms are
                   accepted, but the files are our own format: always
                   AES-GCM (authenticated; tampering and a wrong key are
                   detected), mode= only selects the key size (aes-cbc and
                   aes-128-cbc: 128-bit, aes-256-cbc: 256-bit; default 128).
                   Key files hold exactly that many bytes (binary) or hex
                   digits (hex, default; optional 0x). Passphrases go
                   through PBKDF2-HMAC-SHA512 (default) or SHA-512.
                   remove deletes the key file after reading it.
                   A plaintext state directory is refused with --key and
                   an encrypted one without it.
-t|--terminate   : exit when the client connection is lost
-d|--daemon      : run in the background (returns once listening)
--print-capabilities
                 : print the supported features as JSON and exit
--print-states   : print the state blobs present in --tpmstate as JSON
--version        : print the version and exit
-h|--help        : this text

Not supported: chardev and cuse front ends, --migration-key, --runas,
--seccomp, backend-uri=file://.
";

/// `--print-capabilities` JSON, shaped like swtpm's.
pub fn capabilities_json() -> String {
    format!(
        "{{ \"type\": \"swtpm\", \"features\": [ \"tpm-2.0\", \"tpm-send-command-header\", \
\"flags-opt-startup\", \"flags-opt-disable-auto-shutdown\", \"cmdarg-print-states\", \
\"cmdarg-key-fd\", \"cmdarg-pwd-fd\", \"nvram-backend-dir\" ], \"version\": \"{}\" }}",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{CliError, Options, parse};

    fn p(s: &str) -> Result<Options, CliError> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn help_mentions_tpm2_and_caps_are_json() {
        assert!(HELP.contains("--tpm2"));
        assert!(p("socket --help").unwrap().help);
        let caps = capabilities_json();
        assert!(caps.contains("\"tpm-2.0\"") && caps.contains("\"tpm-send-command-header\""));
    }
}
