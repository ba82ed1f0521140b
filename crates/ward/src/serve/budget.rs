//! The node's hashing memory: *here is media to hash; is there room for it?* Every byte of
//! media the node holds to hash (an upload's file, what a reported URL served) and every
//! decode (the memory `ward_core::decode::plan` reads from the file's headers, and hashing's
//! own) is reserved from one budget (`--hash-memory`) before it is taken. A request that
//! finds no room waits up to `--hash-wait`, then gets 503 with `Retry-After`; one that could
//! never fit gets 413; background work (intake, re-checks) waits its turn. So no mix of
//! uploads, fetches and decodes holds more than the budget, whatever their sizes.
//!
//! New reservations are served in turn, so a large one is not overtaken by smaller ones
//! forever; a holder that needs more goes first, and the budget refuses rather than
//! deadlocks ([`Reservation`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;
use tokio::sync::Notify;

use super::error::ApiError;

/// The memory a video takes while it is hashed, besides its bytes: the worker process's
/// frames (up to the frame-size limit, several in flight), FFmpeg's own and the frames read
/// ahead. Counted whatever the video, as its size is known only to the worker.
pub const VIDEO_MEMORY: u64 = 256 << 20;

/// The error code of a refusal for want of hashing memory (503, or 413 when more than all
/// of it): it says nothing of the media itself.
pub const OVER_BUDGET: &str = "no_hashing_memory";

/// How long a client is told to wait before trying again (`Retry-After`).
const RETRY_AFTER_SECONDS: u64 = 5;

/// How a reservation waits for room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Patience {
    /// A client's request: at most the budget's wait, then 503.
    Request,
    /// The node's own work (intake, re-checks): as long as it takes.
    Background,
}

/// Why no room was given.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// More than the whole budget: it can never be taken (413).
    TooLarge { needed: u64, capacity: u64 },
    /// No room within the wait (503 with `Retry-After`).
    Busy { waited: Duration },
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        match refusal {
            Refusal::TooLarge { needed, capacity } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                OVER_BUDGET,
                format!(
                    "hashing this needs {} MiB of memory, more than this node's {} MiB \
                     (--hash-memory)",
                    needed.div_ceil(1 << 20),
                    capacity >> 20
                ),
            ),
            Refusal::Busy { waited } => {
                let mut error = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    OVER_BUDGET,
                    format!(
                        "no hashing memory free after {} s: try again later",
                        waited.as_secs()
                    ),
                );
                error.retry_after = Some(RETRY_AFTER_SECONDS);
                error
            }
        }
    }
}

/// The node's budget of memory for media to hash.
#[derive(Debug)]
pub struct HashBudget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    /// Woken whenever memory is given back or the queue moves.
    changed: Notify,
    /// In bytes.
    capacity: u64,
    wait: Duration,
    /// Reservations that had to wait for room, those refused after waiting, and those
    /// waiting now.
    waits: AtomicU64,
    refused: AtomicU64,
    waiting: AtomicU64,
}

/// Who holds what, under the budget's lock.
#[derive(Debug)]
struct State {
    free: u64,
    /// Reservations holding memory.
    holders: usize,
    /// Holders waiting for more: they go before new reservations, which wait meanwhile.
    growing: usize,
    /// New reservations waiting, first come first served (a large one is not overtaken).
    queue: VecDeque<u64>,
    next_ticket: u64,
}

