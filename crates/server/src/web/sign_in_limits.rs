//! Failed sign-ins, counted per account (tenant and email) and per client address over the
//! last minute. Per account alone, ten guesses locked the real user out and guessing one
//! password across many emails went unchecked; so a client is also held to its own failures,
//! and an account's limit holds back only clients that have failed, never one that has not.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// Failed sign-ins an account takes per minute before clients that have failed must wait.
pub const ACCOUNT_FAILURES_PER_MINUTE: usize = 10;
/// Failed sign-ins a client address makes per minute, at any accounts, before it must wait.
pub const CLIENT_FAILURES_PER_MINUTE: usize = 20;

const WINDOW: Duration = Duration::from_secs(60);
/// Past this many accounts or clients with recent failures, the stale ones are forgotten.
const PRUNE_ABOVE: usize = 100_000;

/// Why a sign-in attempt is refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The client failed too often, at whatever accounts.
    Client,
    /// The account failed too often, and this client has failed too.
    Account,
}

impl Refusal {
    /// What the sign-in form says: the cause, and that waiting is the fix.
    pub fn message(self) -> &'static str {
        match self {
            Self::Client => {
                "Too many failed sign-ins from your network address; wait a minute and try again."
            }
            Self::Account => {
                "Too many failed sign-ins for this account; wait a minute and try again."
            }
        }
    }
}

/// The failures of every account and client; one lock, so that checking and counting an
/// attempt is one step (concurrent guesses cannot all pass the check before any counts).
#[derive(Default)]
pub struct SignInLimits {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    accounts: Failures<[u8; 32]>,
    clients: Failures<IpAddr>,
}

/// An admitted attempt, counted as a failure until [`SignInLimits::succeeded`] takes it back.
#[must_use = "a successful sign-in must be taken back with `succeeded`"]
pub struct Attempt {
    account: [u8; 32],
    client: IpAddr,
    at: Instant,
}

impl SignInLimits {
    /// Admits an attempt at `account` (a hash of tenant and email) from `client`, counting it
    /// as a failure from now on, or says why it must wait.
    pub fn admit(&self, account: [u8; 32], client: IpAddr) -> Result<Attempt, Refusal> {
        let client = ClientAddr::limited_as(client);
        let now = Instant::now();
        let mut state = self.state.lock().expect("sign-in limits lock");
        let by_client = state.client_failures(client, now)?;
        if by_client > 0 && state.accounts.recent(&account, now) >= ACCOUNT_FAILURES_PER_MINUTE {
            return Err(Refusal::Account);
        }
        state.accounts.add(account, now);
        state.clients.add(client, now);
        Ok(Attempt {
            account,
            client,
            at: now,
        })
    }

    /// Whether `client` may try at all, by its own failures: what can be known before the
    /// attempt's form is read (so a client over its limit is not even read).
    pub fn client_admitted(&self, client: IpAddr) -> Result<(), Refusal> {
        let client = ClientAddr::limited_as(client);
        let mut state = self.state.lock().expect("sign-in limits lock");
        state.client_failures(client, Instant::now()).map(drop)
    }

    /// The password was right: the attempt is not a failure.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut state = self.state.lock().expect("sign-in limits lock");
        state.accounts.remove(&attempt.account, attempt.at);
        state.clients.remove(&attempt.client, attempt.at);
    }
}

impl State {
    /// The client's recent failures, or [`Refusal::Client`] when they reach its limit.
    fn client_failures(&mut self, client: IpAddr, now: Instant) -> Result<usize, Refusal> {
        let recent = self.clients.recent(&client, now);
        if recent >= CLIENT_FAILURES_PER_MINUTE {
            return Err(Refusal::Client);
        }
        Ok(recent)
    }
}

/// The times of each key's failures within the window, oldest first.
struct Failures<K> {
    by_key: HashMap<K, VecDeque<Instant>>,
}

impl<K> Default for Failures<K> {
    fn default() -> Self {
        Self {
            by_key: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq> Failures<K> {
    fn recent(&mut self, key: &K, now: Instant) -> usize {
        let Some(times) = self.by_key.get_mut(key) else {
            return 0;
        };
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        times.len()
    }

    fn add(&mut self, key: K, now: Instant) {
        if self.by_key.len() >= PRUNE_ABOVE {
            self.by_key.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < WINDOW)
            });
        }
        self.by_key.entry(key).or_default().push_back(now);
    }

    fn remove(&mut self, key: &K, at: Instant) {
        if let Some(times) = self.by_key.get_mut(key) {
            if let Some(i) = times.iter().position(|t| *t == at) {
                times.remove(i);
            }
            if times.is_empty() {
                self.by_key.remove(key);
            }
        }
    }
}

/// The address of the client a request came from: the connection's peer. No proxy header
/// (`X-Forwarded-For`) is trusted, as nothing else in the service trusts one; behind a
/// reverse proxy every client is the proxy.
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The address limits count by: an IPv6 client by its /64, the least a host is given, so
    /// that stepping through one's own addresses does not reset the count.
    fn limited_as(addr: IpAddr) -> IpAddr {
        match addr.to_canonical() {
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
            v4 => v4,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Set by the server for each connection; a router driven without one (a test calling
        // it in process) shares one "unspecified" client.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
        Ok(Self(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn a_client_that_has_not_failed_passes_a_locked_account() {
        let limits = SignInLimits::default();
        let guesser = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..ACCOUNT_FAILURES_PER_MINUTE {
            let _failed = limits.admit(account(1), guesser).unwrap();
        }
        assert_eq!(
            limits.admit(account(1), guesser).err(),
            Some(Refusal::Account)
        );
        let user = limits
            .admit(account(1), IpAddr::from([10, 0, 0, 2]))
            .unwrap();
        limits.succeeded(user);
        // Taken back: the user's client has still not failed.
        let again = limits
            .admit(account(1), IpAddr::from([10, 0, 0, 2]))
            .unwrap();
        limits.succeeded(again);
    }

    #[test]
    fn a_client_is_limited_across_accounts_and_ipv6_by_its_64() {
        let limits = SignInLimits::default();
        let base: Ipv6Addr = "2001:db8:1:2::".parse().unwrap();
        for n in 0..CLIENT_FAILURES_PER_MINUTE {
            let from = IpAddr::V6(Ipv6Addr::from(u128::from(base) + n as u128));
            let _failed = limits.admit(account(n as u8), from).unwrap();
        }
        let same_64 = IpAddr::V6("2001:db8:1:2:ffff::9".parse().unwrap());
        assert_eq!(
            limits.admit(account(200), same_64).err(),
            Some(Refusal::Client)
        );
        let other_64 = IpAddr::V6("2001:db8:1:3::1".parse().unwrap());
        assert!(limits.admit(account(200), other_64).is_ok());
    }
}
