//! The forest: here are items grouped into series, which series is each in, and who is in it.
//!
//! A union-find over slots (union by size, path halving), each tree one series, with the
//! members of a tree also threaded on a circular doubly linked ring so that a series lists its
//! members in time proportional to its size and two rings splice in constant time. Only the
//! root's `series`, `size` and `buried` mean anything.
//!
//! A removed item whose series stays whole is **buried**: its slot stays in the tree and the
//! ring (other slots may hang from it) but no longer counts as a member. Buried slots are
//! given back when their series is regrouped, which the engine does once they outnumber the
//! members, so they never cost more than the members do.

/// No series yet (a root between `add` and the caller naming its series).
const NONE: u64 = u64::MAX;

#[derive(Debug)]
struct Slot {
    item: u64,
    series: u64,
    parent: u32,
    next: u32,
    prev: u32,
    /// Members (not buried) in the tree.
    size: u32,
    /// Buried slots in the tree.
    buried: u32,
    alive: bool,
    /// The curator's partition label (0 until a split gives the item another).
    label: u32,
}

#[derive(Debug, Default)]
pub(super) struct Forest {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

impl Forest {
    /// A new singleton tree for `item`; returns its slot.
    pub fn add(&mut self, item: u64, label: u32) -> u32 {
        let slot = Slot {
            item,
            series: NONE,
            parent: 0,
            next: 0,
            prev: 0,
            size: 1,
            buried: 0,
            alive: true,
            label,
        };
        let at = match self.free.pop() {
            Some(at) => {
                self.slots[at as usize] = slot;
                at
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.single(at);
        at
    }

    fn single(&mut self, at: u32) {
        let slot = &mut self.slots[at as usize];
        slot.parent = at;
        slot.next = at;
        slot.prev = at;
        slot.size = 1;
        slot.buried = 0;
        slot.alive = true;
    }

    /// Takes a member out of its tree's count, leaving its slot in place (see the module's
    /// documentation).
    pub fn bury(&mut self, at: u32, root: u32) {
        self.slots[at as usize].alive = false;
        self.slots[root as usize].size -= 1;
        self.slots[root as usize].buried += 1;
    }

    /// The buried slots of the tree with this root.
    pub fn buried(&self, root: u32) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.slots[root as usize].buried as usize);
        self.walk(root, |at, alive| {
            if !alive {
                out.push(at);
            }
        });
        out
    }

    pub fn buried_count(&self, root: u32) -> usize {
        self.slots[root as usize].buried as usize
    }

    fn walk(&self, root: u32, mut visit: impl FnMut(u32, bool)) {
        let mut at = root;
        loop {
            visit(at, self.slots[at as usize].alive);
            at = self.slots[at as usize].next;
            if at == root {
                return;
            }
        }
    }

    /// Gives a slot back; the caller has regrouped its series without it.
    pub fn release(&mut self, at: u32) {
        self.slots[at as usize].series = NONE;
        self.slots[at as usize].alive = false;
        self.free.push(at);
    }

    pub fn find(&self, mut at: u32) -> u32 {
        while self.slots[at as usize].parent != at {
            at = self.slots[at as usize].parent;
        }
        at
    }

    pub fn find_mut(&mut self, mut at: u32) -> u32 {
        loop {
            let parent = self.slots[at as usize].parent;
            if parent == at {
                return at;
            }
            let grandparent = self.slots[parent as usize].parent;
            self.slots[at as usize].parent = grandparent;
            at = grandparent;
        }
    }

    /// Joins two trees given by their roots; returns the new root (whose series the caller
    /// sets).
    pub fn union(&mut self, a: u32, b: u32) -> u32 {
        if a == b {
            return a;
        }
        let (big, small) = if self.slots[a as usize].size >= self.slots[b as usize].size {
            (a, b)
        } else {
            (b, a)
        };
        self.slots[small as usize].parent = big;
        self.slots[big as usize].size += self.slots[small as usize].size;
        self.slots[big as usize].buried += self.slots[small as usize].buried;
        // Splice the rings: big -> (small's ring) -> big's old next.
        let big_next = self.slots[big as usize].next;
        let small_next = self.slots[small as usize].next;
        self.slots[big as usize].next = small_next;
        self.slots[small_next as usize].prev = big;
        self.slots[small as usize].next = big_next;
        self.slots[big_next as usize].prev = small;
        big
    }

