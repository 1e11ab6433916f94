//! Per-key limits on the HTTP front: a token bucket (requests per second, with a burst) and a cap
//! on requests in flight, both keyed by the API key that authenticated the request. Kept in this
//! process: with N replicas a key gets up to N times the limit (see docs/operations.md, "Limits
//! and outages").
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Whom the limits apply to: the API key, or for OAuth access tokens the user
/// (`Principal::holder`).
pub type Holder = uuid::Uuid;

/// What each key may do. A zero turns that limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLimits {
    /// Requests per second a key may make on average (the bucket's refill rate).
    pub rate_per_sec: u32,
    /// Requests a key may make at once after being idle (the bucket's size).
    pub burst: u32,
    /// Requests of one key being answered at the same time; more are refused, not queued.
    pub max_in_flight: u32,
}

impl Default for KeyLimits {
    fn default() -> Self {
        Self {
            rate_per_sec: 50,
            burst: 100,
            max_in_flight: 16,
        }
    }
}

impl KeyLimits {
    /// No limit at all (benchmarks, trusted single-user setups).
    pub const OFF: KeyLimits = KeyLimits {
        rate_per_sec: 0,
        burst: 0,
        max_in_flight: 0,
    };

    pub fn is_off(&self) -> bool {
        self.rate_per_sec == 0 && self.max_in_flight == 0
    }

    /// The bucket's size: the burst, but never less than one request (or the rate could never
    /// be reached).
    fn capacity(&self) -> f64 {
        f64::from(self.burst.max(1))
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Refusal {
    /// The key's bucket is empty; a token is back after `retry_after`.
    Rate { retry_after: Duration },
    /// The key already has `max_in_flight` requests being answered.
    InFlight { max: u32 },
}

impl Refusal {
    /// Whole seconds for a `Retry-After` header: rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        match self {
            Refusal::Rate { retry_after } => {
                let ms = retry_after.as_millis();
                u64::try_from(ms.div_ceil(1000)).unwrap_or(u64::MAX).max(1)
            }
            Refusal::InFlight { .. } => 1,
        }
    }
}

#[derive(Debug)]
struct Entry {
    tokens: f64,
    at: Instant,
    in_flight: u32,
}

/// Keys tracked at most; past that, idle keys (full bucket, nothing in flight) are forgotten.
const MAX_KEYS: usize = 100_000;

/// The limiter every request of this process goes through. Cheap to clone.
#[derive(Clone)]
pub struct KeyLimiter {
    limits: KeyLimits,
    keys: Arc<Mutex<HashMap<Holder, Entry>>>,
}

/// Holds one of the key's in-flight places until dropped.
#[must_use = "the in-flight place is given back when the permit is dropped"]
pub struct Permit {
    keys: Option<Arc<Mutex<HashMap<Holder, Entry>>>>,
    key: Holder,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(keys) = &self.keys
            && let Ok(mut keys) = keys.lock()
            && let Some(entry) = keys.get_mut(&self.key)
        {
            entry.in_flight = entry.in_flight.saturating_sub(1);
        }
    }
}

impl KeyLimiter {
    pub fn new(limits: KeyLimits) -> Self {
        Self {
            limits,
            keys: Arc::default(),
        }
    }

    pub fn limits(&self) -> KeyLimits {
        self.limits
    }

    /// Admits a request of `key` now, or says why not.
    pub fn admit(&self, key: Holder) -> Result<Permit, Refusal> {
        self.admit_at(key, Instant::now())
    }

    /// `admit` at a given instant (tests drive the clock).
    pub fn admit_at(&self, key: Holder, now: Instant) -> Result<Permit, Refusal> {
        if self.limits.is_off() {
            return Ok(Permit { keys: None, key });
        }
        let limits = self.limits;
        let capacity = limits.capacity();
        let rate = f64::from(limits.rate_per_sec);
        let Ok(mut keys) = self.keys.lock() else {
            // A poisoned lock means a panic elsewhere; do not turn it into refusing everyone.
            return Ok(Permit { keys: None, key });
        };
        if keys.len() >= MAX_KEYS && !keys.contains_key(&key) {
            keys.retain(|_, e| {
                let idle_for = now.saturating_duration_since(e.at).as_secs_f64();
                e.in_flight > 0 || (rate > 0.0 && e.tokens + idle_for * rate < capacity)
            });
        }
        let entry = keys.entry(key).or_insert(Entry {
            tokens: capacity,
            at: now,
            in_flight: 0,
        });
        if limits.max_in_flight > 0 && entry.in_flight >= limits.max_in_flight {
            return Err(Refusal::InFlight {
                max: limits.max_in_flight,
            });
        }
        if rate > 0.0 {
            let elapsed = now.saturating_duration_since(entry.at).as_secs_f64();
            entry.tokens = (entry.tokens + elapsed * rate).min(capacity);
            if now > entry.at {
                entry.at = now;
            }
            if entry.tokens < 1.0 {
                let wait = (1.0 - entry.tokens) / rate;
                return Err(Refusal::Rate {
                    retry_after: Duration::from_secs_f64(wait),
                });
            }
            entry.tokens -= 1.0;
        }
        entry.in_flight += 1;
        Ok(Permit {
            keys: Some(self.keys.clone()),
            key,
        })
    }

