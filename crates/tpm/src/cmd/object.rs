//! Object commands (Part 3, 12 and 24.1): CreatePrimary, Create, Load, LoadExternal,
//! ReadPublic, Unseal, ObjectChangeAuth, EvictControl.

use crate::Tpm;
use crate::crypto::{ecc, hash, hmac, rsa};
use crate::dispatch::{Ctx, param};
use crate::object::{Object, Source, generate, name_of, protect, public};
use crate::pcr;
use crate::state::trim_zeros;
use tpm_proto::attest::{TpmsCreationData, TpmtTicket};
use tpm_proto::object::{
    MAX_DIGEST, PublicId, PublicParms, TpmsSensitiveCreate, TpmtPublic, TpmtSensitive,
};
use tpm_proto::*;

/// `MAX_SYM_DATA`: bound of sealed data (`TPM2B_SENSITIVE_DATA`, Part 2, 11.1.14).
const MAX_SYM_DATA: usize = 128;

fn read_create_params(
    ctx: &mut Ctx<'_>,
) -> Result<(TpmsSensitiveCreate, TpmtPublic, Vec<u8>, TpmlPcrSelection), u32> {
    let sc = param(1, TpmsSensitiveCreate::read_2b(&mut ctx.params))?;
    let p = param(2, TpmtPublic::read_2b(&mut ctx.params))?;
    let outside = param(3, ctx.params.tpm2b(MAX_DIGEST))?.to_vec();
    let sel = super::pcr::read_selection(ctx, 4)?;
    ctx.end()?;
    check_template(&sc, &p)?;
    Ok((sc, p, outside, sel))
}

/// Template and sensitive-data consistency shared by Create, CreatePrimary and CreateLoaded.
fn check_template(sc: &TpmsSensitiveCreate, p: &TpmtPublic) -> Result<(), u32> {
    public::check(p, false).map_err(|rc| rc_param(rc, 2))?;
    if sc.data.len() > MAX_SYM_DATA {
        return Err(rc_param(TPM_RC_SIZE, 1));
    }
    let has_data = !sc.data.is_empty();
    let origin = p.object_attributes & TPMA_OBJECT_SENSITIVE_DATA_ORIGIN != 0;
    match p.parameters {
        PublicParms::KeyedHash { .. } | PublicParms::SymCipher { .. } if has_data && origin => {
            return Err(rc_param(TPM_RC_ATTRIBUTES, 2));
        }
        PublicParms::KeyedHash { .. } if !has_data && !origin => {
            return Err(rc_param(TPM_RC_ATTRIBUTES, 2));
        }
        // A caller-supplied cipher key must fit the definition (reference
        // `CryptSymKeyValidate`).
        PublicParms::SymCipher { sym }
            if has_data && sc.data.len() * 8 != usize::from(sym.key_bits) =>
        {
            return Err(TPM_RC_KEY_SIZE);
        }
        _ => {}
    }
    Ok(())
}

/// Hierarchy proof (ticket and context key) of `h`.
pub fn proof(tpm: &Tpm, h: u32) -> &[u8; 64] {
    match h {
        TPM_RH_OWNER => &tpm.perm.sh_proof,
        TPM_RH_ENDORSEMENT => &tpm.perm.eh_proof,
        TPM_RH_PLATFORM => &tpm.perm.ph_proof,
        _ => &tpm.vol.null_proof,
    }
}

