using System.Collections.Concurrent;
using LiveNews.Server.Operations;
using LiveNews.Server.Store;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LiveNews.Server.Bus;

internal sealed record PublishRequest(Topic Topic, string Type, string DataJson, SnapshotChange Change, string EventId);

internal enum PublishStatus
{
    /// <summary>Published now.</summary>
    Published,

    /// <summary>This event id was published before; the envelope is the first one.</summary>
    Replayed,

    /// <summary>The snapshot was not as expected; nothing was published.</summary>
    PreconditionFailed,

    /// <summary>The topic holds as many items as it may; nothing was published, nothing dropped.</summary>
    Full,

    /// <summary>The topic's state the change needs is absent (an entry for an unpublished article).</summary>
    Missing,

    /// <summary>The item was copied from a later position of its source already; nothing was published.</summary>
    Stale,

    /// <summary>The copy in place was recorded as of the change's position; nothing was published.</summary>
    Kept,
}

internal sealed record PublishResult(PublishStatus Status, RawJson? Envelope);

/// <summary>A snapshot item as stored, with its expiry if it has one.</summary>
internal readonly record struct SnapshotItem(byte[] Json, DateTimeOffset? ExpiresAt);

/// <summary>
/// What a read of a topic returned: its position, the events after the asked position (when history still
/// holds all of them) and the snapshot (when asked).
/// </summary>
/// <remarks>State and items stay UTF-8 as Redis returned them: the snapshot writes them verbatim.</remarks>
/// <remarks>
/// A topic nothing was published on has epoch <c>""</c> and seq 0: reads write nothing, so its epoch comes
/// with its first event (seq 1). <c>More</c>: the snapshot left out older items (page back for them).
/// </remarks>
internal sealed record TopicRead(string Epoch, long Seq, bool HistoryFound, IReadOnlyList<RawJson> Events, byte[]? State, IReadOnlyList<SnapshotItem> Items, bool More = false);

/// <summary>Where a page of items starts: after this item (its score, when the caller knows it).</summary>
internal readonly record struct PageCursor(string ItemId, string? Score);

/// <summary>One page of a topic's items, newest first, and the cursor of the next page (null at the end).</summary>
internal sealed record TopicPage(string Epoch, long Seq, bool HasState, IReadOnlyList<byte[]> Items, PageCursor? Next);

/// <summary>Publishes events and reads topics, each as one atomic script on the topic's slot.</summary>
internal sealed class EventBus(RedisStore store, RedisNames names, IOptions<BusOptions> options, IOptions<SnapshotOptions> snapshots, TimeProvider time, LiveNewsMetrics metrics, IEnumerable<IPublishObserver> observers)
{
    private readonly IPublishObserver[] _observers = [.. observers];

    /// <summary>Items a page that filters on a field looks at, at most, before it answers (perhaps short) with a cursor.</summary>
    private const int MatchBudget = 1000;

    /// <summary>Topics whose furthest seen position is kept; past it the memory starts over (see <see cref="Saw"/>).</summary>
    private const int MaxSeenTopics = 50_000;

    // The fields of a topic's meta hash the scripts keep its position in.
    private static readonly RedisValue[] MetaFields = ["epoch", "seq"];

    private readonly BusOptions _options = options.Value;
    private readonly SnapshotOptions _snapshots = snapshots.Value;

    /// <summary>Events a topic's history holds at most (<c>Bus:HistoryLength</c>).</summary>
    public int HistoryLength => _options.HistoryLength;

    // The furthest position this node saw per topic (its reads, and every event pub/sub brought, its own
    // publishes among them: the relay records each message it hears, so a publish does not parse its answer),
    // sent with every publish: a topic Redis holds behind it gets a new epoch instead of reusing seqs readers
    // hold (BusScripts.Renew). A node that saw nothing of a topic, or forgot it, publishes as before.
    // A position is changed in place under its own lock: an update (one per event heard) allocates nothing.
    private readonly ConcurrentDictionary<string, SeenPosition> _seen = new(StringComparer.Ordinal);