    /// How many keys are tracked (for tests of the memory bound).
    pub fn tracked_keys(&self) -> usize {
        self.keys.lock().map(|k| k.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Holder {
        Holder::new_v4()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = KeyLimiter::new(KeyLimits {
            rate_per_sec: 10,
            burst: 5,
            max_in_flight: 0,
        });
        let (k, t0) = (key(), Instant::now());
        for i in 0..5 {
            assert!(limiter.admit_at(k, t0).is_ok(), "request {i} of the burst");
        }
        let refused = limiter.admit_at(k, t0).err().expect("the bucket is empty");
        match refused {
            Refusal::Rate { retry_after } => {
                assert!(
                    retry_after > ms(90) && retry_after <= ms(100),
                    "{retry_after:?}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(refused.retry_after_secs(), 1);
        // One token comes back every 100 ms, not before.
        assert!(limiter.admit_at(k, t0 + ms(50)).is_err());
        assert!(limiter.admit_at(k, t0 + ms(100)).is_ok());
        assert!(limiter.admit_at(k, t0 + ms(100)).is_err());
        // Idle for a long time: back to the burst, never more.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..5 {
            assert!(limiter.admit_at(k, later).is_ok());
        }
        assert!(limiter.admit_at(k, later).is_err());
    }

    #[test]
    fn keys_have_their_own_buckets() {
        let limiter = KeyLimiter::new(KeyLimits {
            rate_per_sec: 1,
            burst: 2,
            max_in_flight: 0,
        });
        let (a, b, t0) = (key(), key(), Instant::now());
        assert!(limiter.admit_at(a, t0).is_ok());
        assert!(limiter.admit_at(a, t0).is_ok());
        assert!(limiter.admit_at(a, t0).is_err());
        assert!(limiter.admit_at(b, t0).is_ok(), "another key is unaffected");
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let limiter = KeyLimiter::new(KeyLimits {
            rate_per_sec: 1,
            burst: 1,
            max_in_flight: 0,
        });
        let (k, t0) = (key(), Instant::now());
        assert!(limiter.admit_at(k, t0).is_ok());
        let r = limiter.admit_at(k, t0 + ms(200)).err().expect("refused");
        assert_eq!(r.retry_after_secs(), 1);
        let slow = KeyLimiter::new(KeyLimits {
            rate_per_sec: 1,
            burst: 0,
            max_in_flight: 0,
        });
        assert!(
            slow.admit_at(k, t0).is_ok(),
            "a burst of 0 still allows one"
        );
        assert!(slow.admit_at(k, t0).is_err());
    }

    #[test]
    fn in_flight_places_are_given_back_on_drop() {
        let limiter = KeyLimiter::new(KeyLimits {
            rate_per_sec: 0,
            burst: 0,
            max_in_flight: 2,
        });
        let (k, t0) = (key(), Instant::now());
        let p1 = limiter.admit_at(k, t0).expect("first");
        let _p2 = limiter.admit_at(k, t0).expect("second");
        assert_eq!(
            limiter.admit_at(k, t0).err(),
            Some(Refusal::InFlight { max: 2 })
        );
        assert!(
            limiter.admit_at(key(), t0).is_ok(),
            "another key is unaffected"
        );
        drop(p1);
        assert!(limiter.admit_at(k, t0).is_ok());
    }

    #[test]
    fn a_refusal_for_in_flight_costs_no_token() {
        let limiter = KeyLimiter::new(KeyLimits {
            rate_per_sec: 1,
            burst: 2,
            max_in_flight: 1,
        });
        let (k, t0) = (key(), Instant::now());
        let p = limiter.admit_at(k, t0).expect("first");
        for _ in 0..10 {
            assert!(matches!(
                limiter.admit_at(k, t0),
                Err(Refusal::InFlight { .. })
            ));
        }
        drop(p);
        assert!(limiter.admit_at(k, t0).is_ok(), "the second token is left");
    }

    #[test]
    fn off_admits_everything_and_tracks_nothing() {
        let limiter = KeyLimiter::new(KeyLimits::OFF);
        let (k, t0) = (key(), Instant::now());
        let permits: Vec<_> = (0..10_000)
            .map(|_| limiter.admit_at(k, t0).expect("off"))
            .collect();
        assert_eq!(permits.len(), 10_000);
        assert_eq!(limiter.tracked_keys(), 0);
    }

    #[test]
    fn idle_keys_are_forgotten_past_the_bound() {
        let limiter = KeyLimiter::new(KeyLimits {
            rate_per_sec: 100,
            burst: 1,
            max_in_flight: 4,
        });
        let t0 = Instant::now();
        for _ in 0..MAX_KEYS {
            drop(limiter.admit_at(key(), t0).expect("admitted"));
        }
        assert_eq!(limiter.tracked_keys(), MAX_KEYS);
        // A second later every bucket is full again and nothing is in flight: all forgotten.
        drop(
            limiter
                .admit_at(key(), t0 + Duration::from_secs(1))
                .expect("admitted"),
        );
        assert_eq!(limiter.tracked_keys(), 1);
    }
}
