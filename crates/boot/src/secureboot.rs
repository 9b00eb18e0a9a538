//! UEFI Secure Boot: signature lists, Authenticode, the db/dbx decision.