    public async Task<PublishResult> PublishAsync(PublishRequest request)
    {
        using var activity = LiveNewsMetrics.Tracing.StartActivity("livenews.publish");
        activity?.SetTag("livenews.topic", request.Topic.Name);
        activity?.SetTag("livenews.event.type", request.Type);
        var keys = names.Topic(request.Topic);
        var change = request.Change;
        RedisKey[] allKeys = change.CopiedFrom is null
            ? [.. keys.All, names.EventId(request.Topic, request.EventId)]
            : [.. keys.All, names.EventId(request.Topic, request.EventId), keys.CopiedFrom(change.ItemId!)];
        var seen = _seen.TryGetValue(request.Topic.Name, out var position) ? position.Read() : ("", 0);
        RedisValue[] args =
        [
            names.EventsChannelName(request.Topic),
            NewEpoch(),
            request.EventId,
            request.Type,
            UtcTimestampConverter.ToText(time.GetUtcNow()),
            request.DataJson,
            _options.HistoryLength,
            (long)Math.Ceiling(_options.HistoryTimeToLive.TotalSeconds),
            change.OperationArgument,
            change.ItemId ?? "",
            change.ScoreArgument,
            change.Json ?? "",
            change.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0,
            _snapshots.Ceiling(request.Topic),
            change.PreconditionArgument,
            change.Expected ?? "",
            request.Topic.Name,
            _snapshots.Trim(request.Topic),
            change.PinArgument,
            change.RequiresState ? "1" : "0",
            change.TakedownArgument,
            change.PurgesItems ? "1" : "0",
            seen.Epoch,
            seen.Seq,
            change.CopiedFromArgument,
        ];

        // A copy only recorded (KeepCopy) publishes no event and changes no read: nothing to announce.
        if (change.Operation != SnapshotOperation.KeepCopy)
        {
            foreach (var observer in _observers)
            {
                await observer.ChangingAsync(request.Topic);
            }
        }

        var result = (RedisResult[])(await (await store.GetDatabaseAsync()).ScriptEvaluateAsync(BusScripts.Publish, allKeys, args))!;
        if ((int)result[0] == 1)
        {
            metrics.Published(request.Topic.Kind.ToString());
        }

        var status = (int)result[0] switch
        {
            1 => PublishStatus.Published,
            2 => PublishStatus.Replayed,
            3 => PublishStatus.Full,
            4 => PublishStatus.Missing,
            5 => PublishStatus.Stale,
            6 => PublishStatus.Kept,
            _ => PublishStatus.PreconditionFailed,
        };
        activity?.SetTag("livenews.outcome", status.ToString());
        if (status is PublishStatus.Published or PublishStatus.Replayed)
        {
            foreach (var observer in _observers)
            {
                await observer.ChangedAsync(request.Topic);
            }
        }

        return new PublishResult(status, status is PublishStatus.Published or PublishStatus.Replayed ? new RawJson((byte[])result[1]!) : null);
    }

    /// <summary>
    /// Reads a topic. With <paramref name="afterSeq"/>, also the events after it if history still holds
    /// every one of them and none is older than the history's time-to-live.
    /// </summary>
    public async Task<TopicRead> ReadAsync(Topic topic, long? afterSeq, bool withSnapshot)
    {
        RedisValue[] args = [afterSeq ?? -1, withSnapshot ? "1" : "0", _snapshots.SnapshotWindow(topic)];
        var result = (RedisResult[])(await (await store.GetDatabaseAsync()).ScriptEvaluateAsync(BusScripts.Read, names.Topic(topic).All, args))!;

        var epoch = (string)result[0]!;
        var seq = (long)result[1];
        Saw(topic.Name, epoch, seq);
        var found = (int)result[2] == 1;
        var history = (RedisResult[])result[3]!;
        var events = new RawJson[history.Length];
        for (var i = 0; i < history.Length; i++)
        {
            events[history.Length - 1 - i] = new RawJson((byte[])history[i]!);
        }

        if (found && events.Length > 0 && IsOlderThanHistory(events[0]))
        {
            found = false;
            events = [];
        }

        byte[]? state = null;
        var items = new List<SnapshotItem>();
        if (withSnapshot)
        {
            var stateValue = (byte[]?)result[4];
            state = stateValue is { Length: > 0 } ? stateValue : null;
            var itemValues = (RedisResult[])result[5]!;
            var expiries = (RedisResult[])result[6]!;
            for (var i = 0; i < itemValues.Length; i++)
            {
                var json = (byte[]?)itemValues[i];
                if (json is not { Length: > 0 })
                {
                    continue;
                }

                var expiresMs = (double)expiries[i];
                items.Add(new SnapshotItem(json, expiresMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds((long)expiresMs) : null));
            }
        }

        return new TopicRead(epoch, seq, found, events, state, items, More: (int)result[7] == 1);
    }

    /// <summary>
    /// Records a position of <paramref name="topic"/> this node saw: the furthest seq per epoch is kept, a
    /// position of another epoch replaces it. Bounded: past <see cref="MaxSeenTopics"/> topics the memory
    /// starts over, which costs only the check on topics not seen since.
    /// </summary>
    public void Saw(string topic, string epoch, long seq)
    {
        if (epoch.Length == 0)
        {
            return;
        }

        if (!_seen.TryGetValue(topic, out var position))
        {
            // Count takes every lock of the dictionary: asked only for a topic not held yet.
            if (_seen.Count >= MaxSeenTopics)
            {
                _seen.Clear();
            }

            position = _seen.GetOrAdd(topic, static _ => new SeenPosition());
        }

        position.Saw(epoch, seq);
    }

    /// <summary>The furthest seq seen of one epoch of a topic; a position of another epoch replaces it.</summary>
    private sealed class SeenPosition
    {
        private string _epoch = "";
        private long _seq;

        public void Saw(string epoch, long seq)
        {
            lock (this)
            {
                if (_epoch != epoch || seq > _seq)
                {
                    (_epoch, _seq) = (epoch, seq);
                }
            }
        }