    /// The members' slots of the tree with this root, in ring order from the root.
    pub fn members(&self, root: u32) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.slots[root as usize].size as usize);
        self.walk(root, |at, alive| {
            if alive {
                out.push(at);
            }
        });
        out
    }

    /// Makes each part a tree of its own, rooted at its first slot; returns the roots.
    pub fn regroup(&mut self, parts: &[Vec<u32>]) -> Vec<u32> {
        let mut roots = Vec::with_capacity(parts.len());
        for part in parts {
            let root = part[0];
            for &at in part {
                self.single(at);
            }
            for (&a, &b) in part.iter().zip(part.iter().skip(1)) {
                self.slots[b as usize].parent = root;
                self.slots[a as usize].next = b;
                self.slots[b as usize].prev = a;
            }
            let last = *part.last().expect("parts are not empty");
            self.slots[last as usize].next = root;
            self.slots[root as usize].prev = last;
            self.slots[root as usize].size = part.len() as u32;
            roots.push(root);
        }
        roots
    }

    pub fn item(&self, at: u32) -> u64 {
        self.slots[at as usize].item
    }

    pub fn label(&self, at: u32) -> u32 {
        self.slots[at as usize].label
    }

    pub fn set_label(&mut self, at: u32, label: u32) {
        self.slots[at as usize].label = label;
    }

    /// The series of a root.
    pub fn series(&self, root: u32) -> u64 {
        self.slots[root as usize].series
    }

    pub fn set_series(&mut self, root: u32, series: u64) {
        self.slots[root as usize].series = series;
    }

    pub fn size(&self, root: u32) -> usize {
        self.slots[root as usize].size as usize
    }

    pub fn memory_bytes(&self) -> usize {
        self.slots.capacity() * size_of::<Slot>() + self.free.capacity() * size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_splice_rings_and_regroup_resets_them() {
        let mut forest = Forest::default();
        let slots: Vec<u32> = (0..6).map(|i| forest.add(100 + i, 0)).collect();
        let a = forest.union(slots[0], slots[1]);
        let b = forest.union(slots[2], slots[3]);
        let b = forest.union(b, slots[4]);
        let root = forest.union(a, b);
        let mut items: Vec<u64> = forest
            .members(root)
            .iter()
            .map(|&s| forest.item(s))
            .collect();
        items.sort_unstable();
        assert_eq!(items, [100, 101, 102, 103, 104]);
        assert_eq!(forest.size(root), 5);
        for &s in &slots[..5] {
            assert_eq!(forest.find(s), root);
        }
        assert_eq!(forest.members(forest.find(slots[5])), [slots[5]]);

        let roots = forest.regroup(&[vec![slots[3], slots[0]], vec![slots[1], slots[2], slots[4]]]);
        assert_eq!(roots, [slots[3], slots[1]]);
        assert_eq!(forest.members(roots[0]), [slots[3], slots[0]]);
        assert_eq!(forest.members(roots[1]), [slots[1], slots[2], slots[4]]);
        assert_eq!(forest.find_mut(slots[4]), slots[1]);
        assert_eq!(forest.size(roots[1]), 3);

        // A buried root still holds its tree together but is no member.
        forest.bury(slots[1], roots[1]);
        assert_eq!(forest.members(roots[1]), [slots[2], slots[4]]);
        assert_eq!(forest.buried(roots[1]), [slots[1]]);
        assert_eq!(
            (forest.size(roots[1]), forest.buried_count(roots[1])),
            (2, 1)
        );
        let root = forest.union(roots[0], roots[1]);
        assert_eq!((forest.size(root), forest.buried_count(root)), (4, 1));
        assert_eq!(forest.members(root).len(), 4);
        assert_eq!(forest.find(slots[4]), root);
    }
}