impl HashBudget {
    /// A budget of `capacity` bytes, for which requests wait at most `wait`.
    pub fn new(capacity: u64, wait: Duration) -> HashBudget {
        HashBudget {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    free: capacity,
                    holders: 0,
                    growing: 0,
                    queue: VecDeque::new(),
                    next_ticket: 0,
                }),
                changed: Notify::new(),
                capacity,
                wait,
                waits: AtomicU64::new(0),
                refused: AtomicU64::new(0),
                waiting: AtomicU64::new(0),
            }),
        }
    }

    /// A reservation of nothing yet, to grow as bytes arrive.
    pub fn empty(&self) -> Reservation {
        Reservation {
            inner: Arc::clone(&self.inner),
            bytes: 0,
        }
    }

    /// Reserves `bytes`.
    pub async fn reserve(&self, bytes: u64, patience: Patience) -> Result<Reservation, Refusal> {
        let mut reservation = self.empty();
        reservation.grow_to(bytes, patience).await?;
        Ok(reservation)
    }

    /// The budget, in bytes.
    pub fn capacity(&self) -> u64 {
        self.inner.capacity
    }

    /// What is reserved now, in bytes.
    pub fn in_use(&self) -> u64 {
        self.inner.capacity - self.inner.state.lock().expect("budget").free
    }

    /// Reservations that waited for room, those refused after waiting, and those waiting
    /// now.
    pub fn waits(&self) -> (u64, u64, u64) {
        (
            self.inner.waits.load(Ordering::Relaxed),
            self.inner.refused.load(Ordering::Relaxed),
            self.inner.waiting.load(Ordering::Relaxed),
        )
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("budget")
    }

    /// Waits until `ready` takes the room it needs (under the lock), or the patience runs
    /// out; `give_up` then undoes the waiter's place (under the lock).
    async fn wait_until(
        &self,
        patience: Patience,
        mut ready: impl FnMut(&mut State) -> bool,
        give_up: impl FnOnce(&mut State),
    ) -> Result<(), Refusal> {
        self.waits.fetch_add(1, Ordering::Relaxed);
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let deadline = match patience {
            Patience::Request => Some(tokio::time::Instant::now() + self.wait),
            Patience::Background => None,
        };
        let outcome = loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if ready(&mut self.lock()) {
                break Ok(());
            }
            match deadline {
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline, changed).await.is_err() {
                        let mut state = self.lock();
                        // The room may have come with the deadline.
                        if ready(&mut state) {
                            break Ok(());
                        }
                        give_up(&mut state);
                        break Err(Refusal::Busy { waited: self.wait });
                    }
                }
                None => changed.await,
            }
        };
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        if outcome.is_err() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        // Whoever is next in line may go now.
        self.changed.notify_waiters();
        outcome
    }
}

/// Memory reserved from the budget; given back when dropped.
///
/// Holding some and waiting for more is where budgets deadlock (each holder waiting for
/// another's memory), so a holder that must wait goes before new reservations (which wait
/// meanwhile, not taking what it waits for), and when every holder is waiting for more, the
/// last to wait is refused at once and gives its memory back to the others.
#[derive(Debug)]
pub struct Reservation {
    inner: Arc<Inner>,
    bytes: u64,
}

impl Reservation {
    /// What is reserved, in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Makes the reservation at least `bytes`, waiting for the difference as `patience`
    /// allows. On a refusal the reservation is as it was.
    pub async fn grow_to(&mut self, bytes: u64, patience: Patience) -> Result<(), Refusal> {
        if bytes <= self.bytes {
            return Ok(());
        }
        let inner = Arc::clone(&self.inner);
        if bytes > inner.capacity {
            return Err(Refusal::TooLarge {
                needed: bytes,
                capacity: inner.capacity,
            });
        }
        let more = bytes - self.bytes;
        if self.bytes == 0 {
            // A new reservation: in turn, after holders that wait for more.
            let ticket = {
                let mut state = inner.lock();
                if state.queue.is_empty() && state.growing == 0 && state.free >= more {
                    state.free -= more;
                    state.holders += 1;
                    drop(state);
                    self.bytes = bytes;
                    return Ok(());
                }
                let ticket = state.next_ticket;
                state.next_ticket += 1;
                state.queue.push_back(ticket);
                ticket
            };
            let ready = |state: &mut State| {
                if state.queue.front() == Some(&ticket) && state.growing == 0 && state.free >= more
                {
                    state.queue.pop_front();
                    state.free -= more;
                    state.holders += 1;
                    return true;
                }
                false
            };
            let give_up = |state: &mut State| state.queue.retain(|t| *t != ticket);
            inner.wait_until(patience, ready, give_up).await?;
        } else {
            {
                let mut state = inner.lock();
                if state.free >= more {
                    state.free -= more;
                    drop(state);
                    self.bytes = bytes;
                    return Ok(());
                }
                state.growing += 1;
                if state.growing >= state.holders {
                    // Every holder waits for more: nobody would give any back.
                    state.growing -= 1;
                    drop(state);
                    inner.refused.fetch_add(1, Ordering::Relaxed);
                    return Err(Refusal::Busy {
                        waited: Duration::ZERO,
                    });
                }
            }
            let ready = |state: &mut State| {
                if state.free >= more {
                    state.free -= more;
                    state.growing -= 1;
                    return true;
                }
                false
            };
            let give_up = |state: &mut State| state.growing -= 1;
            inner.wait_until(patience, ready, give_up).await?;
        }
        self.bytes = bytes;
        Ok(())
    }

