//! Loaded objects: transient slots (`MAX_LOADED_OBJECTS` = 3, TPM_RC_OBJECT_MEMORY beyond) and
//! the persistent objects kept in permanent state (EvictControl).

use super::Object;
use super::sequence::Sequence;
use tpm_proto::*;

/// Transient object slots (`MAX_LOADED_OBJECTS`).
pub const MAX_LOADED_OBJECTS: usize = 3;
/// Persistent objects this engine stores (`NV_MEMORY_SIZE` budget stand-in).
pub const MAX_PERSISTENT: usize = 16;

/// What a transient slot holds: an ordinary object or a hash/HMAC/event sequence object
/// (sequence objects take object slots too; Part 1, 32.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loaded {
    /// An object with a public area.
    Object(Object),
    /// A sequence object (no public area; its Name is empty).
    Sequence(Sequence),
}

/// The transient slots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transient {
    slots: [Option<Loaded>; MAX_LOADED_OBJECTS],
}

impl Transient {
    /// The slots (index i is handle `TRANSIENT_FIRST + i`), for the volatile blob.
    pub fn slots(&self) -> &[Option<Loaded>; MAX_LOADED_OBJECTS] {
        &self.slots
    }

    /// Slots read back from the volatile blob.
    pub fn from_slots(slots: [Option<Loaded>; MAX_LOADED_OBJECTS]) -> Transient {
        Transient { slots }
    }

    /// Loads an object into a free slot: its handle, or `TPM_RC_OBJECT_MEMORY`.
    pub fn insert(&mut self, o: Object) -> Result<u32, u32> {
        self.insert_loaded(Loaded::Object(o))
    }

    /// Loads a sequence object into a free slot: its handle, or `TPM_RC_OBJECT_MEMORY`.
    pub fn insert_sequence(&mut self, s: Sequence) -> Result<u32, u32> {
        self.insert_loaded(Loaded::Sequence(s))
    }

    fn insert_loaded(&mut self, l: Loaded) -> Result<u32, u32> {
        let i = self
            .slots
            .iter()
            .position(Option::is_none)
            .ok_or(TPM_RC_OBJECT_MEMORY)?;
        self.slots[i] = Some(l);
        Ok(TRANSIENT_FIRST + i as u32)
    }

    fn index(h: u32) -> Option<usize> {
        let i = h.checked_sub(TRANSIENT_FIRST)? as usize;
        (i < MAX_LOADED_OBJECTS).then_some(i)
    }

    /// The object at `h` (`None` for an empty slot or a sequence object).
    pub fn get(&self, h: u32) -> Option<&Object> {
        match self.slots.get(Self::index(h)?)? {
            Some(Loaded::Object(o)) => Some(o),
            _ => None,
        }
    }

    /// The sequence object at `h`.
    pub fn sequence(&self, h: u32) -> Option<&Sequence> {
        match self.slots.get(Self::index(h)?)? {
            Some(Loaded::Sequence(s)) => Some(s),
            _ => None,
        }
    }

    /// The sequence object at `h`, to update it.
    pub fn sequence_mut(&mut self, h: u32) -> Option<&mut Sequence> {
        match self.slots.get_mut(Self::index(h)?)? {
            Some(Loaded::Sequence(s)) => Some(s),
            _ => None,
        }
    }

    /// Whether anything (object or sequence) is loaded at `h`.
    pub fn contains(&self, h: u32) -> bool {
        Self::index(h).is_some_and(|i| self.slots[i].is_some())
    }

    /// Flushes `h`; false if nothing was loaded there.
    pub fn remove(&mut self, h: u32) -> bool {
        Self::index(h).and_then(|i| self.slots[i].take()).is_some()
    }

    /// Handles of loaded objects, ascending.
    pub fn handles(&self) -> Vec<u32> {
        (0..MAX_LOADED_OBJECTS)
            .filter(|&i| self.slots[i].is_some())
            .map(|i| TRANSIENT_FIRST + i as u32)
            .collect()
    }

    /// Flushes every object of `hierarchy` (hierarchy disabled / seed changed).
    pub fn flush_hierarchy(&mut self, hierarchy: u32) {
        for s in &mut self.slots {
            if matches!(s, Some(Loaded::Object(o)) if o.hierarchy == hierarchy) {
                *s = None;
            }
        }
    }

    /// Number of free slots.
    pub fn free(&self) -> usize {
        self.slots.iter().filter(|s| s.is_none()).count()
    }
}