/// Writes creationData, creationHash and creationTicket (Part 3, 12.1 and 24.1).
fn creation_outputs(
    tpm: &Tpm,
    ctx: &Ctx<'_>,
    obj: &Object,
    parent: Option<&Object>,
    outside: Vec<u8>,
    sel: TpmlPcrSelection,
    out: &mut Vec<u8>,
) -> Result<(), u32> {
    let alg = obj.public.name_alg;
    let values = pcr::selected_values(&tpm.vol, &sel);
    let pcr_digest = hash(alg, &[&values]).ok_or(TPM_RC_HASH)?.as_ref().to_vec();
    let hn = obj.hierarchy.to_be_bytes().to_vec();
    let cd = TpmsCreationData {
        pcr_select: sel,
        pcr_digest,
        locality: 1u8.checked_shl(u32::from(ctx.locality)).unwrap_or(0),
        parent_name_alg: parent.map_or(TPM_ALG_NULL, |p| p.public.name_alg),
        parent_name: parent.map_or(hn.clone(), |p| p.name.clone()),
        parent_qualified_name: parent.map_or(hn, |p| p.qualified_name.clone()),
        outside_info: outside,
    };
    let mut cdb = Vec::new();
    cd.write(&mut cdb);
    out.put_tpm2b(&cdb);
    let ch = hash(alg, &[&cdb]).ok_or(TPM_RC_HASH)?;
    out.put_tpm2b(ch.as_ref());
    ticket(
        tpm,
        obj.hierarchy,
        TPM_ST_CREATION,
        &[&obj.name, ch.as_ref()],
    )?
    .write(out);
    Ok(())
}

/// A ticket: `HMAC-SHA512(proof, tag || parts)` (CONTEXT_INTEGRITY_HASH_ALG, as TPM2_Hash), or
/// a NULL ticket in the NULL hierarchy.
pub fn ticket(tpm: &Tpm, hierarchy: u32, tag: u16, parts: &[&[u8]]) -> Result<TpmtTicket, u32> {
    if hierarchy == TPM_RH_NULL {
        return Ok(TpmtTicket::null(tag));
    }
    let mut v: Vec<&[u8]> = Vec::with_capacity(parts.len() + 1);
    let t = tag.to_be_bytes();
    v.push(&t);
    v.extend_from_slice(parts);
    let d = hmac(TPM_ALG_SHA512, proof(tpm, hierarchy), &v).ok_or(TPM_RC_FAILURE)?;
    Ok(TpmtTicket {
        tag,
        hierarchy,
        digest: d.as_ref().to_vec(),
    })
}

/// Derives a primary object from `hierarchy`'s seed (Part 1, 26.?).
fn primary_object(
    tpm: &mut Tpm,
    hierarchy: u32,
    tmpl: &TpmtPublic,
    sc: &TpmsSensitiveCreate,
) -> Result<Object, u32> {
    let seed = match hierarchy {
        TPM_RH_OWNER => tpm.perm.sps,
        TPM_RH_ENDORSEMENT => tpm.perm.eps,
        TPM_RH_PLATFORM => tpm.perm.pps,
        _ => tpm.null_seed(),
    };
    if tpm.vol.objects.free() == 0 {
        return Err(TPM_RC_OBJECT_MEMORY);
    }
    let before = tpm.perm.rsa_cache.entries.len();
    tpm.perm.rsa_cache.hierarchy = hierarchy;
    let (public, sensitive) = generate(
        tmpl,
        sc,
        Source::Primary {
            seed: &seed,
            rsa_cache: &mut tpm.perm.rsa_cache,
        },
    )
    .map_err(|rc| rc_param(rc, 2))?;
    if tpm.perm.rsa_cache.entries.len() != before
        || matches!(tmpl.parameters, PublicParms::Rsa { .. })
    {
        tpm.dirty |= tpm.perm.rsa_cache.entries.len() != before;
    }
    Ok(Object::new(
        public,
        Some(sensitive),
        hierarchy,
        &hierarchy.to_be_bytes(),
    ))
}

/// TPM2_CreatePrimary (Part 3, 24.1).
pub fn create_primary(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let hierarchy = ctx.handles[0];
    let (sc, tmpl, outside, sel) = read_create_params(ctx)?;
    let obj = primary_object(tpm, hierarchy, &tmpl, &sc)?;
    let name = obj.name.clone();
    let pub2b = obj.public.to_bytes();
    out.put_tpm2b(&pub2b);
    creation_outputs(tpm, ctx, &obj, None, outside, sel, out)?;
    out.put_tpm2b(&name);
    let h = tpm.vol.objects.insert(obj)?;
    out.patch_u32(10, h);
    Ok(())
}

