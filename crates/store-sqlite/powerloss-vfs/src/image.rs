//! One file's durable image and what was written to it since, and what a power loss makes of
//! them.

/// The disk's sector: the unit a torn write keeps or loses.
pub const SECTOR: u64 = 512;

/// What a power loss does to the writes not yet synced.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Every one is lost.
    LoseUnsynced,
    /// Each one is independently kept whole, lost whole, or torn: each of its 512-byte sectors
    /// kept or lost (a disk may write a file's dirty pages in any order, and a sector is what
    /// it writes atomically). Decided by a generator seeded with the value.
    Torn(Rng),
}

/// What [`crate::Disk::restore`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    /// Files written back.
    pub files: usize,
    /// Writes (and truncations) since the last sync that were dropped whole.
    pub lost: usize,
    /// Such writes kept whole (only in [`Mode::Torn`]).
    pub kept: usize,
    /// Such writes kept in part, sector by sector (only in [`Mode::Torn`]).
    pub torn: usize,
    /// Files created whose directory was never synced since, lost whole with their name.
    pub unsynced_entries: usize,
}

impl std::ops::AddAssign for Restored {
    fn add_assign(&mut self, other: Self) {
        self.files += other.files;
        self.lost += other.lost;
        self.kept += other.kept;
        self.torn += other.torn;
        self.unsynced_entries += other.unsynced_entries;
    }
}

/// SplitMix64: small, seedable, and enough to pick cut points and tear writes.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

enum Op {
    Write { offset: u64, data: Vec<u8> },
    Truncate(u64),
}

/// A file as the disk holds it.
pub(crate) struct Image {
    durable: Vec<u8>,
    pending: Vec<Op>,
    /// The file existed before, or its directory was synced after it was created.
    pub(crate) entry_synced: bool,
}

impl Image {
    pub(crate) fn new(durable: Vec<u8>, existed: bool) -> Self {
        Self {
            durable,
            pending: Vec::new(),
            entry_synced: existed,
        }
    }

    pub(crate) fn wrote(&mut self, offset: u64, data: &[u8]) {
        self.pending.push(Op::Write {
            offset,
            data: data.to_vec(),
        });
    }

    pub(crate) fn truncated(&mut self, size: u64) {
        self.pending.push(Op::Truncate(size));
    }

    /// An fsync: everything written so far is durable.
    pub(crate) fn sync(&mut self) {
        for op in std::mem::take(&mut self.pending) {
            apply(&mut self.durable, &op, None);
        }
    }

    /// The file's content after a power loss now.
    pub(crate) fn after_power_loss(&mut self, mode: &mut Mode, restored: &mut Restored) -> Vec<u8> {
        let mut content = self.durable.clone();
        for op in std::mem::take(&mut self.pending) {
            let rng = match mode {
                Mode::LoseUnsynced => {
                    restored.lost += 1;
                    continue;
                }
                Mode::Torn(rng) => rng,
            };
            match (rng.below(3), &op) {
                (0, _) => restored.lost += 1,
                (1, _) | (_, Op::Truncate(_)) => {
                    restored.kept += 1;
                    apply(&mut content, &op, None);
                }
                _ => {
                    restored.torn += 1;
                    apply(&mut content, &op, Some(rng));
                }
            }
        }
        self.durable.clone_from(&content);
        content
    }
}

/// Applies `op` to `content`; with `tear`, each sector of a write is kept or lost at random.
fn apply(content: &mut Vec<u8>, op: &Op, tear: Option<&mut Rng>) {
    match op {
        Op::Truncate(size) => content.truncate(usize::try_from(*size).unwrap_or(usize::MAX)),
        Op::Write { offset, data } => {
            let mut tear = tear;
            let end = offset + data.len() as u64;
            let mut at = *offset;
            while at < end {
                let next = ((at / SECTOR + 1) * SECTOR).min(end);
                if tear.as_mut().is_none_or(|rng| rng.below(2) == 0) {
                    let (from, to) = (at as usize, next as usize);
                    if content.len() < to {
                        content.resize(to, 0);
                    }
                    content[from..to]
                        .copy_from_slice(&data[from - *offset as usize..to - *offset as usize]);
                }
                at = next;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_write_keeps_whole_sectors_only() {
        let mut content = vec![0u8; 2048];
        let op = Op::Write {
            offset: 256,
            data: vec![1u8; 1536],
        };
        apply(&mut content, &op, Some(&mut Rng::new(7)));
        for sector in content[512..1536].chunks(512) {
            assert!(sector.iter().all(|&b| b == sector[0]), "a sector was split");
        }
    }
}
