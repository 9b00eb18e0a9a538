//! Policy digest updates (Part 1, 19.7.2 "Policy Assertions"; Part 3, 23.1).

use super::Session;
use crate::crypto::Hasher;
use tpm_proto::*;

/// `policyDigest = H(policyDigest || commandCode || parts...)`.
pub fn extend(s: &mut Session, cc: u32, parts: &[&[u8]]) -> Result<(), u32> {
    let mut h = Hasher::new(s.hash).ok_or(TPM_RC_HASH)?;
    h.update(&s.policy.digest);
    h.update(&cc.to_be_bytes());
    for p in parts {
        h.update(p);
    }
    s.policy.digest = h.finish().as_ref().to_vec();
    Ok(())
}

/// PolicyUpdate's second step with a policyRef: `policyDigest = H(policyDigest || policyRef)`.
pub fn update_ref(s: &mut Session, policy_ref: &[u8]) -> Result<(), u32> {
    let mut h = Hasher::new(s.hash).ok_or(TPM_RC_HASH)?;
    h.update(&s.policy.digest);
    h.update(policy_ref);
    s.policy.digest = h.finish().as_ref().to_vec();
    Ok(())
}
