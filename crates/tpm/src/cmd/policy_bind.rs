//! Policy assertions that bind the authorized command's handles, template or platform
//! signal (Part 3, 23.14 PolicyNameHash, 23.12 PolicyPhysicalPresence, 23.15
//! PolicyDuplicationSelect, 23.21 PolicyTemplate). The dispatcher checks them when the
//! session authorizes (`dispatch::check_policy_bindings`).

use super::policy_nv::session_mut;
use crate::Tpm;
use crate::crypto::hash;
use crate::dispatch::{Ctx, param};
use crate::session::policy;
use tpm_proto::attest::MAX_NAME;
use tpm_proto::object::MAX_DIGEST;
use tpm_proto::*;

/// TPM2_PolicyNameHash (Part 3, 23.14): `policyDigest = H(policyDigest ||
/// TPM_CC_PolicyNameHash || nameHash)`; the session keeps nameHash, which must be free.
pub fn policy_name_hash(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let name_hash = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    ctx.end()?;
    let s = session_mut(tpm, ctx.handles[0], 1)?;
    if Some(name_hash.len()) != digest_size(s.hash) {
        return Err(rc_param(TPM_RC_SIZE, 1));
    }
    if s.policy.cp_slot_taken() {
        return Err(TPM_RC_CPHASH);
    }
    policy::extend(s, TPM_CC_POLICY_NAME_HASH, &[&name_hash])?;
    s.policy.name_hash = Some(name_hash);
    Ok(())
}

/// TPM2_PolicyTemplate (Part 3, 23.21): binds the template of the object a Create,
/// CreatePrimary or CreateLoaded may make; repeating the same templateHash is allowed.
pub fn policy_template(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let template_hash = param(1, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    ctx.end()?;
    let s = session_mut(tpm, ctx.handles[0], 1)?;
    // Reference order: the binding conflict before the size.
    if s.policy.cp_slot_taken() && s.policy.template_hash.as_ref() != Some(&template_hash) {
        return Err(TPM_RC_CPHASH);
    }
    if Some(template_hash.len()) != digest_size(s.hash) {
        return Err(rc_param(TPM_RC_SIZE, 1));
    }
    policy::extend(s, TPM_CC_POLICY_TEMPLATE, &[&template_hash])?;
    s.policy.template_hash = Some(template_hash);
    Ok(())
}

/// TPM2_PolicyPhysicalPresence (Part 3, 23.12): the authorization will need physical presence.
pub fn policy_physical_presence(
    tpm: &mut Tpm,
    ctx: &mut Ctx<'_>,
    _out: &mut Vec<u8>,
) -> Result<(), u32> {
    ctx.end()?;
    let s = session_mut(tpm, ctx.handles[0], 1)?;
    s.policy.pp_required = true;
    policy::extend(s, TPM_CC_POLICY_PHYSICAL_PRESENCE, &[])
}

/// TPM2_PolicyDuplicationSelect (Part 3, 23.15): restricts the session to TPM2_Duplicate of
/// `objectName` to `newParentName` (nameHash = H(objectName || newParentName));
/// `policyDigest = H(policyDigest || TPM_CC_PolicyDuplicationSelect || [objectName ||]
/// newParentName || includeObject)`.
pub fn policy_duplication_select(
    tpm: &mut Tpm,
    ctx: &mut Ctx<'_>,
    _out: &mut Vec<u8>,
) -> Result<(), u32> {
    let object_name = param(1, ctx.params.tpm2b(MAX_NAME))?.to_vec();
    let new_parent = param(2, ctx.params.tpm2b(MAX_NAME))?.to_vec();
    let include = param(3, ctx.params.yes_no())?;
    ctx.end()?;
    let s = session_mut(tpm, ctx.handles[0], 1)?;
    if s.policy.cp_slot_taken() {
        return Err(TPM_RC_CPHASH);
    }
    if s.policy.command_code.is_some() {
        return Err(TPM_RC_COMMAND_CODE);
    }
    let name_hash = hash(s.hash, &[&object_name, &new_parent])
        .ok_or(TPM_RC_HASH)?
        .as_ref()
        .to_vec();
    let object: &[u8] = if include { &object_name } else { &[] };
    policy::extend(
        s,
        TPM_CC_POLICY_DUPLICATION_SELECT,
        &[object, &new_parent, &[u8::from(include)]],
    )?;
    s.policy.name_hash = Some(name_hash);
    s.policy.command_code = Some(TPM_CC_DUPLICATE);
    Ok(())
}