/// TPM2_CreateLoaded (Part 3, 12.9): a primary object when `parentHandle` is a hierarchy
/// (empty outPrivate), else Create under a storage parent followed by Load. Derivation
/// parents are not supported (TPM_RC_TYPE).
pub fn create_loaded(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let sc = param(1, TpmsSensitiveCreate::read_2b(&mut ctx.params))?;
    let tmpl = param(2, TpmtPublic::read_2b(&mut ctx.params))?;
    ctx.end()?;
    check_template(&sc, &tmpl)?;
    let ph = ctx.handles[0];
    let (obj, private) = if ph >> 24 == u32::from(TPM_HT_PERMANENT) {
        (primary_object(tpm, ph, &tmpl, &sc)?, Vec::new())
    } else {
        let parent = storage_parent(tpm, ph)?;
        check_child_attributes(&tmpl)?;
        if tpm.vol.objects.free() == 0 {
            return Err(TPM_RC_OBJECT_MEMORY);
        }
        let (public, sensitive) =
            generate(&tmpl, &sc, Source::Random).map_err(|rc| rc_param(rc, 2))?;
        let obj = Object::new(
            public,
            Some(sensitive),
            parent.hierarchy,
            &parent.qualified_name,
        );
        let s = obj.sensitive.as_ref().ok_or(TPM_RC_FAILURE)?;
        let private = protect::wrap(&parent, &obj.name, s)?;
        (obj, private)
    };
    out.put_tpm2b(&private);
    out.put_tpm2b(&obj.public.to_bytes());
    out.put_tpm2b(&obj.name);
    let h = tpm.vol.objects.insert(obj)?;
    out.patch_u32(10, h);
    Ok(())
}

fn storage_parent(tpm: &Tpm, h: u32) -> Result<Object, u32> {
    let p = tpm.object(h).ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    if !p.is_storage_parent() || p.sensitive.is_none() {
        return Err(rc_handle(TPM_RC_TYPE, 1));
    }
    Ok(p.clone())
}

/// TPM2_Create (Part 3, 12.1).
pub fn create(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let parent = storage_parent(tpm, ctx.handles[0])?;
    let (sc, tmpl, outside, sel) = read_create_params(ctx)?;
    check_child_attributes(&tmpl)?;
    let (public, sensitive) = generate(&tmpl, &sc, Source::Random).map_err(|rc| rc_param(rc, 2))?;
    let obj = Object::new(public, None, parent.hierarchy, &parent.qualified_name);
    let private = protect::wrap(&parent, &obj.name, &sensitive)?;
    out.put_tpm2b(&private);
    out.put_tpm2b(&obj.public.to_bytes());
    creation_outputs(tpm, ctx, &obj, Some(&parent), outside, sel, out)
}

/// fixedTPM needs fixedParent for an ordinary object (Part 1, 27.?).
fn check_child_attributes(tmpl: &TpmtPublic) -> Result<(), u32> {
    if tmpl.object_attributes & TPMA_OBJECT_FIXED_PARENT == 0
        && tmpl.object_attributes & TPMA_OBJECT_FIXED_TPM != 0
    {
        return Err(rc_param(TPM_RC_ATTRIBUTES, 2));
    }
    Ok(())
}

/// Checks that a sensitive area belongs to a public area (`TPM_RC_BINDING`).
pub(super) fn check_binding(p: &TpmtPublic, s: &TpmtSensitive) -> Result<(), u32> {
    if s.sensitive_type != p.object_type {
        return Err(TPM_RC_TYPE);
    }
    let ok = match (&p.parameters, &p.unique) {
        (PublicParms::Rsa { .. }, PublicId::Rsa(n)) => {
            rsa::modulus_of(&s.sensitive).is_some_and(|m| &m == n)
        }
        (PublicParms::Ecc { curve_id, .. }, PublicId::Ecc { x, y }) => {
            ecc::Curve::from_id(*curve_id)
                .and_then(|c| ecc::public_point(c, &s.sensitive).ok())
                .is_some_and(|(px, py)| &px == x && &py == y)
        }
        (_, PublicId::Digest(u)) => {
            hash(p.name_alg, &[&s.seed_value, &s.sensitive]).is_some_and(|d| d.as_ref() == &u[..])
        }
        _ => false,
    };
    if ok { Ok(()) } else { Err(TPM_RC_BINDING) }
}