    /// Gives back what is reserved beyond `bytes`.
    pub fn shrink_to(&mut self, bytes: u64) {
        if bytes >= self.bytes {
            return;
        }
        let given = self.bytes - bytes;
        {
            let mut state = self.inner.lock();
            state.free += given;
            if bytes == 0 {
                state.holders -= 1;
            }
        }
        self.bytes = bytes;
        self.inner.changed.notify_waiters();
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.shrink_to(0);
    }
}

/// Room for bytes as they arrive (the fetcher's body), from a reservation.
impl crate::fetch::Room for Reservation {
    fn grow_to(
        &mut self,
        bytes: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>> {
        Box::pin(async move {
            Reservation::grow_to(self, bytes, Patience::Background)
                .await
                .is_ok()
        })
    }
}

/// A multipart upload's parts, read within the upload limit, with memory reserved for the
/// body before it is read (its `Content-Length`, when given) and as it arrives.
pub struct Upload {
    multipart: Multipart,
    reservation: Reservation,
    limit: u64,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("reserved", &self.reservation.bytes())
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// Why an upload could not be read: a status (413 over the limit, 503 without room) and
/// a message.
pub type UploadError = ApiError;

/// The longest text part of an upload's form that is read (HMA's `metadata` and `note`).
pub const FORM_FIELD_MAX: usize = 65_536 + 1_024;

impl Upload {
    /// Opens a multipart request body: over `limit` bytes it is refused (413) before a byte
    /// is read when its `Content-Length` says so, and as soon as it passes the limit
    /// otherwise; its declared length is reserved from `budget` first.
    pub async fn open<S: Send + Sync>(
        request: Request,
        state: &S,
        budget: &HashBudget,
        limit: u64,
    ) -> Result<Upload, UploadError> {
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(length) = declared
            && length > limit
        {
            return Err(too_large(limit));
        }
        let reservation = budget
            .reserve(declared.unwrap_or(0), Patience::Request)
            .await?;
        let request = request
            .map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit as usize)));
        let multipart = Multipart::from_request(request, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "bad_request", e.body_text()))?;
        Ok(Upload {
            multipart,
            reservation,
            limit,
        })
    }

    /// Reads the parts in order: the first that `is_file` takes (by its name and file
    /// name) is read whole, and returned with its name; when `count_all`, the rest are read
    /// past (and counted when `is_file` takes them), else left unread. Also returns how many
    /// parts `is_file` took.
    pub async fn first_file(
        &mut self,
        is_file: impl Fn(Option<&str>, Option<&str>) -> bool,
        count_all: bool,
    ) -> Result<(Option<(String, Vec<u8>)>, usize), UploadError> {
        let mut fields = Vec::new();
        self.first_file_and_fields(is_file, count_all, &[], &mut fields)
            .await
    }

    /// As [`Upload::first_file`], also reading the text parts named in `wanted` (the first
    /// of each name, at most [`FORM_FIELD_MAX`] bytes, else 413) into `fields`.
    pub async fn first_file_and_fields(
        &mut self,
        is_file: impl Fn(Option<&str>, Option<&str>) -> bool,
        count_all: bool,
        wanted: &[&str],
        fields: &mut Vec<(String, String)>,
    ) -> Result<(Option<(String, Vec<u8>)>, usize), UploadError> {
        let limit = self.limit;
        let mut first = None;
        let mut files = 0;
        while let Some(mut field) = self
            .multipart
            .next_field()
            .await
            .map_err(|e| part_error(&e, limit))?
        {
            if !is_file(field.name(), field.file_name()) {
                let name = field.name().unwrap_or_default().to_owned();
                if wanted.contains(&name.as_str()) && !fields.iter().any(|(n, _)| *n == name) {
                    let mut text = Vec::new();
                    while let Some(chunk) =
                        field.chunk().await.map_err(|e| part_error(&e, limit))?
                    {
                        if text.len() + chunk.len() > FORM_FIELD_MAX {
                            return Err(ApiError::new(
                                StatusCode::PAYLOAD_TOO_LARGE,
                                "too_large",
                                format!(
                                    "the form field {name} has more than {FORM_FIELD_MAX} bytes"
                                ),
                            ));
                        }
                        text.extend_from_slice(&chunk);
                    }
                    fields.push((name, String::from_utf8_lossy(&text).into_owned()));
                }
                continue;
            }
            files += 1;
            if first.is_none() {
                let name = field.name().unwrap_or_default().to_owned();
                first = Some((name, read(&mut self.reservation, field, limit).await?));
                if !count_all {
                    break;
                }
            }
        }
        Ok((first, files))
    }

    /// The reservation, to hash the bytes read under it.
    pub fn into_reservation(self) -> Reservation {
        self.reservation
    }
}

