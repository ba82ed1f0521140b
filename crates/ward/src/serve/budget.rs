//! The node's hashing memory: *here is media to hash; is there room for it?* Every byte of
//! media the node holds to hash (an upload's file, what a reported URL served) and every
//! decode (the memory `ward_core::decode::plan` reads from the file's headers, and hashing's
//! own) is reserved from one budget (`--hash-memory`) before it is taken. A request that
//! finds no room waits up to `--hash-wait`, then gets 503 with `Retry-After`; one that could
//! never fit gets 413; background work (intake, re-checks) waits its turn. So no mix of
//! uploads, fetches and decodes holds more than the budget, whatever their sizes.
//!
//! Reservations are permits of a fair semaphore (in KiB): a large request at the head of
//! the queue is not overtaken by smaller ones forever.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;

/// The memory a video takes while it is hashed, besides its bytes: the worker process's
/// frames (up to the frame-size limit, several in flight), FFmpeg's own and the frames read
/// ahead. Counted whatever the video, as its size is known only to the worker.
pub const VIDEO_MEMORY: u64 = 256 << 20;

/// How long a client is told to wait before trying again (`Retry-After`).
const RETRY_AFTER_SECONDS: u64 = 5;

/// One KiB: the unit of reservations.
const UNIT: u64 = 1024;

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
                "too_large",
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
                    "busy",
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
    semaphore: Arc<Semaphore>,
    /// In units.
    capacity: u64,
    wait: Duration,
    /// Reservations that had to wait for room, those refused after waiting, and those
    /// waiting now.
    waits: AtomicU64,
    refused: AtomicU64,
    waiting: AtomicU64,
}

impl HashBudget {
    /// A budget of `capacity` bytes, for which requests wait at most `wait`.
    pub fn new(capacity: u64, wait: Duration) -> HashBudget {
        let units = (capacity / UNIT).clamp(1, Semaphore::MAX_PERMITS as u64);
        HashBudget {
            inner: Arc::new(Inner {
                semaphore: Arc::new(Semaphore::new(units as usize)),
                capacity: units,
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
            permit: None,
            units: 0,
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
        self.inner.capacity * UNIT
    }

    /// What is reserved now, in bytes (by reservations held, and by the first one waiting,
    /// which claims free room as it comes until it has all it asked for).
    pub fn in_use(&self) -> u64 {
        let free = self.inner.semaphore.available_permits() as u64;
        self.inner.capacity.saturating_sub(free) * UNIT
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

/// Memory reserved from the budget; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    inner: Arc<Inner>,
    permit: Option<OwnedSemaphorePermit>,
    units: u64,
}

impl Reservation {
    /// What is reserved, in bytes.
    pub fn bytes(&self) -> u64 {
        self.units * UNIT
    }

    /// Makes the reservation at least `bytes`, waiting for the difference as `patience`
    /// allows. On a refusal the reservation is as it was.
    pub async fn grow_to(&mut self, bytes: u64, patience: Patience) -> Result<(), Refusal> {
        let wanted = bytes.div_ceil(UNIT);
        if wanted <= self.units {
            return Ok(());
        }
        if wanted > self.inner.capacity {
            return Err(Refusal::TooLarge {
                needed: bytes,
                capacity: self.inner.capacity * UNIT,
            });
        }
        let more = (wanted - self.units) as u32;
        let semaphore = Arc::clone(&self.inner.semaphore);
        let permit = match Arc::clone(&semaphore).try_acquire_many_owned(more) {
            Ok(permit) => permit,
            Err(_) => {
                self.inner.waits.fetch_add(1, Ordering::Relaxed);
                self.inner.waiting.fetch_add(1, Ordering::Relaxed);
                let acquire = semaphore.acquire_many_owned(more);
                let acquired = match patience {
                    Patience::Background => Ok(acquire.await),
                    Patience::Request => tokio::time::timeout(self.inner.wait, acquire).await,
                };
                self.inner.waiting.fetch_sub(1, Ordering::Relaxed);
                match acquired {
                    Ok(Ok(permit)) => permit,
                    // The semaphore is never closed; a timeout is a refusal.
                    _ => {
                        self.inner.refused.fetch_add(1, Ordering::Relaxed);
                        return Err(Refusal::Busy {
                            waited: self.inner.wait,
                        });
                    }
                }
            }
        };
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
        self.units = wanted;
        Ok(())
    }

    /// Gives back what is reserved beyond `bytes`.
    pub fn shrink_to(&mut self, bytes: u64) {
        let kept = bytes.div_ceil(UNIT);
        if kept >= self.units {
            return;
        }
        if let Some(held) = &mut self.permit {
            drop(held.split((self.units - kept) as usize));
        }
        self.units = kept;
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
        let limit = self.limit;
        let mut first = None;
        let mut files = 0;
        while let Some(field) = self
            .multipart
            .next_field()
            .await
            .map_err(|e| part_error(&e, limit))?
        {
            if !is_file(field.name(), field.file_name()) {
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
        assert_eq!(held.bytes(), MIB + 1024);
        assert_eq!(budget.in_use(), 6 * MIB + 1024);
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
        // The waiting one is not given its room (the first waiter claims what is free, a
        // part of what it needs, so the free room reads 0), and nobody holds more than the
        // budget.
        assert_eq!(budget.in_use(), budget.capacity());
        assert!(!waiting.is_finished());
        drop(first);
        let second = waiting.await.unwrap().unwrap();
        assert_eq!((second.bytes(), budget.in_use()), (8 * MIB, 8 * MIB));
        assert_eq!(budget.waits(), (1, 0, 0));
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