/// An RSA sensitive area in the spec's form (the prime p: LoadExternal, private blobs) completed
/// to the PKCS#8 key this engine keeps; one that already is PKCS#8 (longer than the modulus:
/// private blobs of earlier tl-vtpm versions) and other types stay as they are.
/// `TPM_RC_BINDING` if p is not a factor of n.
fn complete_rsa(p: &TpmtPublic, mut s: TpmtSensitive) -> Result<TpmtSensitive, u32> {
    if let (PublicParms::Rsa { exponent, .. }, PublicId::Rsa(n)) = (&p.parameters, &p.unique)
        && s.sensitive_type == TPM_ALG_RSA
        && s.sensitive.len() < n.len()
    {
        s.sensitive = rsa::from_prime(n, *exponent, &s.sensitive).map_err(|_| TPM_RC_BINDING)?;
    }
    Ok(s)
}

/// TPM2_Load (Part 3, 12.2).
pub fn load(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let parent = storage_parent(tpm, ctx.handles[0])?;
    let private = param(1, ctx.params.tpm2b(u16::MAX as usize))?.to_vec();
    let p = param(2, TpmtPublic::read_2b(&mut ctx.params))?;
    ctx.end()?;
    public::check(&p, false).map_err(|rc| rc_param(rc, 2))?;
    let name = name_of(&p);
    let s = protect::unwrap(&parent, &name, &private).map_err(|rc| rc_param(rc, 1))?;
    let s = complete_rsa(&p, s).map_err(|rc| rc_param(rc, 2))?;
    check_binding(&p, &s).map_err(|rc| rc_param(rc, 2))?;
    let obj = Object::new(p, Some(s), parent.hierarchy, &parent.qualified_name);
    let name = obj.name.clone();
    let h = tpm.vol.objects.insert(obj)?;
    out.patch_u32(10, h);
    out.put_tpm2b(&name);
    Ok(())
}

/// TPM2_LoadExternal (Part 3, 12.3): public-only, or with a clear sensitive area (for RSA the
/// prime p, from which the rest of the private key is computed).
pub fn load_external(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let sens = param(1, ctx.params.tpm2b(u16::MAX as usize))?.to_vec();
    let p = param(2, TpmtPublic::read_2b(&mut ctx.params))?;
    let hierarchy = param(3, ctx.params.u32())?;
    ctx.end()?;
    if !matches!(
        hierarchy,
        TPM_RH_OWNER | TPM_RH_ENDORSEMENT | TPM_RH_PLATFORM | TPM_RH_NULL
    ) {
        return Err(rc_param(TPM_RC_VALUE, 3));
    }
    let sensitive = if sens.is_empty() {
        None
    } else {
        if hierarchy != TPM_RH_NULL {
            return Err(rc_param(TPM_RC_HIERARCHY, 3));
        }
        let mut r = Reader::new(&sens);
        let s = param(1, TpmtSensitive::read(&mut r))?;
        param(1, r.finish())?;
        if p.object_type == TPM_ALG_RSA {
            public::check(&p, false).map_err(|rc| rc_param(rc, 2))?;
        }
        let s = complete_rsa(&p, s).map_err(|rc| rc_param(rc, 2))?;
        check_binding(&p, &s).map_err(|rc| rc_param(rc, 2))?;
        Some(s)
    };
    public::check(&p, sensitive.is_none()).map_err(|rc| rc_param(rc, 2))?;
    let obj = Object::new(p, sensitive, hierarchy, &hierarchy.to_be_bytes());
    let name = obj.name.clone();
    let h = tpm.vol.objects.insert(obj)?;
    out.patch_u32(10, h);
    out.put_tpm2b(&name);
    Ok(())
}

/// TPM2_ReadPublic (Part 3, 12.4).
pub fn read_public(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    let o = tpm
        .object(ctx.handles[0])
        .ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    out.put_tpm2b(&o.public.to_bytes());
    out.put_tpm2b(&o.name);
    out.put_tpm2b(&o.qualified_name);
    Ok(())
}

