//! Redis [`SessionStore`]: for several daemon instances behind one balancer.
//!
//! Layout, under a configurable key prefix `P`:
//! - `P s:{id}`: hash with `v` (version, decimal) and `d` (the encoded
//!   [`StoredSession`]); expires at the session's purge time (`PEXPIREAT`).
//! - `P w:{wallet token}`: the session id; same expiry.
//! - `P live`: sorted set of the held session ids, scored by purge time;
//!   `P o:{hex owner}`: the same per owner. Each insert first drops the
//!   members whose time has come, so the counts stay right when sessions
//!   expire by TTL; the sets themselves expire with their last member.
//! - `P r:{request id}`: "this write was done", kept for two minutes.
//! - channel `P events`: every write publishes the session id.
//!
//! Insert and compare-and-set run as Lua scripts, so each is one atomic step
//! in Redis whichever instance runs it: of two instances posting a
//! presentation for the same session, exactly one sees `Updated`, and of two
//! instances inserting into the last free slot of a cap, exactly one
//! succeeds.
//!
//! Every write carries a fresh request id and records it in the same
//! script. When the reply is lost (the connection dropped after Redis ran
//! the script) the store retries on a new connection with the same id, and
//! the script answers as it did the first time instead of "duplicate" or
//! "conflict" with the caller's own write.
//!
//! A background task holds a pub/sub connection and forwards events to a
//! local broadcast channel; it reconnects after a failure and stops when the
//! last clone of the store is dropped.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::StreamExt as _;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisError, Script};
use tokio::sync::{broadcast, RwLock};
use tokio::task::JoinHandle;

use super::{
    AtCapacity, Limits, SessionId, SessionStore, StoreError, StoredSession, UpdateOutcome,
    WalletToken,
};

const EVENT_CAPACITY: usize = 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);
const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(500);

/// How long a request id is remembered: far longer than a retry takes
/// (connect and response timeouts are 3 s each).
const REQUEST_ID_TTL_MS: u64 = 120_000;

/// KEYS: session, wallet index, live set, owner set, request id.
/// ARGV: data, purge_at_ms, id, channel, now_ms, total cap, owner cap
/// (0: none), request-id TTL. Returns {1} inserted (or inserted before by
/// this request id), {0} duplicate, {-1} total cap, {-2, first purge} owner
/// cap.
const INSERT_LUA: &str = r"
-- Let a counting set live at least until `at` (PEXPIREAT's GT option
-- needs Redis 7; this works on 6).
local function extend(key, at, now)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 or now + ttl < tonumber(at) then
    redis.call('PEXPIREAT', key, at)
  end
end
if redis.call('EXISTS', KEYS[5]) == 1 then
  return {1}
end
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return {0}
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[5])
local per_owner = tonumber(ARGV[7])
if per_owner > 0 and redis.call('ZCARD', KEYS[4]) >= per_owner then
  local first = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  return {-2, tonumber(first[2])}
end
local total = tonumber(ARGV[6])
if total > 0 and redis.call('ZCARD', KEYS[3]) >= total then
  return {-1}
end
redis.call('HSET', KEYS[1], 'v', '0', 'd', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
extend(KEYS[3], ARGV[2], tonumber(ARGV[5]))
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[3])
extend(KEYS[4], ARGV[2], tonumber(ARGV[5]))
redis.call('SET', KEYS[5], '1', 'PX', ARGV[8])
redis.call('PUBLISH', ARGV[4], ARGV[3])
return {1}
";

/// KEYS: session, wallet index, live set, owner set, request id.
/// ARGV: expected version, next version, data, purge_at_ms, id, channel,
/// request-id TTL, now_ms. Returns 1 updated (now or before, by this request id),
/// 0 conflict, -1 missing.
const UPDATE_LUA: &str = r"
-- Let a counting set live at least until `at` (PEXPIREAT's GT option
-- needs Redis 7; this works on 6).
local function extend(key, at, now)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 or now + ttl < tonumber(at) then
    redis.call('PEXPIREAT', key, at)
  end
end
if redis.call('EXISTS', KEYS[5]) == 1 then
  return 1
end
local v = redis.call('HGET', KEYS[1], 'v')
if not v then
  return -1
end
if v ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
redis.call('PEXPIREAT', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], 'XX', ARGV[4], ARGV[5])
extend(KEYS[3], ARGV[4], tonumber(ARGV[8]))
redis.call('ZADD', KEYS[4], 'XX', ARGV[4], ARGV[5])
extend(KEYS[4], ARGV[4], tonumber(ARGV[8]))
redis.call('SET', KEYS[5], '1', 'PX', ARGV[7])
redis.call('PUBLISH', ARGV[6], ARGV[5])
return 1
";

/// A fresh id for one store operation: its retries carry the same id.
fn request_id() -> String {
    use rand_core::RngCore as _;
    let mut bytes = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn backend(e: RedisError) -> StoreError {
    StoreError::Backend(e.to_string())
}

struct Inner {
    client: Client,
    prefix: String,
    connection: RwLock<MultiplexedConnection>,
    events: broadcast::Sender<SessionId>,
    listener: std::sync::Mutex<Option<JoinHandle<()>>>,
    insert: Script,
    update: Script,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let handle = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(h) = handle {
            h.abort();
        }
    }
}

