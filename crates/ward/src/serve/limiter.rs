//! How often one client may do something costly or guessable (send the report form, try to
//! sign in): a token bucket per client address, in this node's memory only (limits are per
//! node). Addresses are held only as map keys, for as long as their bucket is not full
//! again (minutes), and are never stored or logged.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limit's settings.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Submissions a client may send at once.
    pub burst: u32,
    /// Submissions a client regains per minute.
    pub per_minute: u32,
    /// Clients remembered at most; when that many have sent recently, new ones are refused
    /// until some have waited long enough to be forgotten (memory stays bounded).
    pub max_clients: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            burst: 10,
            per_minute: 6,
            max_clients: 100_000,
        }
    }
}

/// The buckets of the clients that sent recently.
#[derive(Debug)]
pub struct Limiter {
    limits: Limits,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    buckets: HashMap<Client, Bucket>,
    /// When full buckets were last forgotten (at most once a second: a full map is not
    /// swept on every request).
    swept: Option<Instant>,
}

/// A client as the limiter knows it: an IPv4 address, or the /64 network of an IPv6 one
/// (one subscriber's usual allocation, which it could otherwise rotate through).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Client {
    V4(u32),
    V6(u64),
}

impl From<IpAddr> for Client {
    fn from(address: IpAddr) -> Client {
        match address {
            IpAddr::V4(v4) => Client::V4(v4.into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client::V4(v4.into()),
                None => Client::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Limiter {
    pub fn new(limits: Limits) -> Limiter {
        Limiter {
            limits,
            state: Mutex::new(State {
                buckets: HashMap::new(),
                swept: None,
            }),
        }
    }

    #[cfg(test)]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Takes one submission from `client`'s bucket at `now`; when it is empty, how long until
    /// the next one is allowed.
    pub fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.limits.burst.max(1));
        let per_second = f64::from(self.limits.per_minute.max(1)) / 60.0;
        let refill = |bucket: &Bucket| {
            let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
            (bucket.tokens + elapsed * per_second).min(burst)
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let client = Client::from(client);
        if !state.buckets.contains_key(&client) && state.buckets.len() >= self.limits.max_clients {
            let due = state
                .swept
                .is_none_or(|at| now.saturating_duration_since(at) >= Duration::from_secs(1));
            if due {
                state.buckets.retain(|_, bucket| refill(bucket) < burst);
                state.swept = Some(now);
            }
            if state.buckets.len() >= self.limits.max_clients {
                tracing::warn!(
                    clients = state.buckets.len(),
                    "a rate limiter is full: refusing new clients for now"
                );
                return Err(Duration::from_secs(60));
            }
        }
        let bucket = state.buckets.entry(client).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let tokens = refill(bucket);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            Ok(())
        } else {
            *bucket = Bucket { tokens, at: now };
            Err(Duration::from_secs_f64((1.0 - tokens) / per_second))
        }
    }

    /// Clients remembered now.
    #[cfg(test)]
    pub fn clients(&self) -> usize {
        self.state.lock().unwrap().buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn limiter(burst: u32, per_minute: u32, max_clients: usize) -> Limiter {
        Limiter::new(Limits {
            burst,
            per_minute,
            max_clients,
        })
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_client_has_its_burst_then_the_rate() {
        let limiter = limiter(3, 60, 10);
        let start = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            assert_eq!(limiter.take(a, start), Ok(()));
        }
        // Empty: one submission a second.
        assert_eq!(limiter.take(a, start), Err(Duration::from_secs(1)));
        let half = start + Duration::from_millis(500);
        assert_eq!(limiter.take(a, half), Err(Duration::from_millis(500)));
        assert_eq!(limiter.take(a, start + Duration::from_secs(1)), Ok(()));
        assert!(limiter.take(a, start + Duration::from_secs(1)).is_err());
        // Another client has its own bucket.
        assert_eq!(limiter.take(ip("192.0.2.2"), start), Ok(()));
        // Waiting long refills only up to the burst.
        let later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(limiter.take(a, later), Ok(()));
        }
        assert!(limiter.take(a, later).is_err());
    }

    #[test]
    fn an_ipv6_client_is_its_network() {
        let limiter = limiter(1, 1, 10);
        let now = Instant::now();
        assert_eq!(limiter.take(ip("2001:db8:1:2::1"), now), Ok(()));
        assert!(limiter.take(ip("2001:db8:1:2:ffff::9"), now).is_err());
        assert_eq!(limiter.take(ip("2001:db8:1:3::1"), now), Ok(()));
        // A mapped IPv4 address is that IPv4 client.
        assert_eq!(limiter.take(ip("198.51.100.7"), now), Ok(()));
        let mapped = IpAddr::V6(Ipv4Addr::new(198, 51, 100, 7).to_ipv6_mapped());
        assert!(limiter.take(mapped, now).is_err());
    }

    #[test]
    fn memory_is_bounded_and_full_buckets_are_forgotten() {
        let limiter = limiter(2, 60, 3);
        let start = Instant::now();
        for i in 1..=3 {
            assert_eq!(limiter.take(ip(&format!("192.0.2.{i}")), start), Ok(()));
        }
        // Full of clients whose buckets are not full again: a new client waits.
        assert!(limiter.take(ip("192.0.2.4"), start).is_err());
        assert_eq!(limiter.clients(), 3);
        // Known clients still go on.
        assert_eq!(limiter.take(ip("192.0.2.1"), start), Ok(()));
        // Two seconds later every bucket is full again (one a second): they are forgotten.
        let later = start + Duration::from_secs(2);
        assert_eq!(limiter.take(ip("192.0.2.4"), later), Ok(()));
        assert_eq!(limiter.clients(), 1);
    }
}