        public (string Epoch, long Seq) Read()
        {
            lock (this)
            {
                return (_epoch, _seq);
            }
        }
    }

    /// <summary>
    /// Gives the topic a new epoch if Redis holds it in <paramref name="epoch"/> behind <paramref name="seenSeq"/>,
    /// which it did once (Redis came back with less than it had), and says whether it did. Several nodes noticing
    /// at once start one new epoch: the first one's, which the others no longer find in <paramref name="epoch"/>.
    /// </summary>
    public async Task<bool> RenewEpochAsync(Topic topic, string epoch, long seenSeq) =>
        (int)await (await store.GetDatabaseAsync()).ScriptEvaluateAsync(BusScripts.RenewEpoch, names.Topic(topic).All, [epoch, seenSeq, NewEpoch()]) == 1;

    /// <summary>
    /// One page of the topic's items, newest first, after <paramref name="after"/> (null: the first page).
    /// With <paramref name="match"/>, only items whose string field equals the value (case-insensitive).
    /// Null when the cursor names no item the topic has or had.
    /// </summary>
    public async Task<TopicPage?> PageAsync(Topic topic, PageCursor? after, int limit, (string Field, string Value)? match = null)
    {
        RedisValue[] args =
        [
            after?.ItemId ?? "",
            after?.Score ?? "",
            limit,
            match?.Field ?? "",
            match is { } m ? AsciiLower(m.Value) : "",
            MatchBudget,
        ];
        var result = (RedisResult[])(await (await store.GetDatabaseAsync()).ScriptEvaluateAsync(BusScripts.Page, names.Topic(topic).All, args))!;
        if (result.Length == 1)
        {
            return null;
        }

        var items = ((RedisResult[])result[3]!).Select(item => (byte[])item!).ToArray();
        var nextId = (string?)result[4];
        return new TopicPage(
            (string)result[0]!,
            (long)result[1],
            (int)result[2] == 1,
            items,
            string.IsNullOrEmpty(nextId) ? null : new PageCursor(nextId, (string?)result[5]));
    }

    // The page script lowercases with Lua's string.lower, which changes A-Z only: so does this, or a section
    // spelled exactly as stored but with a non-ASCII capital ("Économie") would never match.
    private static string AsciiLower(string value) =>
        string.Create(value.Length, value, static (lower, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                lower[i] = char.IsAsciiLetterUpper(source[i]) ? (char)(source[i] + ('a' - 'A')) : source[i];
            }
        });

    /// <summary>The envelope published under <paramref name="eventId"/>, if it was (within the history's time-to-live).</summary>
    public async Task<RawJson?> GetPublishedAsync(Topic topic, string eventId)
    {
        var value = await (await store.GetDatabaseAsync()).StringGetAsync(names.EventId(topic, eventId));
        return value.IsNull ? null : new RawJson((byte[])value!);
    }

    /// <summary>The topic's state (null when it has none) and its position, read together.</summary>
    public async Task<(string? State, TopicPosition Position)> GetStateAtAsync(Topic topic)
    {
        var keys = names.Topic(topic);
        var read = (await store.GetDatabaseAsync()).CreateTransaction();
        var state = read.StringGetAsync(keys.State);
        var position = read.HashGetAsync(keys.Meta, MetaFields);
        await read.ExecuteAsync();
        var meta = await position;
        return (await state, new TopicPosition((string?)meta[0] ?? "", (long?)meta[1] ?? 0));
    }

    /// <summary>The topic's single state as stored (null when it has none).</summary>
    public async Task<string?> GetStateAsync(Topic topic) =>
        await (await store.GetDatabaseAsync()).StringGetAsync(names.Topic(topic).State);

    /// <summary>Whether the topic's snapshot holds the item.</summary>
    public async Task<bool> ItemExistsAsync(Topic topic, string itemId) =>
        await (await store.GetDatabaseAsync()).HashExistsAsync(names.Topic(topic).Items, itemId);

    /// <summary>One snapshot item as stored (null when absent).</summary>
    public async Task<string?> GetItemAsync(Topic topic, string itemId) =>
        await (await store.GetDatabaseAsync()).HashGetAsync(names.Topic(topic).Items, itemId);

    /// <summary>Ids of items whose expiry is at or before <paramref name="now"/>.</summary>
    public async Task<string[]> GetExpiredItemIdsAsync(Topic topic, DateTimeOffset now)
    {
        var ids = await (await store.GetDatabaseAsync()).SortedSetRangeByScoreAsync(names.Topic(topic).Expiry, 1, now.ToUnixTimeMilliseconds());
        return [.. ids.Select(id => (string)id!)];
    }

    private bool IsOlderThanHistory(RawJson oldestMissed) =>
        !EnvelopeHeader.TryRead(oldestMissed.Utf8, out var header) || header.At < time.GetUtcNow() - _options.HistoryTimeToLive;

    private static string NewEpoch() => Guid.NewGuid().ToString("N")[..16];
}