/// Sessions in Redis. Cheap to clone (shared connection).
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

impl RedisStore {
    /// Connect to `url` (e.g. `redis://127.0.0.1:6379`) and keep all keys
    /// under `prefix` (e.g. `kenmerk:verifier:`); instances that must share
    /// sessions use the same prefix.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(backend)?;
        let connection = connect(&client).await?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let inner = Arc::new(Inner {
            client,
            prefix: prefix.to_owned(),
            connection: RwLock::new(connection),
            events,
            listener: std::sync::Mutex::new(None),
            insert: Script::new(INSERT_LUA),
            update: Script::new(UPDATE_LUA),
        });
        let ready = tokio::sync::oneshot::channel();
        let handle = tokio::spawn(listen(Arc::downgrade(&inner), ready.0));
        *inner.listener.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        // Wait until the subscription is live (or failed once), so that
        // events of writes right after `connect` are not lost.
        let _ = tokio::time::timeout(CONNECT_TIMEOUT, ready.1).await;
        Ok(Self { inner })
    }

    /// The key prefix in use.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    fn session_key(&self, id: &SessionId) -> String {
        format!("{}s:{}", self.inner.prefix, id.as_str())
    }

    fn wallet_key(&self, w: &WalletToken) -> String {
        format!("{}w:{}", self.inner.prefix, w.as_str())
    }

    fn live_key(&self) -> String {
        format!("{}live", self.inner.prefix)
    }

    fn owner_key(&self, owner: &str) -> String {
        // Hex: requestor names never shape the key space.
        format!("{}o:{}", self.inner.prefix, hex::encode(owner.as_bytes()))
    }

    fn request_key(&self, request_id: &str) -> String {
        format!("{}r:{request_id}", self.inner.prefix)
    }

    async fn count_held(&self) -> Result<u64, StoreError> {
        let key = self.live_key();
        let now = super::now_ms();
        let (_, n): (i64, u64) = self
            .with_connection(|mut con| {
                let mut pipe = redis::pipe();
                pipe.atomic().zrembyscore(&key, "-inf", now).zcard(&key);
                async move { pipe.query_async(&mut con).await }
            })
            .await?;
        Ok(n)
    }

    fn channel(&self) -> String {
        channel_name(&self.inner.prefix)
    }

    /// Run `f` on the shared connection; reconnect once if the connection
    /// was dropped (Redis restarted, idle timeout) and retry.
    async fn with_connection<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: Fn(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = Result<T, RedisError>>,
    {
        let con = self.inner.connection.read().await.clone();
        match f(con).await {
            Ok(v) => Ok(v),
            Err(e) if e.is_connection_dropped() || e.is_io_error() || e.is_timeout() => {
                let fresh = connect(&self.inner.client).await?;
                *self.inner.connection.write().await = fresh.clone();
                f(fresh).await.map_err(backend)
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn read(&self, id: &SessionId) -> Result<Option<StoredSession>, StoreError> {
        let key = self.session_key(id);
        let bytes: Option<Vec<u8>> = self
            .with_connection(|mut con| {
                let key = key.clone();
                async move {
                    redis::cmd("HGET")
                        .arg(key)
                        .arg("d")
                        .query_async(&mut con)
                        .await
                }
            })
            .await?;
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let session = StoredSession::from_bytes(&bytes)?;
        // Redis expires keys by itself; this covers the few milliseconds of
        // clock difference between instances.
        Ok((!session.is_purgeable(super::now_ms())).then_some(session))
    }
}

fn channel_name(prefix: &str) -> String {
    format!("{prefix}events")
}

async fn connect(client: &Client) -> Result<MultiplexedConnection, StoreError> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(RESPONSE_TIMEOUT);
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(backend)
}

/// Forward the events channel to the local broadcast until the store is
/// dropped; resubscribe after connection failures.
async fn listen(inner: std::sync::Weak<Inner>, ready: tokio::sync::oneshot::Sender<()>) {
    let mut ready = Some(ready);
    loop {
        let Some((client, channel, events)) = inner
            .upgrade()
            .map(|i| (i.client.clone(), channel_name(&i.prefix), i.events.clone()))
        else {
            return;
        };
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if let Err(e) = pubsub.subscribe(&channel).await {
                    tracing::warn!(error = %e, "redis subscribe failed");
                } else {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                    let mut messages = pubsub.on_message();
                    while let Some(msg) = messages.next().await {
                        let Ok(payload) = msg.get_payload::<String>() else {
                            continue;
                        };
                        if let Some(id) = SessionId::from_hex(&payload) {
                            let _ = events.send(id);
                        }
                    }
                    tracing::warn!("redis event subscription ended; resubscribing");
                }
            }
            Err(e) => tracing::warn!(error = %e, "redis pub/sub connection failed"),
        }
        if let Some(r) = ready.take() {
            let _ = r.send(());
        }
        drop(events);
        tokio::time::sleep(RESUBSCRIBE_DELAY).await;
    }
}

