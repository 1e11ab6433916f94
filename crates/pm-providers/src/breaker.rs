//! The circuit breaker of one connection: after `threshold` failures in a row (network errors,
//! timeouts, 5xx answers; never 4xx) within `window`, calls fail at once for `cooldown`, so a dead
//! tracker costs its users milliseconds instead of a timeout each, and holds no connection slots.
//! Then one probe call goes through (half-open): success closes the circuit, failure opens it
//! again. The state machine takes the time as an argument, so tests drive it with their own clock.
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open the circuit (0 turns the breaker off).
    pub threshold: u32,
    /// Failures further apart than this do not count as "in a row".
    pub window: Duration,
    /// How long an open circuit refuses calls before letting one probe through.
    pub cooldown: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            threshold: 5,
            window: Duration::from_secs(60),
            cooldown: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
        last: Option<Instant>,
    },
    Open {
        until: Instant,
        failures: u32,
    },
    /// One probe is under way since `since`; others are refused until it reports (or, if it never
    /// does because its caller gave up, until a cool-down has passed).
    HalfOpen {
        since: Instant,
        failures: u32,
    },
}

/// Why a call was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open {
    pub failures: u32,
    /// Until the next probe may go.
    pub remaining: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct Breaker {
    settings: BreakerSettings,
    state: State,
}

impl Breaker {
    pub fn new(settings: BreakerSettings) -> Self {
        Self {
            settings,
            state: State::Closed {
                failures: 0,
                last: None,
            },
        }
    }

    /// May a call go now? (A probe is let through when an open circuit's cool-down is over.)
    pub fn admit(&mut self, now: Instant) -> Result<(), Open> {
        match self.state {
            State::Closed { .. } => Ok(()),
            State::Open { until, failures } if now >= until => {
                self.state = State::HalfOpen {
                    since: now,
                    failures,
                };
                Ok(())
            }
            State::Open { until, failures } => Err(Open {
                failures,
                remaining: until - now,
            }),
            State::HalfOpen { since, failures } => {
                if now.duration_since(since) >= self.settings.cooldown {
                    // The probe's caller went away without a verdict: let another one try.
                    self.state = State::HalfOpen {
                        since: now,
                        failures,
                    };
                    Ok(())
                } else {
                    Err(Open {
                        failures,
                        remaining: self.settings.cooldown - now.duration_since(since),
                    })
                }
            }
        }
    }

    /// Would a call be refused now? Like `admit`, without starting a probe (for callers about to
    /// queue for a connection slot, who call `admit` once they hold one).
    pub fn peek(&self, now: Instant) -> Result<(), Open> {
        let mut copy = *self;
        copy.admit(now)
    }

    /// The tracker answered (any answer that is not a server failure).
    pub fn success(&mut self) {
        self.state = State::Closed {
            failures: 0,
            last: None,
        };
    }

    /// The tracker failed: no answer, a broken connection, or a 5xx.
    pub fn failure(&mut self, now: Instant) {
        if self.settings.threshold == 0 {
            return;
        }
        self.state = match self.state {
            State::Closed { failures, last } => {
                let in_a_row = last.is_some_and(|l| now.duration_since(l) <= self.settings.window);
                let failures = if in_a_row { failures + 1 } else { 1 };
                if failures >= self.settings.threshold {
                    State::Open {
                        until: now + self.settings.cooldown,
                        failures,
                    }
                } else {
                    State::Closed {
                        failures,
                        last: Some(now),
                    }
                }
            }
            State::HalfOpen { failures, .. } | State::Open { failures, .. } => State::Open {
                until: now + self.settings.cooldown,
                failures: failures + 1,
            },
        };
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> BreakerSettings {
        BreakerSettings {
            threshold: 3,
            window: Duration::from_secs(10),
            cooldown: Duration::from_secs(30),
        }
    }

    #[test]
    fn opens_after_threshold_failures_in_a_row_and_fails_fast() {
        let t0 = Instant::now();
        let mut b = Breaker::new(settings());
        for i in 0..3 {
            assert_eq!(b.admit(t0 + Duration::from_secs(i)), Ok(()));
            b.failure(t0 + Duration::from_secs(i));
        }
        let refused = b.admit(t0 + Duration::from_secs(5)).unwrap_err();
        assert_eq!(refused.failures, 3);
        assert_eq!(refused.remaining, Duration::from_secs(27));
        assert!(!b.is_closed());
    }

    #[test]
    fn a_success_resets_the_count() {
        let t0 = Instant::now();
        let mut b = Breaker::new(settings());
        b.failure(t0);
        b.failure(t0);
        b.success();
        b.failure(t0);
        b.failure(t0);
        assert_eq!(b.admit(t0), Ok(()));
        assert!(b.is_closed());
    }

    #[test]
    fn failures_far_apart_are_not_in_a_row() {
        let t0 = Instant::now();
        let mut b = Breaker::new(settings());
        for i in 0..5 {
            b.failure(t0 + Duration::from_secs(11 * i));
        }
        assert!(b.is_closed());
    }

    #[test]
    fn half_open_lets_one_probe_through_then_closes_or_reopens() {
        let t0 = Instant::now();
        let mut b = Breaker::new(settings());
        for _ in 0..3 {
            b.failure(t0);
        }
        let after = t0 + Duration::from_secs(30);
        assert_eq!(b.peek(after), Ok(()), "peeking starts no probe");
        assert_eq!(b.peek(after), Ok(()));
        assert_eq!(b.admit(after), Ok(()), "the probe");
        assert!(b.peek(after).is_err());
        assert!(
            b.admit(after).is_err(),
            "a second caller while the probe runs"
        );
        // The probe fails: open for another cool-down.
        b.failure(after + Duration::from_secs(1));
        let e = b.admit(after + Duration::from_secs(2)).unwrap_err();
        assert_eq!(e.failures, 4);
        assert_eq!(e.remaining, Duration::from_secs(29));
        // Next probe succeeds: closed.
        let later = after + Duration::from_secs(31);
        assert_eq!(b.admit(later), Ok(()));
        b.success();
        assert!(b.is_closed());
        assert_eq!(b.admit(later), Ok(()));
    }

    #[test]
    fn a_probe_that_never_reports_does_not_wedge_the_circuit() {
        let t0 = Instant::now();
        let mut b = Breaker::new(settings());
        for _ in 0..3 {
            b.failure(t0);
        }
        let probe = t0 + Duration::from_secs(30);
        assert_eq!(b.admit(probe), Ok(()));
        // Its caller was cancelled; no verdict. After another cool-down a new probe may go.
        assert!(b.admit(probe + Duration::from_secs(29)).is_err());
        assert_eq!(b.admit(probe + Duration::from_secs(30)), Ok(()));
    }

    #[test]
    fn threshold_zero_turns_it_off() {
        let t0 = Instant::now();
        let mut b = Breaker::new(BreakerSettings {
            threshold: 0,
            ..settings()
        });
        for _ in 0..100 {
            b.failure(t0);
        }
        assert_eq!(b.admit(t0), Ok(()));
    }
}