/// Reads a part's bytes, reserving what they take as they arrive.
async fn read(
    reservation: &mut Reservation,
    mut field: Field<'_>,
    limit: u64,
) -> Result<Vec<u8>, UploadError> {
    // With the body's length reserved, the part fits in it without growing.
    let mut bytes: Vec<u8> = Vec::with_capacity(reservation.bytes().min(limit) as usize);
    while let Some(chunk) = field.chunk().await.map_err(|e| part_error(&e, limit))? {
        let needed = bytes.len() + chunk.len();
        if needed > bytes.capacity() {
            let capacity = needed.max(2 * bytes.capacity()).max(64 << 10);
            reservation
                .grow_to(capacity as u64, Patience::Request)
                .await?;
            bytes.reserve_exact(capacity - bytes.len());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A multipart error with its status: 413 when the body passed the limit, 408 when it
/// stalled.
fn part_error(error: &axum::extract::multipart::MultipartError, limit: u64) -> UploadError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large(limit);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(stalled) = cause.downcast_ref::<super::connections::BodyStalled>() {
            return ApiError::new(StatusCode::REQUEST_TIMEOUT, "timeout", stalled.to_string());
        }
        source = cause.source();
    }
    ApiError::new(
        error.status(),
        "bad_request",
        format!("multipart: {}", error.body_text()),
    )
}

/// 413 for a body over the upload limit.
pub fn too_large(limit: u64) -> UploadError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!(
            "the request body is larger than this node takes ({} MiB, --body-limit)",
            limit >> 20
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[tokio::test]
    async fn reservations_never_exceed_the_budget() {
        let budget = HashBudget::new(10 * MIB, Duration::from_millis(50));
        let a = budget.reserve(6 * MIB, Patience::Request).await.unwrap();
        assert_eq!(budget.in_use(), 6 * MIB);
        // 5 MiB more does not fit while `a` holds 6: refused after the wait.
        let refused = budget.reserve(5 * MIB, Patience::Request).await;
        assert_eq!(
            refused.unwrap_err(),
            Refusal::Busy {
                waited: Duration::from_millis(50)
            }
        );
        assert_eq!(budget.waits(), (1, 1, 0));
        // More than the whole budget can never fit.
        assert!(matches!(
            budget.reserve(11 * MIB, Patience::Background).await,
            Err(Refusal::TooLarge { .. })
        ));
        drop(a);
        assert_eq!(budget.in_use(), 0);
        let b = budget.reserve(5 * MIB, Patience::Request).await.unwrap();
        assert_eq!(b.bytes(), 5 * MIB);
    }

    #[tokio::test]
    async fn reservations_grow_and_shrink() {
        let budget = HashBudget::new(10 * MIB, Duration::from_millis(50));
        let mut held = budget.empty();
        held.grow_to(MIB, Patience::Request).await.unwrap();
        held.grow_to(4 * MIB, Patience::Request).await.unwrap();
        // Growing to less is nothing.
        held.grow_to(2 * MIB, Patience::Request).await.unwrap();
        assert_eq!((held.bytes(), budget.in_use()), (4 * MIB, 4 * MIB));
        // A refused growth leaves the reservation as it was.
        let other = budget.reserve(5 * MIB, Patience::Request).await.unwrap();
        assert!(held.grow_to(6 * MIB, Patience::Request).await.is_err());
        assert_eq!((held.bytes(), budget.in_use()), (4 * MIB, 9 * MIB));
        held.shrink_to(MIB + 1);
        assert_eq!(held.bytes(), MIB + 1);
        assert_eq!(budget.in_use(), 6 * MIB + 1);
        drop((held, other));
        assert_eq!(budget.in_use(), 0);
    }

    #[tokio::test]
    async fn a_waiting_reservation_gets_the_room_given_back() {
        let budget = Arc::new(HashBudget::new(10 * MIB, Duration::from_secs(30)));
        let first = budget.reserve(8 * MIB, Patience::Request).await.unwrap();
        let waiting = {
            let budget = Arc::clone(&budget);
            tokio::spawn(async move { budget.reserve(8 * MIB, Patience::Background).await })
        };
        while budget.waits().2 == 0 {
            tokio::task::yield_now().await;
        }
        // The waiting one takes nothing until all it needs is free.
        assert_eq!(budget.in_use(), 8 * MIB);
        assert!(!waiting.is_finished());
        drop(first);
        let second = waiting.await.unwrap().unwrap();
        assert_eq!((second.bytes(), budget.in_use()), (8 * MIB, 8 * MIB));
        assert_eq!(budget.waits(), (1, 0, 0));
    }

    #[tokio::test]
    async fn holders_that_need_more_go_first_and_never_deadlock() {
        let budget = Arc::new(HashBudget::new(10 * MIB, Duration::from_secs(30)));
        // Two uploads hold 4 MiB each; a third waits for 4 MiB.
        let mut a = budget.reserve(4 * MIB, Patience::Request).await.unwrap();
        let mut b = budget.reserve(4 * MIB, Patience::Request).await.unwrap();
        let third = {
            let budget = Arc::clone(&budget);
            tokio::spawn(async move { budget.reserve(4 * MIB, Patience::Request).await })
        };
        while budget.waits().2 == 0 {
            tokio::task::yield_now().await;
        }
        // `a` needs 3 MiB more to decode: it waits, and the newcomer does not take what it
        // waits for.
        let growing =
            tokio::spawn(async move { a.grow_to(7 * MIB, Patience::Request).await.map(|()| a) });
        while budget.waits().2 < 2 {
            tokio::task::yield_now().await;
        }
        // `b` needs 3 MiB more too: every holder would wait for another, so `b` is refused
        // at once, and the memory it gives back lets `a` decode.
        assert_eq!(
            b.grow_to(7 * MIB, Patience::Request).await,
            Err(Refusal::Busy {
                waited: Duration::ZERO
            })
        );
        assert_eq!(b.bytes(), 4 * MIB);
        drop(b);
        let a = growing.await.unwrap().unwrap();
        assert_eq!(budget.in_use(), 7 * MIB);
        assert!(!third.is_finished());
        drop(a);
        let third = third.await.unwrap().unwrap();
        assert_eq!((third.bytes(), budget.in_use()), (4 * MIB, 4 * MIB));
    }

    #[tokio::test]
    async fn a_large_reservation_is_not_overtaken() {
        let budget = Arc::new(HashBudget::new(10 * MIB, Duration::from_secs(30)));
        let first = budget.reserve(6 * MIB, Patience::Request).await.unwrap();
        let large = {
            let budget = Arc::clone(&budget);
            tokio::spawn(async move { budget.reserve(8 * MIB, Patience::Request).await })
        };
        while budget.waits().2 == 0 {
            tokio::task::yield_now().await;
        }
        // 4 MiB are free, but a small one waits behind the large one.
        let small = {
            let budget = Arc::clone(&budget);
            tokio::spawn(async move { budget.reserve(MIB, Patience::Request).await })
        };
        while budget.waits().2 < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(budget.in_use(), 6 * MIB);
        drop(first);
        let large = large.await.unwrap().unwrap();
        let small = small.await.unwrap().unwrap();
        assert_eq!(budget.in_use(), 9 * MIB);
        drop((large, small));
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn refusals_are_413_and_503_with_retry_after() {
        let error = ApiError::from(Refusal::TooLarge {
            needed: 3 * MIB,
            capacity: 2 * MIB,
        });
        assert_eq!(error.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(error.message.contains("--hash-memory"), "{}", error.message);
        let error = ApiError::from(Refusal::Busy {
            waited: Duration::from_secs(10),
        });
        assert_eq!(error.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.retry_after, Some(RETRY_AFTER_SECONDS));
    }
}