impl SessionStore for RedisStore {
    fn insert(
        &self,
        session: StoredSession,
        limits: Limits,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut session = session;
            session.version = 0;
            let data = session.to_bytes()?;
            let request_id = request_id();
            let keys = [
                self.session_key(&session.id),
                self.wallet_key(&session.wallet_token),
                self.live_key(),
                self.owner_key(&session.owner),
                self.request_key(&request_id),
            ];
            let id = session.id.as_str().to_owned();
            let channel = self.channel();
            let purge = session.purge_at_ms;
            let outcome: Vec<i64> = self
                .with_connection(|mut con| {
                    let mut inv = self.inner.insert.prepare_invoke();
                    for k in &keys {
                        inv.key(k);
                    }
                    inv.arg(&data)
                        .arg(purge)
                        .arg(&id)
                        .arg(&channel)
                        // The clock that set `purge` decides what is due.
                        .arg(super::now_ms())
                        .arg(limits.total.unwrap_or(0))
                        .arg(limits.per_owner.unwrap_or(0))
                        .arg(REQUEST_ID_TTL_MS);
                    async move { inv.invoke_async(&mut con).await }
                })
                .await?;
            match outcome.as_slice() {
                [1, ..] => Ok(()),
                [0, ..] => Err(StoreError::Duplicate),
                [-1, ..] => Err(StoreError::AtCapacity(AtCapacity::Total {
                    limit: limits.total.unwrap_or(0),
                })),
                [-2, first, ..] => Err(StoreError::AtCapacity(AtCapacity::Owner {
                    limit: limits.per_owner.unwrap_or(0),
                    retry_at_ms: u64::try_from(*first).unwrap_or(0),
                })),
                other => Err(StoreError::Backend(format!(
                    "unexpected insert answer {other:?}"
                ))),
            }
        })
    }

    fn get<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(self.read(id))
    }

    fn get_by_wallet<'a>(
        &'a self,
        wallet: &'a WalletToken,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            let key = self.wallet_key(wallet);
            let id: Option<String> = self
                .with_connection(|mut con| {
                    let key = key.clone();
                    async move { redis::cmd("GET").arg(key).query_async(&mut con).await }
                })
                .await?;
            match id.as_deref().and_then(SessionId::from_hex) {
                Some(id) => self.read(&id).await,
                None => Ok(None),
            }
        })
    }

    fn update(
        &self,
        expected_version: u64,
        next: StoredSession,
    ) -> BoxFuture<'_, Result<UpdateOutcome, StoreError>> {
        Box::pin(async move {
            let mut next = next;
            next.version = expected_version + 1;
            let data = next.to_bytes()?;
            let request_id = request_id();
            let keys = [
                self.session_key(&next.id),
                self.wallet_key(&next.wallet_token),
                self.live_key(),
                self.owner_key(&next.owner),
                self.request_key(&request_id),
            ];
            let id = next.id.as_str().to_owned();
            let channel = self.channel();
            let purge = next.purge_at_ms;
            let outcome: i64 = self
                .with_connection(|mut con| {
                    let mut inv = self.inner.update.prepare_invoke();
                    for k in &keys {
                        inv.key(k);
                    }
                    inv.arg(expected_version.to_string())
                        .arg(next.version.to_string())
                        .arg(&data)
                        .arg(purge)
                        .arg(&id)
                        .arg(&channel)
                        .arg(REQUEST_ID_TTL_MS)
                        .arg(super::now_ms());
                    async move { inv.invoke_async(&mut con).await }
                })
                .await?;
            Ok(match outcome {
                1 => UpdateOutcome::Updated,
                0 => UpdateOutcome::Conflict,
                _ => UpdateOutcome::Missing,
            })
        })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let Some(session) = self.read(id).await? else {
                return Ok(false);
            };
            let keys = [
                self.session_key(id),
                self.wallet_key(&session.wallet_token),
                self.live_key(),
                self.owner_key(&session.owner),
            ];
            let channel = self.channel();
            let (removed, _, _, _, _): (i64, i64, i64, i64, i64) = self
                .with_connection(|mut con| {
                    let mut pipe = redis::pipe();
                    pipe.atomic()
                        .del(&keys[0])
                        .del(&keys[1])
                        .zrem(&keys[2], id.as_str())
                        .zrem(&keys[3], id.as_str())
                        .publish(&channel, id.as_str());
                    async move { pipe.query_async(&mut con).await }
                })
                .await?;
            Ok(removed == 1)
        })
    }

    fn subscribe(&self) -> broadcast::Receiver<SessionId> {
        self.inner.events.subscribe()
    }

    fn held(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(self.count_held())
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let pong: String = self
                .with_connection(
                    |mut con| async move { redis::cmd("PING").query_async(&mut con).await },
                )
                .await?;
            if pong == "PONG" {
                Ok(())
            } else {
                Err(StoreError::Backend(format!(
                    "unexpected PING answer {pong:?}"
                )))
            }
        })
    }
}
