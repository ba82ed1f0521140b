//! Upkeep that yields to serving: the CPU-heavy steps of a node's own background work (the
//! series keeper's engine) run on one thread at the lowest scheduling priority, so that they
//! take only the CPU time that answering requests leaves.
//!
//! On a node under load the keeper's engine could otherwise hold one of the runtime's worker
//! threads for seconds at a time (loading ten million items takes minutes of a core), and
//! every request queued behind it waited: a node catching up after a bulk import answered a
//! few dozen matches a second. Here the engine works at nice +19 while requests are answered
//! at the normal priority, as video hashing threads yield to the decoder. Store reads and
//! writes stay on the runtime: they wait on I/O, not on the CPU.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Mutex;
use std::sync::mpsc::{Sender, channel};

/// A piece of work for the background thread.
type Job = Box<dyn FnOnce() + Send>;

/// The background thread's queue, started on first use.
static QUEUE: Mutex<Option<Sender<Job>>> = Mutex::new(None);

/// Runs `work` on the background thread and waits for its result without holding a runtime
/// thread. Jobs run one at a time, in the order given. A panic in `work` is raised again in
/// the caller; a caller that stops waiting lets the job finish and drops its result.
pub async fn run<T, F>(work: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(catch_unwind(AssertUnwindSafe(work)));
    });
    submit(job);
    match result.await {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => resume_unwind(panic),
        // The thread is gone only if the process is shutting down.
        Err(_) => panic!("the background thread stopped"),
    }
}

fn submit(job: Job) {
    let mut queue = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
    let job = match queue.as_ref() {
        Some(sender) => match sender.send(job) {
            Ok(()) => return,
            // The thread has gone (it never stops by itself): start another.
            Err(refused) => refused.0,
        },
        None => job,
    };
    let (sender, jobs) = channel::<Job>();
    std::thread::Builder::new()
        .name("ward-background".into())
        .spawn(move || {
            lowest_priority();
            for job in jobs {
                job();
            }
        })
        .expect("starting the background thread");
    sender
        .send(job)
        .unwrap_or_else(|_| unreachable!("the thread holds the receiver"));
    *queue = Some(sender);
}

/// Gives back to the system the memory that upkeep freed. After the keeper's engine is built
/// (a map of every item's signature, gigabytes at ten million items, built and dropped), the
/// allocators keep freed pages for reuse, and the node's resident memory would stay at its
/// peak; this returns them: Ward's own allocator (mimalloc, `main.rs`) for this thread's heap
/// and what other threads left, and glibc's heaps, which SQLite allocates from. Call it on
/// the background thread.
pub fn release_freed_memory() {
    // SAFETY: mi_collect only frees memory the allocator holds unused; it touches none in use.
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of the allocator's heaps to the system;
    // it touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The nice value of the background thread: the lowest priority a thread can have.
#[cfg(target_os = "linux")]
const BACKGROUND_NICE: libc::c_int = 19;

/// Lowers the calling thread's scheduling priority (best effort; only Linux gives threads
/// their own nice value).
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on this thread's own id changes only its scheduling priority
    // (raising the nice value needs no privilege); gettid has no preconditions.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, BACKGROUND_NICE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_the_background_thread_at_the_lowest_priority() {
        let (name, nice) = run(|| {
            let name = std::thread::current().name().map(str::to_owned);
            #[cfg(target_os = "linux")]
            // SAFETY: getpriority reads this thread's own priority.
            let nice =
                unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
            #[cfg(not(target_os = "linux"))]
            let nice = 19;
            (name, nice)
        })
        .await;
        assert_eq!(name.as_deref(), Some("ward-background"));
        assert_eq!(nice, 19);
    }

    #[tokio::test]
    async fn every_job_runs_and_a_panic_reaches_the_caller() {
        let order = std::sync::Arc::new(Mutex::new(Vec::new()));
        let waiting: Vec<_> = (0..20)
            .map(|i| {
                let order = std::sync::Arc::clone(&order);
                tokio::spawn(run(move || order.lock().unwrap().push(i)))
            })
            .collect();
        for job in waiting {
            job.await.unwrap();
        }
        let mut order = order.lock().unwrap().clone();
        assert_eq!(order.len(), 20);
        order.sort_unstable();
        assert_eq!(order, (0..20).collect::<Vec<_>>());
        let caught = tokio::spawn(run(|| panic!("engine failure"))).await;
        assert!(caught.unwrap_err().is_panic());
        // The thread goes on after a panic.
        assert_eq!(run(|| 7).await, 7);
    }
}