/// TPM2_Unseal (Part 3, 12.7).
pub fn unseal(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    ctx.end()?;
    let o = tpm
        .object(ctx.handles[0])
        .ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    if o.public.object_type != TPM_ALG_KEYEDHASH {
        return Err(rc_handle(TPM_RC_TYPE, 1));
    }
    if o.has(TPMA_OBJECT_RESTRICTED)
        || o.has(TPMA_OBJECT_DECRYPT)
        || o.has(TPMA_OBJECT_SIGN_ENCRYPT)
    {
        return Err(rc_handle(TPM_RC_ATTRIBUTES, 1));
    }
    let s = o.sensitive.as_ref().ok_or(rc_handle(TPM_RC_TYPE, 1))?;
    out.put_tpm2b(&s.sensitive);
    Ok(())
}

/// TPM2_ObjectChangeAuth (Part 3, 12.6): a new private area with the new authValue.
pub fn object_change_auth(tpm: &mut Tpm, ctx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), u32> {
    let new = param(1, ctx.params.tpm2b(MAX_DIGEST))?;
    ctx.end()?;
    let o = tpm
        .object(ctx.handles[0])
        .ok_or(rc_handle(TPM_RC_HANDLE, 1))?;
    let parent = storage_parent(tpm, ctx.handles[1]).map_err(|_| rc_handle(TPM_RC_TYPE, 2))?;
    if ctx.handles[0] >> 24 != u32::from(TPM_HT_TRANSIENT) {
        return Err(rc_handle(TPM_RC_HANDLE, 1));
    }
    let new = trim_zeros(new);
    if new.len() > digest_size(o.public.name_alg).unwrap_or(0) {
        return Err(rc_param(TPM_RC_SIZE, 1));
    }
    let mut s = o.sensitive.clone().ok_or(rc_handle(TPM_RC_TYPE, 1))?;
    s.auth_value = new.to_vec();
    out.put_tpm2b(&protect::wrap(&parent, &o.name, &s)?);
    Ok(())
}

/// TPM2_EvictControl (Part 3, 28.5).
pub fn evict_control(tpm: &mut Tpm, ctx: &mut Ctx<'_>, _out: &mut Vec<u8>) -> Result<(), u32> {
    let ph = param(1, ctx.params.u32())?;
    ctx.end()?;
    let (auth, oh) = (ctx.handles[0], ctx.handles[1]);
    let platform_range = (PLATFORM_PERSISTENT..=0x81FF_FFFF).contains(&ph);
    if !(PERSISTENT_FIRST..=0x81FF_FFFF).contains(&ph) {
        return Err(rc_param(TPM_RC_RANGE, 1));
    }
    if (auth == TPM_RH_PLATFORM) != platform_range {
        return Err(rc_param(TPM_RC_RANGE, 1));
    }
    let o = tpm.object(oh).ok_or(rc_handle(TPM_RC_HANDLE, 2))?.clone();
    if auth == TPM_RH_OWNER && o.hierarchy == TPM_RH_PLATFORM {
        return Err(rc_handle(TPM_RC_HIERARCHY, 2));
    }
    if oh >> 24 == u32::from(TPM_HT_PERSISTENT) {
        if oh != ph {
            return Err(rc_handle(TPM_RC_HANDLE, 2));
        }
        tpm.perm.persistent.retain(|(h, _)| *h != oh);
    } else {
        if o.hierarchy == TPM_RH_NULL || o.sensitive.is_none() {
            return Err(rc_handle(TPM_RC_HIERARCHY, 2));
        }
        if o.has(TPMA_OBJECT_ST_CLEAR) {
            return Err(rc_handle(TPM_RC_ATTRIBUTES, 2));
        }
        if tpm.perm.persistent.iter().any(|(h, _)| *h == ph) {
            return Err(TPM_RC_NV_DEFINED);
        }
        if tpm.perm.persistent.len() >= crate::object::store::MAX_PERSISTENT {
            return Err(TPM_RC_NV_SPACE);
        }
        tpm.perm.persistent.push((ph, o));
        tpm.perm.persistent.sort_by_key(|(h, _)| *h);
    }
    tpm.dirty = true;
    Ok(())
}

/// `TPM_RC_NV_DEFINED` (Part 2, 6.6.3): the persistent handle is taken.
pub const TPM_RC_NV_DEFINED: u32 = 0x100 + 0x04C;
